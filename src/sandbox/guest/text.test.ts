/** text.ts, run inside QuickJS through the real sandbox. */
import { afterAll, describe, expect, it } from 'vitest';
import { QuickJsSandbox } from '../quickjs-sandbox.ts';
import type { SandboxCall } from '../sandbox-call.ts';

const sandbox = new QuickJsSandbox({ workers: 1 });
afterAll(() => sandbox.close());

/** Runs `body` as the body of an async tool function and resolves with what it returns. */
function run(body: string, call: Partial<SandboxCall> = {}): Promise<unknown> {
  return sandbox.run({ source: `async function main() { ${body} }`, entry: 'main', ...call }, {});
}

describe('guest TextEncoder and TextDecoder', () => {
  it('round-trips UTF-8 and refuses malformed input when fatal', async () => {
    const result = await run(
      `
      const bytes = new TextEncoder().encode('héllo €');
      const text = new TextDecoder().decode(bytes);
      let fatal = 'accepted';
      try { new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xff])); } catch (error) { fatal = error.name; }
      return [bytes.length, bytes instanceof Uint8Array, text, new TextDecoder().decode(new Uint8Array([0xff])), fatal];
    `,
    );
    expect(result).toEqual([10, true, 'héllo €', '\uFFFD', 'TypeError']);
  });
});
