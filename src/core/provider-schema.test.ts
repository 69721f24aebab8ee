import { describe, expect, it } from 'vitest';
import { checkProviderSchema, MAX_SCHEMA_DEPTH, toProviderSchema } from './provider-schema.ts';
import { UnsupportedSchemaError } from './unsupported-schema-error.ts';

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

const changes = (schema: Record<string, unknown>) =>
  toProviderSchema(schema).adaptations.map(
    (change) => `${change.action} ${change.keyword} at ${change.path}`,
  );

describe('toProviderSchema: adapted keywords', () => {
  it('sends a schema without rejected keywords as written', () => {
    const schema = deepFreeze({
      type: 'object',
      properties: {
        name: { type: 'string', pattern: '^[a-z]+$', format: 'email' },
        tags: { type: 'array', items: { type: 'string' }, minItems: 1 },
        kind: { anyOf: [{ const: 'a' }, { const: 'b' }] },
        map: { type: 'object', properties: {}, additionalProperties: { type: 'number' } },
      },
      required: ['name'],
      $defs: { point: { type: 'object', properties: { x: { type: 'number' } } } },
    });
    const view = toProviderSchema(schema);
    expect(view.schema).toEqual(schema);
    expect(view.schema).not.toBe(schema);
    expect(view.adaptations).toEqual([]);
    expect(view.problems).toEqual([]);
  });

  it.each([
    ['a string schema', { type: 'string', pattern: '^[a-z]+$' }],
    ['a schema without type', { pattern: '^[a-z]+$' }],
    ['true', true],
  ])('removes propertyNames given as %s (the agent still checks it)', (_kind, propertyNames) => {
    const schema = deepFreeze({
      type: 'object',
      properties: { scores: { type: 'object', properties: {}, propertyNames } },
    });
    const view = toProviderSchema(schema);
    expect(view.schema).toEqual({
      type: 'object',
      properties: { scores: { type: 'object', properties: {} } },
    });
    expect(view.adaptations).toEqual([
      expect.objectContaining({ keyword: 'propertyNames', path: '/properties/scores', action: 'removed' }),
    ]);
    expect(view.problems).toEqual([]);
    // The caller's schema keeps it.
    expect((schema.properties.scores as { propertyNames?: unknown }).propertyNames).toBe(propertyNames);
  });

  it.each([
    ['lookahead', '^(?=.*\\d)[a-z0-9]+$'],
    ['negative lookahead', '^(?!admin)[a-z]+$'],
    ['lookbehind', '(?<=\\$)\\d+'],
    ['negative lookbehind', '(?<!-)\\d+'],
  ])('removes a pattern with %s', (_kind, pattern) => {
    const view = toProviderSchema({ type: 'object', properties: { code: { type: 'string', pattern } } });
    expect(view.schema).toEqual({ type: 'object', properties: { code: { type: 'string' } } });
    expect(changes({ type: 'object', properties: { code: { type: 'string', pattern } } })).toEqual([
      'removed pattern at /properties/code',
    ]);
  });

  it.each([
    ['a named group', '^(?<year>\\d{4})$'],
    ['a non-capturing group', '^(?:ab)+$'],
    ['an escaped parenthesis', '^\\(?=$'],
    ['a character class', '^[(?=]+$'],
  ])('keeps a pattern with %s (no lookaround)', (_kind, pattern) => {
    const schema = { type: 'object', properties: { code: { type: 'string', pattern } } };
    expect(toProviderSchema(schema).schema).toEqual(schema);
  });

  it('adds type "object" at the root when it is missing', () => {
    const view = toProviderSchema({ properties: { a: { type: 'number' } } });
    expect(view.schema).toEqual({ type: 'object', properties: { a: { type: 'number' } } });
    expect(changes({ properties: { a: { type: 'number' } } })).toEqual(['added type at ']);
  });

  it('adds empty properties to object schemas without them, at any depth', () => {
    expect(toProviderSchema({}).schema).toEqual({ type: 'object', properties: {} });
    const schema = {
      type: 'object',
      properties: {
        options: { type: ['object', 'null'] },
        list: { type: 'array', items: { type: 'object' } },
      },
    };
    expect(toProviderSchema(schema).schema).toEqual({
      type: 'object',
      properties: {
        options: { type: ['object', 'null'], properties: {} },
        list: { type: 'array', items: { type: 'object', properties: {} } },
      },
    });
    expect(changes(schema)).toEqual([
      'added properties at /properties/options',
      'added properties at /properties/list/items',
    ]);
  });

  it('adds items: {} to array schemas without items', () => {
    const schema = {
      type: 'object',
      properties: {
        values: { type: 'array' },
        maybe: { type: ['array', 'null'] },
        pair: { type: 'array', prefixItems: [{ type: 'number' }, { type: 'string' }] },
      },
    };
    expect(toProviderSchema(schema).schema).toEqual({
      type: 'object',
      properties: {
        values: { type: 'array', items: {} },
        maybe: { type: ['array', 'null'], items: {} },
        pair: { type: 'array', prefixItems: [{ type: 'number' }, { type: 'string' }], items: {} },
      },
    });
    expect(changes(schema)).toEqual([
      'added items at /properties/values',
      'added items at /properties/maybe',
      'added items at /properties/pair',
    ]);
  });

  it('walks every subschema position and escapes property names in paths', () => {
    const inner = { type: 'string', pattern: '(?=x)' };
    const schema = {
      type: 'object',
      properties: { 'a/b~c': inner },
      patternProperties: { '^x': inner },
      additionalProperties: inner,
      $defs: { d: inner },
      definitions: { e: inner },
      dependentSchemas: { f: inner },
      dependencies: { g: inner, h: ['a'] },
      allOf: [inner],
      anyOf: [inner],
      oneOf: [inner],
      not: inner,
      if: inner,
      // biome-ignore lint/suspicious/noThenProperty: `then` is a JSON Schema keyword here
      then: inner,
      else: inner,
      prefixItems: [inner],
      items: inner,
      contains: inner,
      unevaluatedItems: inner,
      unevaluatedProperties: inner,
    };
    expect(changes(schema)).toEqual([
      'removed pattern at /properties/a~1b~0c',
      'removed pattern at /patternProperties/^x',
      'removed pattern at /additionalProperties',
      'removed pattern at /$defs/d',
      'removed pattern at /definitions/e',
      'removed pattern at /dependentSchemas/f',
      'removed pattern at /dependencies/g',
      'removed pattern at /allOf/0',
      'removed pattern at /anyOf/0',
      'removed pattern at /oneOf/0',
      'removed pattern at /not',
      'removed pattern at /if',
      'removed pattern at /then',
      'removed pattern at /else',
      'removed pattern at /prefixItems/0',
      'removed pattern at /items',
      'removed pattern at /contains',
      'removed pattern at /unevaluatedItems',
      'removed pattern at /unevaluatedProperties',
    ]);
    expect((toProviderSchema(schema).schema.dependencies as Record<string, unknown>).h).toEqual(['a']);
  });

  it('leaves data alone: property names, const, enum, default and examples are not schemas', () => {
    const schema = deepFreeze({
      type: 'object',
      properties: {
        propertyNames: { type: 'string' },
        pattern: { type: 'string', default: '(?=x)' },
        config: {
          type: 'object',
          properties: {},
          const: { propertyNames: false, $ref: 'http://example.com/x', type: 'array' },
          default: { propertyNames: false },
          examples: [{ pattern: '(?=x)' }],
          enum: [{ $ref: 'https://example.com' }],
        },
      },
    });
    const view = toProviderSchema(schema);
    expect(view.schema).toEqual(schema);
    expect(view.adaptations).toEqual([]);
    expect(view.problems).toEqual([]);
  });
});

