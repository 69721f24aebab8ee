/** structured-clone.ts, run inside QuickJS through the real sandbox. */
import { afterAll, describe, expect, it } from 'vitest';
import { QuickJsSandbox } from '../quickjs-sandbox.ts';
import type { SandboxCall } from '../sandbox-call.ts';

const sandbox = new QuickJsSandbox({ workers: 1 });
afterAll(() => sandbox.close());

/** Runs `body` as the body of an async tool function and resolves with what it returns. */
function run(body: string, call: Partial<SandboxCall> = {}): Promise<unknown> {
  return sandbox.run({ source: `async function main() { ${body} }`, entry: 'main', ...call }, {});
}

describe('guest structuredClone', () => {
  it('deep-copies cycles, maps, sets, dates and typed arrays, and refuses functions', async () => {
    const result = await run(
      `
      const source = { date: new Date(0), map: new Map([[1, { x: 1 }]]), set: new Set(['a']), bytes: new Uint8Array([1, 2]) };
      source.self = source;
      const copy = structuredClone(source);
      let refused = '';
      try { structuredClone({ f() {} }); } catch (error) { refused = error.name; }
      return [copy !== source, copy.self === copy, copy.date.getTime(), copy.map.get(1).x, copy.map.get(1) !== source.map.get(1), copy.set.has('a'), Array.from(copy.bytes), copy.bytes.buffer !== source.bytes.buffer, refused];
    `,
    );
    expect(result).toEqual([true, true, 0, 1, true, true, [1, 2], true, 'DataCloneError']);
  });
});
