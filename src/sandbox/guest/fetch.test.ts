/** fetch.ts, run inside QuickJS through the real sandbox. */
import { afterAll, describe, expect, it } from 'vitest';
import { QuickJsSandbox } from '../quickjs-sandbox.ts';
import type { SandboxCall } from '../sandbox-call.ts';

const sandbox = new QuickJsSandbox({ workers: 1 });
afterAll(() => sandbox.close());

/** Runs `body` as the body of an async tool function and resolves with what it returns. */
function run(body: string, call: Partial<SandboxCall> = {}): Promise<unknown> {
  return sandbox.run({ source: `async function main() { ${body} }`, entry: 'main', ...call }, {});
}

describe('guest fetch', () => {
  it('refuses a request the tool was not granted, a body on a GET, and an aborted signal', async () => {
    const result = await run(
      `
      const results = [];
      try { await fetch('https://not-granted.example/data'); } catch (error) { results.push(error.name); }
      try { await fetch('https://not-granted.example/data', { body: 'x' }); } catch (error) { results.push(error.name + ': ' + error.message); }
      const controller = new AbortController();
      controller.abort();
      try { await fetch('https://not-granted.example/data', { signal: controller.signal }); } catch (error) { results.push(error.name); }
      return results;
    `,
    );
    expect(result).toEqual([
      'CapabilityDeniedError',
      'TypeError: A GET request cannot have a body',
      'AbortError',
    ]);
  });

  it("reads a Request-like input's url once, so a getter cannot switch it after the check", async () => {
    const result = await run(
      `
      let reads = 0;
      const input = { get url() { reads += 1; return reads === 1 ? 'https://first.example/a' : { toString: () => 'https://second.example/b' }; } };
      let denied = '';
      try { await fetch(input); } catch (error) { denied = error.message; }
      return { reads, denied };
    `,
    );
    expect(result).toMatchObject({ reads: 1 });
    expect((result as { denied: string }).denied).toContain('first.example');
    expect((result as { denied: string }).denied).not.toContain('second.example');
  });
});
