import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten';

/*
 * Guest values made and read from the worker, each checked whole: a failed QuickJS allocation
 * (which quickjs-emscripten reports as an empty string or a short buffer) must never reach a
 * tool as short or empty data, so these return `undefined` instead and the caller fails the
 * call with MEMORY.
 */

/** Thrown into the guest when the host could not allocate a guest value for it. */
export class GuestMemoryError extends Error {
  constructor() {
    super('out of memory');
    this.name = 'InternalError';
  }
}

/** Host-side failures that mean the guest's (or the host's) memory ran out. */
export function isMemoryFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  // "Couldn't allocate memory to get ArrayBuffer": quickjs-emscripten's getArrayBuffer.
  return /out of memory|memory access out of bounds|Cannot enlarge memory|Invalid string length|Array buffer allocation failed|allocate memory/i.test(
    error.message,
  );
}

/** A guest property that is a number, or -1. */
export function numberProp(context: QuickJSContext, handle: QuickJSHandle, key: string): number {
  const value = context.getProp(handle, key);
  const result = context.typeof(value) === 'number' ? context.getNumber(value) : -1;
  value.dispose();
  return result;
}

/**
 * Reads a guest string; `undefined` when QuickJS could not allocate its UTF-8 copy
 * (`getString` then yields an empty string for a non-empty guest string).
 */
export function readGuestString(context: QuickJSContext, handle: QuickJSHandle): string | undefined {
  const value = context.getString(handle);
  if (value === '' && numberProp(context, handle, 'length') !== 0) return undefined;
  return value;
}

/** A new guest string, or `undefined` when QuickJS could not allocate it whole. */
export function newGuestString(context: QuickJSContext, value: string): QuickJSHandle | undefined {
  const handle = context.newString(value);
  if (context.typeof(handle) === 'string' && numberProp(context, handle, 'length') === value.length)
    return handle;
  handle.dispose();
  return undefined;
}

/** A new guest ArrayBuffer holding a copy of `bytes`, or `undefined` when QuickJS could not allocate it. */
export function newGuestBuffer(context: QuickJSContext, bytes: Uint8Array): QuickJSHandle | undefined {
  const handle = context.newArrayBuffer(asBufferSource(bytes));
  if (context.typeof(handle) === 'object' && numberProp(context, handle, 'byteLength') === bytes.byteLength)
    return handle;
  handle.dispose();
  return undefined;
}

/** `newArrayBuffer` copies through `new Uint8Array(buffer)`, which accepts a view as well. */
export function asBufferSource(bytes: Uint8Array): ArrayBuffer {
  return bytes as unknown as ArrayBuffer;
}
