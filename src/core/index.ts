export { binomialAtLeast, binomialAtMost, regularizedBeta } from './binomial-tail.ts';
export { canonicalJson, hashValue } from './hash-value.ts';
export { InvalidOptionError } from './invalid-option-error.ts';
export {
  describeValue,
  InvalidValueError,
  type InvalidValueErrorOptions,
  type InvalidValueInit,
} from './invalid-value-error.ts';
export { type JsonEqualOptions, jsonEqual } from './json-equal.ts';
export {
  type CompiledSchema,
  compileSchema,
  describeViolations,
  SchemaCache,
  type SchemaCacheOptions,
  type SchemaViolation,
  schemaProblem,
} from './json-schema.ts';
export type { JsonObject, JsonValue } from './json-value.ts';
export type { Logger } from './logger.ts';
export {
  booleanOption,
  type InvalidValueFactory,
  integerOption,
  numberOption,
  objectOption,
  stringOption,
} from './options.ts';
export {
  MAX_OUTPUT_VIOLATIONS,
  OUTPUT_SCHEMA_LIMITS,
  type OutputSchemaProblem,
  outputSchemaProblem,
  outputViolation,
} from './output-schema.ts';
export {
  PLAIN_JSON_LIMITS,
  type PlainJsonOptions,
  type PlainJsonProblem,
  plainJsonProblem,
} from './plain-json.ts';
export {
  checkProviderSchema,
  MAX_SCHEMA_DEPTH,
  type ProviderSchema,
  type ProviderSchemaProblem,
  type SchemaAdaptation,
  toProviderSchema,
} from './provider-schema.ts';
export { SiaError, type SiaErrorOptions } from './sia-error.ts';
export { type EventMap, TypedEmitter, type TypedEmitterOptions } from './typed-emitter.ts';
export { UnsupportedSchemaError } from './unsupported-schema-error.ts';
