/** dom-exception.ts, run inside QuickJS through the real sandbox. */
import { afterAll, describe, expect, it } from 'vitest';
import { QuickJsSandbox } from '../quickjs-sandbox.ts';
import type { SandboxCall } from '../sandbox-call.ts';

const sandbox = new QuickJsSandbox({ workers: 1 });
afterAll(() => sandbox.close());

/** Runs `body` as the body of an async tool function and resolves with what it returns. */
function run(body: string, call: Partial<SandboxCall> = {}): Promise<unknown> {
  return sandbox.run({ source: `async function main() { ${body} }`, entry: 'main', ...call }, {});
}

describe('guest DOMException', () => {
  it('carries its name, message and legacy code', async () => {
    const result = await run(
      `
      const error = new DOMException('stopped', 'AbortError');
      return [error.name, error.message, error.code, error instanceof Error];
    `,
    );
    expect(result).toEqual(['AbortError', 'stopped', 20, true]);
  });
});
