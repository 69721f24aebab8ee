/** control.ts and call-state.ts, run inside QuickJS through the real sandbox. */
import { afterAll, describe, expect, it } from 'vitest';
import { QuickJsSandbox } from '../quickjs-sandbox.ts';

const sandbox = new QuickJsSandbox({ workers: 1 });
afterAll(() => sandbox.close());

describe('guest call lifecycle', () => {
  it('gives each call fresh state: globals, timers and output of one call never reach the next', async () => {
    const source = `let calls = 0;
      function main() {
        calls += 1;
        globalThis.leftover = (globalThis.leftover ?? 0) + 1;
        setTimeout(() => console.log('late timer'), 1_000);
        return { calls, leftover: globalThis.leftover };
      }`;
    const first = await sandbox.runDetailed({ source, entry: 'main' }, {});
    const second = await sandbox.runDetailed({ source, entry: 'main' }, {});
    expect(first.value).toEqual({ calls: 1, leftover: 1 });
    expect(second.value).toEqual({ calls: 1, leftover: 1 });
    expect(second.logs).toEqual([]);
  });

  it('reports a missing entry function as INVALID_SOURCE', async () => {
    await expect(sandbox.run({ source: 'function other() {}', entry: 'main' }, {})).rejects.toMatchObject({
      code: 'INVALID_SOURCE',
    });
  });
});
