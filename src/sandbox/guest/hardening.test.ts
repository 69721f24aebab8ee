/** hardening.ts, run inside QuickJS through the real sandbox. */
import { afterAll, describe, expect, it } from 'vitest';
import { QuickJsSandbox } from '../quickjs-sandbox.ts';
import type { SandboxCall } from '../sandbox-call.ts';

const sandbox = new QuickJsSandbox({ workers: 1 });
afterAll(() => sandbox.close());

/** Runs `body` as the body of an async tool function and resolves with what it returns. */
function run(body: string, call: Partial<SandboxCall> = {}): Promise<unknown> {
  return sandbox.run({ source: `async function main() { ${body} }`, entry: 'main', ...call }, {});
}

describe('guest realm hardening', () => {
  it('freezes the built-ins, removes resizable buffers and still lets an Error subclass set its name', async () => {
    const result = await run(
      `
      'use strict';
      class MyError extends Error { constructor() { super('m'); this.name = 'MyError'; } }
      let assign = '';
      try { Array.prototype.push = null; } catch (error) { assign = error.name; }
      let resizable = '';
      try { new ArrayBuffer(1, { maxByteLength: 2 }); } catch (error) { resizable = error.name; }
      return [Object.isFrozen(Array.prototype), Object.isFrozen(fetch), assign, typeof SharedArrayBuffer, typeof ArrayBuffer.prototype.resize, resizable, new MyError().name];
    `,
    );
    expect(result).toEqual([true, true, 'TypeError', 'undefined', 'undefined', 'TypeError', 'MyError']);
  });
});
