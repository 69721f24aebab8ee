export type { Logger } from './logger.ts';
export { SiaError, type SiaErrorOptions } from './sia-error.ts';
export { type EventMap, TypedEmitter, type TypedEmitterOptions } from './typed-emitter.ts';
