/**
 * The call's outcome as the worker reads it: `R<json>` for a result, `E<json>` for a failure
 * `{ code, name, message, stack? }`. The result is serialised here, inside the guest, so the
 * tool's getters, `toJSON` and proxies never run in the worker.
 */
import { state } from './call-state.ts';
import { formatValue } from './console.ts';
import {
  deniedErrors,
  type ErrorFields,
  isErrorObject,
  maxMessageChars,
  safeText,
  truncate,
} from './errors.ts';
import { freeze, jsonStringify } from './intrinsics.ts';

/** Keep equal to `MAX_VALUE_DEPTH` in value-depth.ts (the host checks the same limit). */
export const MAX_VALUE_DEPTH = 1000;

export interface Failure {
  code: string;
  name: string;
  message: string;
  stack?: string;
}

export function fail(code: string, name: string, message: string, stack?: string): string {
  const failure: Failure = { code, name, message: truncate(message, maxMessageChars) };
  if (stack) failure.stack = truncate(stack, 4000);
  return `E${jsonStringify(failure)}`;
}

export function encodeFailure(failure: Failure): string {
  return fail(failure.code, failure.name, failure.message, failure.stack);
}

/** Describes a thrown value without trusting it (its getters run here, under the deadline). */
export function describeThrown(thrown: unknown, fallbackCode: string): Failure {
  try {
    if (typeof thrown === 'object' && thrown !== null && deniedErrors.has(thrown)) {
      return {
        code: 'CAPABILITY_DENIED',
        name: 'CapabilityDeniedError',
        message: deniedErrors.get(thrown) as string,
      };
    }
    if (isErrorObject(thrown)) {
      const error = thrown as ErrorFields;
      const name = safeText(error.name) || 'Error';
      const message = safeText(error.message);
      if (name === 'InternalError' && message === 'stack overflow') return { code: 'STACK', name, message };
      if (name === 'InternalError' && (message === 'out of memory' || message === 'string too long')) {
        return { code: 'MEMORY', name, message };
      }
      return { code: fallbackCode, name, message, stack: safeText(error.stack) };
    }
    return {
      code: fallbackCode,
      name: 'NonError',
      message: `a non-Error value was thrown: ${formatValue(thrown, 1, [])}`,
    };
  } catch (inner) {
    if (isErrorObject(inner)) {
      const innerError = inner as ErrorFields;
      if (innerError.name === 'InternalError' && innerError.message === 'out of memory') {
        return { code: 'MEMORY', name: 'InternalError', message: 'out of memory' };
      }
    }
    return {
      code: fallbackCode,
      name: 'Error',
      message: 'the tool threw a value that could not be described',
    };
  }
}

export function failFromThrown(thrown: unknown, fallbackCode = 'TOOL_ERROR'): string {
  return encodeFailure(describeThrown(thrown, fallbackCode));
}

export const depthExceeded = freeze({ depthExceeded: true });

/**
 * A `JSON.stringify` replacer that only measures: each object's depth is its holder's plus
 * one (constant work per value), and nesting past `MAX_VALUE_DEPTH` stops the serialisation
 * early. QuickJS checks for cycles by scanning the chain of open objects, so serialising a
 * value of depth N costs about N²; the limit keeps that bounded and the refusal fast.
 */
export function depthLimiter(): (this: unknown, key: string, value: unknown) => unknown {
  const depths = new Map<unknown, number>();
  return function measure(this: unknown, _key: string, value: unknown): unknown {
    if (typeof value === 'object' && value !== null) {
      const depth = (depths.get(this) ?? 0) + 1;
      if (depth > MAX_VALUE_DEPTH) throw depthExceeded;
      depths.set(value, depth);
    }
    return value;
  };
}

export function serialize(value: unknown, maxChars: number): string {
  let json: string | undefined;
  try {
    json = jsonStringify(value, depthLimiter());
  } catch (error) {
    if (error === depthExceeded) {
      return fail(
        'INVALID_OUTPUT',
        'RangeError',
        `the result is nested more than ${MAX_VALUE_DEPTH} levels deep (the sandbox's value depth limit, MAX_VALUE_DEPTH); return flatter data`,
      );
    }
    const failure = describeThrown(error, 'INVALID_OUTPUT');
    if (failure.code === 'INVALID_OUTPUT') {
      failure.message = `the result is not JSON-serialisable (${failure.name}: ${failure.message}); return plain data`;
      failure.stack = undefined;
    }
    return encodeFailure(failure);
  }
  if (json === undefined) {
    const kind = value === undefined ? 'undefined' : `a ${typeof value}`;
    return fail(
      'INVALID_OUTPUT',
      'TypeError',
      `the tool returned ${kind}, which is not JSON data; return an object, array, string, number, boolean or null`,
    );
  }
  if (json.length > maxChars) {
    return fail(
      'INVALID_OUTPUT',
      'RangeError',
      `the result is ${json.length} characters of JSON, more than maxOutputBytes (${maxChars}); return less data or raise maxOutputBytes`,
    );
  }
  return `R${json}`;
}

export function recordFatal(error: unknown, where: string): void {
  if (state.fatal !== undefined || !state.active) return;
  const failure = describeThrown(error, 'TOOL_ERROR');
  if (failure.code === 'TOOL_ERROR') failure.message = `uncaught exception in ${where}: ${failure.message}`;
  state.fatal = encodeFailure(failure);
}
