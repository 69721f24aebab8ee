export { describeValue, InvalidOptionError } from './invalid-option-error.ts';
export { type JsonEqualOptions, jsonEqual } from './json-equal.ts';
export type { Logger } from './logger.ts';
export {
  booleanOption,
  type InvalidValueError,
  integerOption,
  numberOption,
  objectOption,
  stringOption,
} from './options.ts';
export {
  PLAIN_JSON_LIMITS,
  type PlainJsonOptions,
  type PlainJsonProblem,
  plainJsonProblem,
} from './plain-json.ts';
export { SiaError, type SiaErrorOptions } from './sia-error.ts';
export { type EventMap, TypedEmitter, type TypedEmitterOptions } from './typed-emitter.ts';
