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

export const ownGlobal: any = globalThis;
