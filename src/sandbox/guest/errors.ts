/**
 * Reading thrown values without trusting them, and the guest's `CapabilityDeniedError`.
 * A denial is recognised by identity (`deniedErrors`), never by its name or message, which tool
 * code could imitate.
 */
import { apply, defineProperty, objectToString, StringCtor } from './intrinsics.ts';

export const maxMessageChars = 2000;

export function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * The fields the guest reads from an error object (one that {@link isErrorObject} accepted),
 * each read through its getter, if any, and never trusted to have a particular type.
 */
export interface ErrorFields {
  name?: unknown;
  message?: unknown;
  stack?: unknown;
}

export function isErrorObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && apply(objectToString, value, []) === '[object Error]';
}

export const deniedErrors = new WeakMap<object, string>();

/**
 * Rethrows an engine failure (out of memory, stack overflow, interrupt: all InternalError)
 * that a bridge below caught while translating ordinary errors, so it is never turned into a
 * TypeError or a quiet `false`/`null`.
 */
export function rethrowInternal(error: unknown): void {
  if (isErrorObject(error) && (error as ErrorFields).name === 'InternalError') throw error;
}

export function safeText(value: unknown): string {
  if (value === undefined || value === null) return '';
  return truncate(typeof value === 'string' ? value : StringCtor(value), maxMessageChars * 2);
}

export class CapabilityDeniedError extends Error {}
defineProperty(CapabilityDeniedError.prototype, 'name', {
  value: 'CapabilityDeniedError',
  writable: true,
  configurable: true,
});

export function denied(message: string): Error {
  const error = new CapabilityDeniedError(message);
  deniedErrors.set(error, message);
  return error;
}
