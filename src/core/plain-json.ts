import { types } from 'node:util';

/** Limits of {@link plainJsonProblem}. */
export interface PlainJsonOptions {
  /**
   * Deepest nesting of arrays and objects; the value itself is level 1, so `{ a: [1] }` is 2
   * levels deep.
   * @default 100
   */
  readonly maxDepth?: number;
  /**
   * Most characters of JSON text the value may serialise to (counted as it is walked: string
   * and key lengths plus quotes, separators and digits; escapes are not counted).
   * @default 4_194_304 (4 Mi characters)
   */
  readonly maxLength?: number;
  /**
   * What to do with an object property whose value is `undefined`: `'refuse'` it (a caller
   * who wrote `{ limit: undefined }` meant something JSON cannot say), or `'omit'` it as
   * `JSON.stringify` does. `undefined` inside an array is always refused (JSON would turn it
   * into `null`).
   * @default 'refuse'
   */
  readonly undefinedProperties?: 'refuse' | 'omit';
}

/** The limits every entry point of the library applies to input values (frozen). */
export const PLAIN_JSON_LIMITS: Readonly<{ maxDepth: number; maxLength: number }> = Object.freeze({
  maxDepth: 100,
  maxLength: 4 * 1024 * 1024,
});

/** Why a value is not plain JSON data, and where. */
export interface PlainJsonProblem {
  /** Where the problem is, as JavaScript property access from the root: `input.items[3].n`. */
  readonly path: string;
  /** What is wrong, e.g. `Infinity is not a finite number (JSON has no NaN or Infinity)`. */
  readonly message: string;
}

interface Frame {
  readonly value: Record<string, unknown>;
  readonly path: string;
  readonly depth: number;
  readonly isArray: boolean;
  readonly keys: readonly string[];
  index: number;
}

/**
 * The first reason `value` is not plain JSON data, or null when it is: only `null`, booleans,
 * finite numbers, strings, arrays without holes and objects whose prototype is
 * `Object.prototype` or `null`, made of plain data properties (no getters, no symbol keys, no
 * proxies), without cycles, within `maxDepth` levels and `maxLength` characters of JSON. So a
 * value that passes survives `JSON.stringify` → `JSON.parse` unchanged (what a tool receives
 * is what the caller passed, and what is recorded is what ran).
 *
 * The walk is iterative, so a value nested 100 000 levels deep is refused with a problem,
 * never a `RangeError`; it reads each property once and calls no user code.
 * @param root - the name of the value in paths, e.g. `input`.
 * @example
 * plainJsonProblem({ items: [{ n: Infinity }] }); // { path: 'input.items[0].n', message: 'Infinity is not a finite number …' }
 */
