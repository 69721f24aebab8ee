/** base64.ts, run inside QuickJS through the real sandbox. */
import { afterAll, describe, expect, it } from 'vitest';
import { QuickJsSandbox } from '../quickjs-sandbox.ts';
import type { SandboxCall } from '../sandbox-call.ts';

const sandbox = new QuickJsSandbox({ workers: 1 });
afterAll(() => sandbox.close());

/** Runs `body` as the body of an async tool function and resolves with what it returns. */
function run(body: string, call: Partial<SandboxCall> = {}): Promise<unknown> {
  return sandbox.run({ source: `async function main() { ${body} }`, entry: 'main', ...call }, {});
}

describe('guest atob and btoa', () => {
  it('encodes Latin-1 text and decodes it back, refusing what is not base64', async () => {
    const result = await run(
      `
      let refused = '';
      try { atob('!'); } catch (error) { refused = error.name; }
      let wide = '';
      try { btoa('€'); } catch (error) { wide = error.name; }
      return [btoa('hello'), atob('aGVsbG8='), atob(' aGVs bG8 '), refused, wide];
    `,
    );
    expect(result).toEqual(['aGVsbG8=', 'hello', 'hello', 'InvalidCharacterError', 'InvalidCharacterError']);
  });
});
