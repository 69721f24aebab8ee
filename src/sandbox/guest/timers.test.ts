/** timers.ts, run inside QuickJS through the real sandbox. */
import { afterAll, describe, expect, it } from 'vitest';
import { QuickJsSandbox } from '../quickjs-sandbox.ts';
import type { SandboxCall } from '../sandbox-call.ts';

const sandbox = new QuickJsSandbox({ workers: 1 });
afterAll(() => sandbox.close());

/** Runs `body` as the body of an async tool function and resolves with what it returns. */
function run(body: string, call: Partial<SandboxCall> = {}): Promise<unknown> {
  return sandbox.run({ source: `async function main() { ${body} }`, entry: 'main', ...call }, {});
}

describe('guest timers', () => {
  it('runs setTimeout callbacks in delay order with their arguments and skips cleared ones', async () => {
    const result = await run(
      `
      const order = [];
      await new Promise((resolve) => {
        setTimeout((label) => order.push(label), 20, 'late');
        const cleared = setTimeout(() => order.push('cleared'), 5);
        clearTimeout(cleared);
        setTimeout((label) => order.push(label), 0, 'early');
        setTimeout(resolve, 40);
      });
      return order;
    `,
    );
    expect(result).toEqual(['early', 'late']);
  });
});
