/** headers.ts, run inside QuickJS through the real sandbox. */
import { afterAll, describe, expect, it } from 'vitest';
import { QuickJsSandbox } from '../quickjs-sandbox.ts';
import type { SandboxCall } from '../sandbox-call.ts';

const sandbox = new QuickJsSandbox({ workers: 1 });
afterAll(() => sandbox.close());

/** Runs `body` as the body of an async tool function and resolves with what it returns. */
function run(body: string, call: Partial<SandboxCall> = {}): Promise<unknown> {
  return sandbox.run({ source: `async function main() { ${body} }`, entry: 'main', ...call }, {});
}

describe('guest Headers', () => {
  it('lower-cases names, joins repeated values and iterates in sorted order', async () => {
    const result = await run(
      `
      const headers = new Headers({ 'X-B': '1', 'Content-Type': 'text/plain' });
      headers.append('x-b', ' 2 ');
      headers.append('Set-Cookie', 'a=1');
      headers.append('Set-Cookie', 'b=2');
      let invalid = '';
      try { headers.set('bad name', 'v'); } catch (error) { invalid = error.name; }
      return [headers.get('X-B'), headers.has('content-type'), [...headers], invalid];
    `,
    );
    expect(result).toEqual([
      '1, 2',
      true,
      [
        ['content-type', 'text/plain'],
        ['set-cookie', 'a=1'],
        ['set-cookie', 'b=2'],
        ['x-b', '1, 2'],
      ],
      'TypeError',
    ]);
  });
});
