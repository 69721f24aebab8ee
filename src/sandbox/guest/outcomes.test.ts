/** outcomes.ts, run inside QuickJS through the real sandbox. */
import { afterAll, describe, expect, it } from 'vitest';
import { QuickJsSandbox } from '../quickjs-sandbox.ts';
import type { SandboxCall } from '../sandbox-call.ts';

const sandbox = new QuickJsSandbox({ workers: 1 });
afterAll(() => sandbox.close());

/** Runs `body` as the body of an async tool function and resolves with what it returns. */
function run(body: string, call: Partial<SandboxCall> = {}): Promise<unknown> {
  return sandbox.run({ source: `async function main() { ${body} }`, entry: 'main', ...call }, {});
}

describe('guest call outcomes', () => {
  it('serialises the result inside the guest, calling toJSON there', async () => {
    const result = await run(
      `
      return { when: { toJSON: () => 'serialised in the guest' }, list: [1, 'two', null] };
    `,
    );
    expect(result).toEqual({ when: 'serialised in the guest', list: [1, 'two', null] });
  });
});
