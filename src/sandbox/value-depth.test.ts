/**
 * Values cross the sandbox boundary in linear time with a documented depth limit (issue 12,
 * part 4): output deeper than `MAX_VALUE_DEPTH` fails fast with INVALID_OUTPUT naming the limit
 * (not TIMEOUT), input deeper than it is refused before the call.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxFailure } from '../../test/support/sandbox-failure.ts';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { PLAIN_JSON_LIMITS } from '../core/plain-json.ts';
import { QuickJsSandbox } from './quickjs-sandbox.ts';
import { jsonDepthExceeds, MAX_VALUE_DEPTH } from './value-depth.ts';

/** A tool returning `depth` nested arrays around 0 (`[[0]]` is depth 2), built in linear time. */
const nested = {
  source:
    'function main({ depth, kind }) { let value = 0; for (let i = 0; i < depth; i++) value = kind === "object" ? { a: value } : [value]; return value; }',
  entry: 'main',
};

function nestedValue(depth: number): unknown {
  let value: unknown = 0;
  for (let index = 0; index < depth; index += 1) value = { a: value };
  return value;
}

describe('value depth limit', () => {
  let sandbox: QuickJsSandbox;

  beforeAll(async () => {
    // A generous deadline: a quadratic crossing would run into it, a linear one never does.
    sandbox = new QuickJsSandbox({ workers: 1, timeoutMs: 20_000 });
    await sandbox.warmup();
  });

  afterAll(async () => {
    await sandbox.close();
  });

  it('refuses a result 100,000 levels deep with INVALID_OUTPUT naming the limit, not TIMEOUT', async () => {
    for (const kind of ['array', 'object']) {
      const error = await sandboxFailure(sandbox.run(nested, { depth: 100_000, kind }));
      expect(error.code).toBe('INVALID_OUTPUT');
      expect(error.message).toContain(`more than ${MAX_VALUE_DEPTH} levels deep`);
      expect(error.message).toContain('MAX_VALUE_DEPTH');
    }
  }, 90_000);

  it('passes a result exactly at the limit and refuses one level more', async () => {
    const atLimit = await sandbox.run<unknown>(nested, { depth: MAX_VALUE_DEPTH, kind: 'array' });
    expect(JSON.stringify(atLimit)).toBe(`${'['.repeat(MAX_VALUE_DEPTH)}0${']'.repeat(MAX_VALUE_DEPTH)}`);
    const over = await sandboxFailure(sandbox.run(nested, { depth: MAX_VALUE_DEPTH + 1, kind: 'array' }));
    expect(over.code).toBe('INVALID_OUTPUT');
  });

  it('counts depth through toJSON results, not only the raw structure', async () => {
    const source = `function main() {
      const deep = { toJSON() { let value = 0; for (let i = 0; i < ${MAX_VALUE_DEPTH + 5}; i++) value = [value]; return value; } };
      return { deep };
    }`;
    const error = await sandboxFailure(sandbox.run({ source, entry: 'main' }, {}));
    expect(error.code).toBe('INVALID_OUTPUT');
    expect(error.message).toContain('levels deep');
  });

  it('passes a wide, shallow, large value and a shared (non-cyclic) object at several depths', async () => {
    const source = `function main() {
      const shared = { s: [1, 2] };
      const rows = [];
      for (let i = 0; i < 20000; i++) rows.push({ i, tags: ['a', 'b'], shared: i % 100 === 0 ? shared : null });
      return { rows, again: { deeper: { shared } } };
    }`;
    const result = await sandbox.run<{ rows: unknown[]; again: { deeper: { shared: unknown } } }>(
      { source, entry: 'main' },
      {},
    );
    expect(result.rows).toHaveLength(20_000);
    expect(result.again.deeper.shared).toEqual({ s: [1, 2] });
  });

  it('still finds a "__proto__" key deep inside a result (iterative host walk)', async () => {
    const source = `function main() {
      let value = JSON.parse('{"__proto__": 1}');
      for (let i = 0; i < ${MAX_VALUE_DEPTH - 2}; i++) value = [value];
      return value;
    }`;
    const error = await sandboxFailure(sandbox.run({ source, entry: 'main' }, {}));
    expect(error.code).toBe('INVALID_OUTPUT');
    expect(error.message).toContain(`output${'[0]'.repeat(MAX_VALUE_DEPTH - 2)}.__proto__`);
  });

  it('refuses input deeper than the input limit before the call, and accepts input at the limit', async () => {
    // Inputs have their own, lower limit (PLAIN_JSON_LIMITS.maxDepth), checked for every entry point.
    const echo = { source: 'function main(input) { return input.a === undefined ? 0 : 1; }', entry: 'main' };
    expect(await sandbox.run(echo, nestedValue(PLAIN_JSON_LIMITS.maxDepth) as object)).toBe(1);
    for (const depth of [PLAIN_JSON_LIMITS.maxDepth + 1, MAX_VALUE_DEPTH + 1, 100_000]) {
      let caught: unknown;
      try {
        await sandbox.run(echo, nestedValue(depth) as object);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(InvalidOptionError);
      expect((caught as InvalidOptionError).message).toMatch(/"input"/);
    }
  });
});

describe('jsonDepthExceeds', () => {
  it('measures nesting outside strings only', () => {
    expect(jsonDepthExceeds('[[1]]', 2)).toBe(false);
    expect(jsonDepthExceeds('[[1]]', 1)).toBe(true);
    expect(jsonDepthExceeds('{"a":{"b":[]}}', 3)).toBe(false);
    expect(jsonDepthExceeds('{"a":{"b":[]}}', 2)).toBe(true);
    expect(jsonDepthExceeds('["[[[[", "\\"[[[", {"{{{": "]]]"}]', 2)).toBe(false);
    expect(jsonDepthExceeds('"[[["', 0)).toBe(false);
    expect(jsonDepthExceeds('1', 0)).toBe(false);
  });

  it('does work linear in the length of the text: siblings never add depth', () => {
    const wide = `[${Array.from({ length: 100_000 }, () => '[1]').join(',')}]`;
    expect(jsonDepthExceeds(wide, 2)).toBe(false);
    expect(jsonDepthExceeds(`${'['.repeat(MAX_VALUE_DEPTH + 1)}${']'.repeat(MAX_VALUE_DEPTH + 1)}`)).toBe(
      true,
    );
    expect(jsonDepthExceeds(`${'['.repeat(MAX_VALUE_DEPTH)}${']'.repeat(MAX_VALUE_DEPTH)}`)).toBe(false);
  });
});
