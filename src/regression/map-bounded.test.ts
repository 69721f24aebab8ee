import { describe, expect, it } from 'vitest';
import { mapBounded } from './map-bounded.ts';

/** A promise settled from outside, so a test decides the order in which items finish. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((onResolve, onReject) => {
    resolve = onResolve;
    reject = onReject;
  });
  return { promise, resolve, reject };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('mapBounded', () => {
  it('starts items in order, at most `concurrency` at once, and keeps the items’ order', async () => {
    const gates = [0, 1, 2, 3, 4].map(() => deferred<string>());
    const started: number[] = [];
    let running = 0;
    let peak = 0;
    const finished: number[] = [];
    const all = mapBounded(
      gates,
      async (gate, index) => {
        started.push(index);
        running += 1;
        peak = Math.max(peak, running);
        try {
          return await gate.promise;
        } finally {
          running -= 1;
        }
      },
      { concurrency: 2, onDone: (index, done) => finished.push(index * 10 + done) },
    );
    await settle();
    expect(started).toEqual([0, 1]);
    gates[1]?.resolve('b');
    await settle();
    expect(started).toEqual([0, 1, 2]);
    gates[2]?.resolve('c');
    gates[3]?.resolve('d');
    gates[4]?.resolve('e');
    await settle();
    gates[0]?.resolve('a');
    expect(await all).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(peak).toBe(2);
    // index × 10 + done: 1 finished first, 0 last.
    expect(finished).toEqual([11, 22, 33, 44, 5]);
  });

  it('after a failure starts nothing more, awaits what runs, and rejects with the first failure', async () => {
    const slow = deferred<number>();
    const started: number[] = [];
    let slowSettled = false;
    const all = mapBounded(
      [0, 1, 2, 3],
      async (item) => {
        started.push(item);
        if (item === 1) throw new Error('first');
        if (item === 0) {
          const value = await slow.promise.finally(() => {
            slowSettled = true;
          });
          throw new Error(`second ${value}`);
        }
        return item;
      },
      { concurrency: 2 },
    );
    let outcome: unknown;
    all.catch((error: unknown) => {
      outcome = error;
    });
    await settle();
    expect(outcome).toBeUndefined();
    slow.resolve(0);
    await expect(all).rejects.toThrow('first');
    expect(slowSettled).toBe(true);
    expect(started).toEqual([0, 1]);
  });

  it('treats a throwing onDone as a failure', async () => {
    await expect(
      mapBounded([1, 2, 3], async (item) => item, {
        concurrency: 1,
        onDone: (index) => {
          if (index === 1) throw new Error('listener');
        },
      }),
    ).rejects.toThrow('listener');
  });

  it('on abort starts nothing more, awaits what runs, then rejects with the reason', async () => {
    const controller = new AbortController();
    const gates = [0, 1, 2, 3].map(() => deferred<number>());
    const started: number[] = [];
    const done: number[] = [];
    const all = mapBounded(
      gates,
      async (gate, index) => {
        started.push(index);
        return gate.promise;
      },
      { concurrency: 2, signal: controller.signal, onDone: (index) => done.push(index) },
    );
    await settle();
    controller.abort(new Error('stop'));
    gates[1]?.resolve(1);
    await settle();
    expect(started).toEqual([0, 1]);
    gates[0]?.resolve(0);
    await expect(all).rejects.toThrow('stop');
    expect(started).toEqual([0, 1]);
    expect(done).toEqual([1, 0]);
  });

  it('rejects at once when already aborted, and resolves when aborted after the last start', async () => {
    const aborted = AbortSignal.abort(new Error('early'));
    let calls = 0;
    await expect(mapBounded([1], async () => ++calls, { concurrency: 2, signal: aborted })).rejects.toThrow(
      'early',
    );
    expect(calls).toBe(0);
    expect(await mapBounded([], async () => 1, { concurrency: 2, signal: aborted })).toEqual([]);

    const controller = new AbortController();
    const result = await mapBounded(
      [1, 2],
      async (item) => {
        if (item === 2) controller.abort(new Error('late'));
        return item;
      },
      { concurrency: 2, signal: controller.signal },
    );
    expect(result).toEqual([1, 2]);
  });
});
