/** install.ts, run inside QuickJS through the real sandbox. */
import { afterAll, describe, expect, it } from 'vitest';
import { QuickJsSandbox } from '../quickjs-sandbox.ts';
import type { SandboxCall } from '../sandbox-call.ts';

const sandbox = new QuickJsSandbox({ workers: 1 });
afterAll(() => sandbox.close());

/** Runs `body` as the body of an async tool function and resolves with what it returns. */
function run(body: string, call: Partial<SandboxCall> = {}): Promise<unknown> {
  return sandbox.run({ source: `async function main() { ${body} }`, entry: 'main', ...call }, {});
}

describe('guest installed globals', () => {
  it('offers the promised globals and none of the removed ones', async () => {
    const result = await run(
      `
      const names = ['fetch', 'Response', 'Headers', 'URL', 'URLSearchParams', 'TextEncoder', 'TextDecoder', 'setTimeout', 'clearTimeout', 'AbortController', 'atob', 'btoa', 'structuredClone', 'console', 'secrets'];
      return [names.filter((name) => typeof globalThis[name] === 'undefined'), typeof FinalizationRegistry, typeof process, typeof require, Object.keys(globalThis).includes('fetch')];
    `,
    );
    expect(result).toEqual([[], 'undefined', 'undefined', 'undefined', false]);
  });
});