export function plainJsonProblem(
  value: unknown,
  root = 'input',
  options: PlainJsonOptions = {},
): PlainJsonProblem | null {
  const maxDepth = options.maxDepth ?? PLAIN_JSON_LIMITS.maxDepth;
  const maxLength = options.maxLength ?? PLAIN_JSON_LIMITS.maxLength;
  const omitUndefined = options.undefinedProperties === 'omit';
  const ancestors = new Set<object>();
  const stack: Frame[] = [];
  let length = 0;

  const visit = (item: unknown, path: string, depth: number): PlainJsonProblem | null => {
    switch (typeof item) {
      case 'string':
        length += item.length + 2;
        return null;
      case 'boolean':
        length += 5;
        return null;
      case 'number':
        if (!Number.isFinite(item))
          return { path, message: `${item} is not a finite number (JSON has no NaN or Infinity)` };
        length += String(item).length;
        return null;
      case 'bigint':
        return { path, message: 'a BigInt is not JSON; pass a number or a string' };
      case 'undefined':
        return { path, message: 'undefined is not JSON; leave the property out or pass null' };
      case 'function':
        return { path, message: 'a function is not JSON data' };
      case 'symbol':
        return { path, message: 'a symbol is not JSON data' };
    }
    if (item === null) {
      length += 4;
      return null;
    }
    const object = item as object;
    if (types.isProxy(object)) return { path, message: 'a Proxy is not plain JSON data; pass a plain copy' };
    if (ancestors.has(object)) return { path, message: 'a cycle: this object contains itself' };
    if (depth > maxDepth) return { path, message: `nested deeper than ${maxDepth} levels` };
    const isArray = Array.isArray(object);
    const prototype = Object.getPrototypeOf(object) as object | null;
    if (isArray ? prototype !== Array.prototype : prototype !== Object.prototype && prototype !== null) {
      return { path, message: `${kindOf(object, prototype)} is not plain JSON data${hintFor(object)}` };
    }
    const keys: string[] = [];
    for (const key of Reflect.ownKeys(object)) {
      if (typeof key === 'symbol') return { path, message: 'a symbol-keyed property is not JSON data' };
      const descriptor = Object.getOwnPropertyDescriptor(object, key);
      if (descriptor === undefined) continue;
      if (!('value' in descriptor))
        return { path: childPath(path, key, isArray), message: 'a getter or setter is not plain JSON data' };
      if (!descriptor.enumerable) continue; // an array's length; JSON skips hidden properties too
      if (isArray && !isIndex(key)) continue;
      keys.push(key);
    }
    if (isArray && keys.length !== (object as unknown[]).length) {
      const hole = (object as unknown[]).findIndex((_, index) => !Object.hasOwn(object, index));
      return {
        path: `${path}[${hole === -1 ? keys.length : hole}]`,
        message: 'a hole in a sparse array is not JSON (JSON would turn it into null)',
      };
    }
    ancestors.add(object);
    stack.push({ value: object as Record<string, unknown>, path, depth, isArray, keys, index: 0 });
    length += 2;
    return null;
  };

  const first = visit(value, root, 1);
  if (first) return first;
  while (stack.length > 0) {
    const frame = stack[stack.length - 1] as Frame;
    if (frame.index >= frame.keys.length) {
      ancestors.delete(frame.value);
      stack.pop();
      continue;
    }
    const key = frame.keys[frame.index] as string;
    frame.index += 1;
    const item = frame.value[key];
    if (item === undefined && !frame.isArray && omitUndefined) continue;
    length += frame.isArray ? 1 : key.length + 4;
    const problem = visit(item, childPath(frame.path, key, frame.isArray), frame.depth + 1);
    if (problem) return problem;
    if (length > maxLength)
      return { path: root, message: `more than ${maxLength} characters of JSON (the limit)` };
  }
  return null;
}

/** `path.key`, `path["odd key"]` or `path[3]`. */
function childPath(path: string, key: string, isArray: boolean): string {
  if (isArray) return `${path}[${key}]`;
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function isIndex(key: string): boolean {
  return /^(0|[1-9][0-9]*)$/.test(key) && Number(key) < 2 ** 32 - 1;
}

/** "a Date", "a Map", "an instance of Money": read without calling any getter. */
function kindOf(object: object, prototype: object | null): string {
  if (Array.isArray(object)) return 'an array with a changed prototype';
  const maker =
    prototype === null ? undefined : Object.getOwnPropertyDescriptor(prototype, 'constructor')?.value;
  const name =
    typeof maker === 'function' ? Object.getOwnPropertyDescriptor(maker, 'name')?.value : undefined;
  if (typeof name !== 'string' || name === '') return 'an object with a custom prototype';
  const builtin = (globalThis as Record<string, unknown>)[name] === maker;
  return builtin ? `${/^[AEIO]/.test(name) ? 'an' : 'a'} ${name}` : `an instance of ${name}`;
}

function hintFor(object: object): string {
  if (types.isDate(object)) return '; pass date.toISOString() or date.getTime()';
  if (types.isMap(object)) return '; pass Object.fromEntries(map)';
  if (types.isSet(object)) return '; pass [...set]';
  if (ArrayBuffer.isView(object)) return '; pass Array.from(bytes) or a base64 string';
  return '; pass a plain object with only JSON values';
}
