/** events-abort.ts, run inside QuickJS through the real sandbox. */
import { afterAll, describe, expect, it } from 'vitest';
import { QuickJsSandbox } from '../quickjs-sandbox.ts';
import type { SandboxCall } from '../sandbox-call.ts';

const sandbox = new QuickJsSandbox({ workers: 1 });
afterAll(() => sandbox.close());

/** Runs `body` as the body of an async tool function and resolves with what it returns. */
function run(body: string, call: Partial<SandboxCall> = {}): Promise<unknown> {
  return sandbox.run({ source: `async function main() { ${body} }`, entry: 'main', ...call }, {});
}

describe('guest AbortController and AbortSignal', () => {
  it('aborts once, with the reason, calling onabort and abort listeners', async () => {
    const result = await run(
      `
      const controller = new AbortController();
      const seen = [];
      controller.signal.onabort = (event) => seen.push('onabort:' + event.type);
      controller.signal.addEventListener('abort', () => seen.push('listener'));
      controller.abort('why');
      controller.abort('again');
      let thrown;
      try { controller.signal.throwIfAborted(); } catch (reason) { thrown = reason; }
      const fallback = new AbortController();
      fallback.abort();
      return [seen, controller.signal.aborted, controller.signal.reason, thrown, fallback.signal.reason.name];
    `,
    );
    expect(result).toEqual([['onabort:abort', 'listener'], true, 'why', 'why', 'AbortError']);
  });
});
