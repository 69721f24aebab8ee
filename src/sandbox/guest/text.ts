/**
 * `TextEncoder` and `TextDecoder`, UTF-8 only: the conversion itself runs in the worker (one
 * bridge call per encode/decode) so malformed input and lone surrogates follow the WHATWG rules.
 * `encodeInto` is not promised to tools (kept: the intrinsics manifest pins it).
 */
import { host, state } from './call-state.ts';
import { rethrowInternal } from './errors.ts';
import { apply, isView, objectToString, type PropertyBag, StringCtor } from './intrinsics.ts';

export function toArrayBuffer(input: unknown, what: string): ArrayBuffer {
  if (apply(objectToString, input, []) === '[object ArrayBuffer]') return input as ArrayBuffer;
  if (isView(input)) {
    const view = input as ArrayBufferView;
    const buffer = view.buffer as ArrayBuffer;
    if (view.byteOffset === 0 && view.byteLength === buffer.byteLength) return buffer;
    return buffer.slice(view.byteOffset, view.byteOffset + view.byteLength);
  }
  throw new TypeError(`${what} must be an ArrayBuffer or an ArrayBuffer view`);
}

export class TextEncoder {
  get encoding(): string {
    return 'utf-8';
  }
  encode(input: unknown = ''): Uint8Array {
    // The calling realm's Uint8Array, so `instanceof Uint8Array` holds in a fresh context too.
    return new state.realm.global.Uint8Array(host().encodeUtf8(StringCtor(input)));
  }
  encodeInto(input: unknown, destination: Uint8Array): { read: number; written: number } {
    const text = StringCtor(input);
    let read = 0;
    let written = 0;
    for (const char of text) {
      const bytes = this.encode(char);
      if (written + bytes.length > destination.length) break;
      destination.set(bytes, written);
      written += bytes.length;
      read += char.length;
    }
    return { read, written };
  }
}

export class TextDecoder {
  #fatal: boolean;
  #ignoreBom: boolean;
  constructor(label: unknown = 'utf-8', options?: unknown) {
    const normalized = StringCtor(label).trim().toLowerCase();
    if (normalized !== 'utf-8' && normalized !== 'utf8' && normalized !== 'unicode-1-1-utf-8') {
      throw new RangeError(`The "${StringCtor(label)}" encoding is not supported; only utf-8 is available`);
    }
    const settings = (typeof options === 'object' && options !== null ? options : {}) as PropertyBag;
    this.#fatal = Boolean(settings.fatal);
    this.#ignoreBom = Boolean(settings.ignoreBOM);
  }
  get encoding(): string {
    return 'utf-8';
  }
  get fatal(): boolean {
    return this.#fatal;
  }
  get ignoreBOM(): boolean {
    return this.#ignoreBom;
  }
  decode(input?: unknown): string {
    if (input === undefined) return '';
    const buffer = toArrayBuffer(input, 'The "input" argument');
    try {
      return host().decodeUtf8(buffer, this.#fatal, this.#ignoreBom);
    } catch (error) {
      rethrowInternal(error);
      throw new TypeError('The encoded data was not valid for encoding utf-8');
    }
  }
}
