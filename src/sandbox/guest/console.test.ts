/** console.ts, run inside QuickJS through the real sandbox. */
import { afterAll, describe, expect, it } from 'vitest';
import { QuickJsSandbox } from '../quickjs-sandbox.ts';

const sandbox = new QuickJsSandbox({ workers: 1 });
afterAll(() => sandbox.close());

describe('guest console', () => {
  it('formats arguments Node-style, with %s substitution, nested objects and errors', async () => {
    const result = await sandbox.runDetailed(
      {
        source: `function main() {
          console.log('%s has %d items', 'cart', 3, { nested: { deep: { deeper: 1 } }, list: [1, 'a'] });
          console.warn(new Map([[1, 'one']]), new Set(['x']), -0, 10n, undefined);
          console.error(new TypeError('bad'));
          console.trace('traced');
          return true;
        }`,
        entry: 'main',
      },
      {},
    );
    expect(result.logs.map(({ level, message }) => [level, message.split('\n')[0]])).toEqual([
      ['log', 'cart has 3 items { nested: { deep: { deeper: 1 } }, list: [ 1, "a" ] }'],
      ['warn', 'Map(1) { 1 => "one" } Set(1) { "x" } -0 10n undefined'],
      ['error', 'TypeError: bad'],
      ['debug', 'traced'],
    ]);
  });
});
