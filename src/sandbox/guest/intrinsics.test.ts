/** intrinsics.ts, run inside QuickJS through the real sandbox. */
import { afterAll, describe, expect, it } from 'vitest';
import { QuickJsSandbox } from '../quickjs-sandbox.ts';
import type { SandboxCall } from '../sandbox-call.ts';

const sandbox = new QuickJsSandbox({ workers: 1 });
afterAll(() => sandbox.close());

/** Runs `body` as the body of an async tool function and resolves with what it returns. */
function run(body: string, call: Partial<SandboxCall> = {}): Promise<unknown> {
  return sandbox.run({ source: `async function main() { ${body} }`, entry: 'main', ...call }, {});
}

describe('guest the captured built-ins', () => {
  it('keeps the bridges working when a context-isolated tool replaces Object and JSON methods', async () => {
    const result = await run(
      `
      Object.defineProperty = () => { throw new Error('replaced'); }; JSON.stringify = () => 'replaced'; JSON.parse = () => 'replaced';
      const url = new URL('https://example.com/a?b=1');
      return { href: url.href, b: url.searchParams.get('b') };
    `,
      { isolation: 'context' },
    );
    expect(result).toEqual({ href: 'https://example.com/a?b=1', b: '1' });
  });
});
