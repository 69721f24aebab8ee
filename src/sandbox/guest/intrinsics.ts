/**
 * The realm's own built-ins, captured when the guest bundle is evaluated, before any tool code
 * exists. The other guest modules call these instead of looking them up on `Object`, `Reflect`
 * or `JSON` at call time, so the bridges never depend on a property lookup made after tool code
 * could have run.
 */

export const ObjectCtor = Object;
export const {
  defineProperty,
  defineProperties,
  freeze,
  getOwnPropertyDescriptor,
  getPrototypeOf,
  keys: objectKeys,
} = Object;
export const { apply, construct, ownKeys } = Reflect;
export const objectToString = Object.prototype.toString;
export const hasOwn = Object.hasOwn;
export const jsonStringify = JSON.stringify;
export const jsonParse = JSON.parse;
export const isArray = Array.isArray;
export const isView = ArrayBuffer.isView;
export const imul = Math.imul;
export const StringCtor = String;

/** An object read (or written) property by property, each value `unknown` until narrowed. */
export type PropertyBag = Record<PropertyKey, unknown>;

/**
 * A realm's global object as the guest modules read it: the built-ins they construct that realm's
 * values with, and any other global as an `unknown` value. The named members are what the realm is
 * expected to hold, not something checked: in `context` isolation a global the tool replaced is used
 * as found, as it always was.
 */
export interface RealmGlobal {
  [name: string]: unknown;
  Array: ArrayConstructor;
  Date: DateConstructor;
  Error: ErrorConstructor;
  JSON: JSON;
  Map: MapConstructor;
  Math: Math;
  Object: ObjectConstructor;
  RegExp: RegExpConstructor;
  Set: SetConstructor;
  TypeError: TypeErrorConstructor;
  Uint8Array: Uint8ArrayConstructor;
}

export const ownGlobal = globalThis as RealmGlobal;
