/** errors.ts, run inside QuickJS through the real sandbox. */
import { afterAll, describe, expect, it } from 'vitest';
import { QuickJsSandbox } from '../quickjs-sandbox.ts';
import type { SandboxCall } from '../sandbox-call.ts';

const sandbox = new QuickJsSandbox({ workers: 1 });
afterAll(() => sandbox.close());

/** Runs `body` as the body of an async tool function and resolves with what it returns. */
function run(body: string, call: Partial<SandboxCall> = {}): Promise<unknown> {
  return sandbox.run({ source: `async function main() { ${body} }`, entry: 'main', ...call }, {});
}

describe('guest guest errors', () => {
  it('turns a refused request into a CapabilityDeniedError the tool can catch', async () => {
    const result = await run(
      `
      try { await fetch('https://not-granted.example/'); return 'fetched'; } catch (error) { return [error.name, error instanceof Error]; }
    `,
    );
    expect(result).toEqual(['CapabilityDeniedError', true]);
  });
});
