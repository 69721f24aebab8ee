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
export { SiaError, type SiaErrorOptions } from './sia-error.ts';
export { type EventMap, TypedEmitter, type TypedEmitterOptions } from './typed-emitter.ts';
