/**
 * `structuredClone`: deep copies into the calling realm's own constructors (so `instanceof`
 * holds in a fresh context). Transfer is refused, since detaching a buffer is one of the ways
 * to change a live buffer's length that the sandbox removes.
 */
import { state } from './call-state.ts';
import { DOMException } from './dom-exception.ts';
import type { ErrorFields } from './errors.ts';
import {
  apply,
  defineProperty,
  isArray,
  isView,
  objectKeys,
  objectToString,
  type PropertyBag,
  StringCtor,
} from './intrinsics.ts';

/** A `Map` being read or filled by the clone. */
type ValueMap = Map<unknown, unknown>;

/** The typed-array and `DataView` constructors of the calling realm, as the clone calls them. */
type ViewConstructor = new (buffer: ArrayBuffer, byteOffset: number, length?: number) => ArrayBufferView;

/** The fields of a typed array or `DataView` the clone reads (`length` only from a typed array). */
interface ViewFields {
  buffer: ArrayBufferLike;
  byteOffset: number;
  byteLength: number;
  length?: number;
}

export function structuredClone(value: unknown, options?: unknown): unknown {
  const realm = state.realm.global;
  const copies = new Map<unknown, unknown>();
  const cloneError = (what: string) => new DOMException(`${what} could not be cloned.`, 'DataCloneError');
  // Transferring detaches the source buffer, one of the ways to change a live buffer's
  // length that the sandbox removes (see `removeResizableBuffers`): refused, not ignored.
  const transfer =
    typeof options === 'object' && options !== null ? (options as PropertyBag).transfer : undefined;
  if (transfer !== undefined && (!isArray(transfer) || transfer.length > 0)) {
    throw new DOMException(
      'structuredClone cannot transfer (detach) objects in the sandbox; clone without the transfer option',
      'DataCloneError',
    );
  }
  const clone = (input: unknown): unknown => {
    if (input === null || (typeof input !== 'object' && typeof input !== 'function')) {
      if (typeof input === 'symbol') throw cloneError(StringCtor(input.toString()));
      return input;
    }
    if (typeof input === 'function') throw cloneError(`${input.name || 'function'}()`);
    const known = copies.get(input);
    if (known !== undefined) return known;
    const tag = apply(objectToString, input, []);
    let copy: unknown;
    switch (tag) {
      case '[object Array]': {
        copy = new realm.Array((input as unknown[]).length);
        copies.set(input, copy);
        for (const key of objectKeys(input)) (copy as PropertyBag)[key] = clone((input as PropertyBag)[key]);
        return copy;
      }
      case '[object Date]':
        copy = new state.realm.Date((input as Date).getTime());
        break;
      case '[object RegExp]':
        copy = new realm.RegExp((input as RegExp).source, (input as RegExp).flags);
        break;
      case '[object Boolean]':
      case '[object Number]':
      case '[object String]':
        copy = realm.Object((input as { valueOf(): unknown }).valueOf());
        break;
      case '[object Map]': {
        copy = new realm.Map();
        copies.set(input, copy);
        for (const [key, item] of input as ValueMap) (copy as ValueMap).set(clone(key), clone(item));
        return copy;
      }
      case '[object Set]': {
        copy = new realm.Set();
        copies.set(input, copy);
        for (const item of input as Set<unknown>) (copy as Set<unknown>).add(clone(item));
        return copy;
      }
      case '[object ArrayBuffer]':
        copy = (input as ArrayBuffer).slice(0);
        break;
      case '[object Error]': {
        const error = input as ErrorFields;
        const name = StringCtor(error.name);
        const Ctor = [
          'EvalError',
          'RangeError',
          'ReferenceError',
          'SyntaxError',
          'TypeError',
          'URIError',
        ].includes(name)
          ? (realm[name] as ErrorConstructor)
          : realm.Error;
        copy = new Ctor(StringCtor(error.message));
        if (typeof error.stack === 'string')
          defineProperty(copy, 'stack', { value: error.stack, writable: true, configurable: true });
        break;
      }
      case '[object Object]':
      case '[object Arguments]': {
        if (isView(input)) break;
        copy = new realm.Object();
        copies.set(input, copy);
        for (const key of objectKeys(input)) (copy as PropertyBag)[key] = clone((input as PropertyBag)[key]);
        return copy;
      }
      default:
        if (!isView(input)) throw cloneError(tag.slice(8, -1));
    }
    if (copy === undefined && isView(input)) {
      const view = input as ViewFields;
      const name = tag.slice(8, -1);
      const Ctor = realm[name];
      if (typeof Ctor !== 'function') throw cloneError(name);
      const buffer = clone(view.buffer) as ArrayBuffer;
      copy =
        name === 'DataView'
          ? new (Ctor as ViewConstructor)(buffer, view.byteOffset, view.byteLength)
          : new (Ctor as ViewConstructor)(buffer, view.byteOffset, view.length);
    }
    copies.set(input, copy);
    return copy;
  };
  return clone(value);
}
