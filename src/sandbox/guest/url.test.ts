/** url.ts, run inside QuickJS through the real sandbox. */
import { afterAll, describe, expect, it } from 'vitest';
import { QuickJsSandbox } from '../quickjs-sandbox.ts';
import type { SandboxCall } from '../sandbox-call.ts';

const sandbox = new QuickJsSandbox({ workers: 1 });
afterAll(() => sandbox.close());

/** Runs `body` as the body of an async tool function and resolves with what it returns. */
function run(body: string, call: Partial<SandboxCall> = {}): Promise<unknown> {
  return sandbox.run({ source: `async function main() { ${body} }`, entry: 'main', ...call }, {});
}

describe('guest URL', () => {
  it('parses against a base, exposes components and keeps searchParams in step', async () => {
    const result = await run(
      `
      const url = new URL('../x?y=1#h', 'https://user@example.com:8443/a/b/c');
      url.searchParams.append('z', '2');
      let invalid = '';
      try { new URL('not a url'); } catch (error) { invalid = error.name; }
      return [url.href, url.origin, url.hostname, url.port, url.pathname, url.search, url.hash, url.username, invalid, JSON.stringify({ url })];
    `,
    );
    expect(result).toEqual([
      'https://user@example.com:8443/a/x?y=1&z=2#h',
      'https://example.com:8443',
      'example.com',
      '8443',
      '/a/x',
      '?y=1&z=2',
      '#h',
      'user',
      'TypeError',
      '{"url":"https://user@example.com:8443/a/x?y=1&z=2#h"}',
    ]);
  });
});
