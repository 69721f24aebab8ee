/** determinism.ts, run inside QuickJS through the real sandbox. */
import { afterAll, describe, expect, it } from 'vitest';
import { QuickJsSandbox } from '../quickjs-sandbox.ts';

const sandbox = new QuickJsSandbox({ workers: 1 });
afterAll(() => sandbox.close());

describe('guest Math.random and Date', () => {
  it('repeats Math.random and pins Date.now for a deterministic call', async () => {
    const source = `function main() {
      return { random: [Math.random(), Math.random()], now: Date.now(), date: new Date().getTime(), text: typeof Date() };
    }`;
    const deterministic = { now: Date.UTC(2024, 0, 15, 12), seed: 7 };
    const first = await sandbox.run<{ random: number[]; now: number; date: number; text: string }>(
      { source, entry: 'main', deterministic },
      {},
    );
    const second = await sandbox.run({ source, entry: 'main', deterministic }, {});
    const reseeded = await sandbox.run<{ random: number[] }>(
      { source, entry: 'main', deterministic: { ...deterministic, seed: 8 } },
      {},
    );
    expect(second).toEqual(first);
    expect(first.now).toBe(deterministic.now);
    expect(first.date).toBe(deterministic.now);
    expect(first.text).toBe('string');
    expect(first.random[0]).not.toBe(first.random[1]);
    expect(reseeded.random).not.toEqual(first.random);
  });
});
