/** url-search-params.ts, run inside QuickJS through the real sandbox. */
import { afterAll, describe, expect, it } from 'vitest';
import { QuickJsSandbox } from '../quickjs-sandbox.ts';
import type { SandboxCall } from '../sandbox-call.ts';

const sandbox = new QuickJsSandbox({ workers: 1 });
afterAll(() => sandbox.close());

/** Runs `body` as the body of an async tool function and resolves with what it returns. */
function run(body: string, call: Partial<SandboxCall> = {}): Promise<unknown> {
  return sandbox.run({ source: `async function main() { ${body} }`, entry: 'main', ...call }, {});
}

describe('guest URLSearchParams', () => {
  it('parses, edits, sorts and serialises like the WHATWG implementation', async () => {
    const result = await run(
      `
      const params = new URLSearchParams('?b=2&a=1&b=3&c=x+y');
      params.append('d', 'é &');
      params.delete('c');
      const all = params.getAll('b');
      params.set('b', '4');
      params.sort();
      return [all, params.get('missing'), params.has('a'), params.size, params.toString(), [...new URLSearchParams({ k: 'v' })]];
    `,
    );
    expect(result).toEqual([['2', '3'], null, true, 3, 'a=1&b=4&d=%C3%A9+%26', [['k', 'v']]]);
  });
});