describe('checkProviderSchema: refused keywords', () => {
  function refusal(schema: Record<string, unknown>, field?: string): UnsupportedSchemaError {
    try {
      checkProviderSchema(schema, field);
    } catch (error) {
      if (UnsupportedSchemaError.isInstance(error)) return error;
      throw error;
    }
    throw new Error('expected checkProviderSchema to throw');
  }

  it.each([
    ['false', false],
    ['a number schema', { type: 'number' }],
    ['a type list', { type: ['string', 'number'] }],
  ])('refuses propertyNames given as %s, naming the keyword and its path', (_kind, propertyNames) => {
    const schema = { type: 'object', properties: { scores: { type: 'object', propertyNames } } };
    const error = refusal(schema);
    expect(error.code).toBe('UNSUPPORTED_SCHEMA_KEYWORD');
    expect(error.keyword).toBe('propertyNames');
    expect(error.path).toBe('/properties/scores');
    expect(error.field).toBe('inputSchema');
    expect(error.message).toMatch(
      /^"inputSchema" uses "propertyNames" at \/properties\/scores, which model providers reject: .*Remove "propertyNames" or give it a string schema.* Nothing was written\.$/,
    );
    // The view leaves it out, so a tool stored before the check still reaches the model.
    const view = toProviderSchema(schema);
    expect(view.problems.map((problem) => problem.keyword)).toEqual(['propertyNames']);
    expect(view.schema).toEqual({
      type: 'object',
      properties: { scores: { type: 'object', properties: {} } },
    });
  });

  it.each([
    ['an absolute URL', 'https://example.com/schemas/point.json'],
    ['a relative file', 'point.json#/$defs/x'],
  ])('refuses a $ref to %s', (_kind, ref) => {
    const error = refusal({ type: 'object', properties: { point: { $ref: ref } } }, 'spec.inputSchema');
    expect(error.keyword).toBe('$ref');
    expect(error.path).toBe('/properties/point');
    expect(error.message).toContain('"spec.inputSchema" uses "$ref" at /properties/point');
    expect(error.message).toContain('Copy the referenced schema into "$defs"');
  });

  it('accepts local $ref into $defs', () => {
    const schema = {
      type: 'object',
      properties: { a: { $ref: '#/$defs/point' } },
      $defs: { point: { type: 'object', properties: { x: { type: 'number' } } } },
    };
    expect(checkProviderSchema(schema)).toEqual({ schema, adaptations: [], problems: [] });
  });

  it(`refuses schemas nested deeper than ${MAX_SCHEMA_DEPTH} levels without overflowing the stack`, () => {
    let schema: Record<string, unknown> = { type: 'string' };
    for (let level = 0; level < 5_000; level += 1) schema = { type: 'object', properties: { x: schema } };
    const error = refusal(schema);
    expect(error.keyword).toBe('properties');
    expect(error.path).toBe('/properties/x'.repeat(MAX_SCHEMA_DEPTH));
    expect(error.message).toContain('Flatten the schema');
    let fits: Record<string, unknown> = { type: 'string' };
    for (let level = 0; level < MAX_SCHEMA_DEPTH; level += 1)
      fits = { type: 'object', properties: { x: fits } };
    expect(checkProviderSchema(fits).problems).toEqual([]);
  });

  it('returns the adapted view when nothing is refused', () => {
    const view = checkProviderSchema({ type: 'object', properties: { list: { type: 'array' } } });
    expect(view.schema).toEqual({ type: 'object', properties: { list: { type: 'array', items: {} } } });
    expect(view.adaptations.map((change) => change.keyword)).toEqual(['items']);
  });

  it('is recognised across package copies by its marker', () => {
    const error = refusal({ type: 'object', propertyNames: false });
    expect(UnsupportedSchemaError.isInstance(error)).toBe(true);
    expect(UnsupportedSchemaError.isInstance(new Error('x'))).toBe(false);
    expect(UnsupportedSchemaError.isInstance({ code: 'UNSUPPORTED_SCHEMA_KEYWORD' })).toBe(false);
  });
});
