/** response.ts, run inside QuickJS through the real sandbox. */
import { afterAll, describe, expect, it } from 'vitest';
import { QuickJsSandbox } from '../quickjs-sandbox.ts';
import type { SandboxCall } from '../sandbox-call.ts';

const sandbox = new QuickJsSandbox({ workers: 1 });
afterAll(() => sandbox.close());

/** Runs `body` as the body of an async tool function and resolves with what it returns. */
function run(body: string, call: Partial<SandboxCall> = {}): Promise<unknown> {
  return sandbox.run({ source: `async function main() { ${body} }`, entry: 'main', ...call }, {});
}

describe('guest Response', () => {
  it('reads a body once, as text, JSON or bytes, and clones before reading', async () => {
    const result = await run(
      `
      const response = new Response('{"a":1}', { status: 201, headers: { 'x-y': 'z' } });
      const copy = response.clone();
      const json = await response.json();
      let again = '';
      try { await response.text(); } catch (error) { again = error.name; }
      const bytes = await copy.bytes();
      const made = Response.json({ b: 2 });
      return [response.status, response.ok, response.headers.get('content-type'), json, again, bytes.length, made.headers.get('content-type'), await made.text()];
    `,
    );
    expect(result).toEqual([
      201,
      true,
      'text/plain;charset=UTF-8',
      { a: 1 },
      'TypeError',
      7,
      'application/json',
      '{"b":2}',
    ]);
  });
});
