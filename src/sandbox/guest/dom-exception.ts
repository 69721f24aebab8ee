/**
 * `DOMException`, the error class web APIs throw (`AbortError`, `TimeoutError`,
 * `DataCloneError`, `InvalidCharacterError`). Not promised to tools as a global of its own, but
 * the promised fetch, AbortController, atob and structuredClone throw it, and tools (and the
 * hardening rewriter's template) compare its `name`.
 */
import { defineProperty, StringCtor } from './intrinsics.ts';

export const exceptionCodes: Record<string, number> = {
  IndexSizeError: 1,
  NotFoundError: 8,
  NotSupportedError: 9,
  InvalidStateError: 11,
  SyntaxError: 12,
  NetworkError: 19,
  AbortError: 20,
  TimeoutError: 23,
  DataCloneError: 25,
};
export class DOMException extends Error {
  constructor(message?: unknown, name?: unknown) {
    super(message === undefined ? '' : StringCtor(message));
    defineProperty(this, 'name', {
      value: name === undefined ? 'Error' : StringCtor(name),
      writable: true,
      configurable: true,
    });
  }
  get code(): number {
    return exceptionCodes[this.name] ?? 0;
  }
}
