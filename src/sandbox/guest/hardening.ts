/**
 * Hardening of the realm: the buffer APIs that can change a live buffer's length are removed,
 * and `harden` freezes every object reachable from the realm's intrinsics (after taming the
 * properties ordinary code assigns to, see `tameOverrides`). guest-intrinsics.test.ts checks
 * the result against the manifest in guest-intrinsics.ts.
 */
import {
  construct,
  defineProperty,
  freeze,
  getOwnPropertyDescriptor,
  getPrototypeOf,
  hasOwn,
  ObjectCtor,
  ownGlobal,
  ownKeys,
  type PropertyBag,
  type RealmGlobal,
} from './intrinsics.ts';

export function globalDescriptor(value: unknown): PropertyDescriptor {
  // Null prototype: descriptor fields are read with [[Get]], so nothing inherited may count.
  const descriptor: PropertyDescriptor = ObjectCtor.create(null);
  descriptor.value = value;
  descriptor.writable = true;
  descriptor.enumerable = false;
  descriptor.configurable = true;
  return freeze(descriptor);
}

/**
 * A realm's `ArrayBuffer` as `removeResizableBuffers` reads it. Its prototype is a plain property
 * bag here: the ES2023 lib types know neither `resize` nor `transfer`, which are deleted from it.
 */
interface OriginalArrayBufferConstructor {
  new (length: unknown): ArrayBuffer;
  prototype: PropertyBag;
  isView: unknown;
}

/**
 * Removes every way guest code could change the length of a live buffer (the known QuickJS
 * out-of-bounds bugs all start from one): `ArrayBuffer.prototype.resize`, `transfer` and
 * `transferToFixedLength` (they detach the source), the `maxByteLength` constructor option,
 * and `SharedArrayBuffer` (whose `grow` does the same; this QuickJS build has no `Atomics`,
 * which would only serve it, and it is removed too should a later build add it). Without a
 * resizable buffer there are no length-tracking views either. The constructor becomes a
 * wrapper that refuses `maxByteLength` (a buffer still reports `resizable: false`,
 * `maxByteLength === byteLength`, `detached: false`); its prototype stays the realm's own.
 */
export function removeResizableBuffers(target: RealmGlobal): void {
  delete target.SharedArrayBuffer;
  delete target.Atomics;
  const OriginalArrayBuffer = target.ArrayBuffer as OriginalArrayBufferConstructor;
  const prototype = OriginalArrayBuffer.prototype;
  delete prototype.resize;
  delete prototype.transfer;
  delete prototype.transferToFixedLength;
  // Errors of the target realm, so `instanceof TypeError` holds in a fresh context too.
  const RealmTypeError = target.TypeError;
  function FixedArrayBuffer(this: unknown, length: unknown, options?: unknown): unknown {
    if (new.target === undefined) throw new RealmTypeError("Constructor ArrayBuffer requires 'new'");
    if (
      (typeof options === 'object' || typeof options === 'function') &&
      options !== null &&
      (options as PropertyBag).maxByteLength !== undefined
    ) {
      throw new RealmTypeError(
        'Resizable ArrayBuffers (the maxByteLength option) are not available in the sandbox; allocate a buffer of the final size instead',
      );
    }
    return construct(OriginalArrayBuffer, [length], new.target);
  }
  defineProperty(FixedArrayBuffer, 'length', { value: 1 });
  defineProperty(FixedArrayBuffer, 'name', { value: 'ArrayBuffer' });
  defineProperty(FixedArrayBuffer, 'prototype', { value: prototype, writable: false });
  defineProperty(FixedArrayBuffer, 'isView', {
    value: OriginalArrayBuffer.isView,
    writable: true,
    configurable: true,
  });
  const species = getOwnPropertyDescriptor(OriginalArrayBuffer, Symbol.species);
  if (species) defineProperty(FixedArrayBuffer, Symbol.species, species);
  defineProperty(prototype, 'constructor', { value: FixedArrayBuffer, writable: true, configurable: true });
  defineProperty(target, 'ArrayBuffer', globalDescriptor(FixedArrayBuffer));
}

/**
 * Assigning to an inherited frozen property fails (the "override mistake"), which would
 * break ordinary code such as `this.name = 'MyError'` in an Error subclass. These common
 * properties become accessors whose setter defines an own property on the receiver instead.
 */
export function tameOverrides(): void {
  const tame = (prototype: object, names: string[]) => {
    for (const name of names) {
      const descriptor = getOwnPropertyDescriptor(prototype, name);
      if (!descriptor || !('value' in descriptor) || !descriptor.writable || !descriptor.configurable)
        continue;
      const value = descriptor.value;
      defineProperty(prototype, name, {
        get: function get() {
          return value;
        },
        set: function set(this: unknown, next: unknown) {
          if (this === prototype)
            throw new TypeError(`Cannot assign to read only property '${name}' of a frozen built-in`);
          if (typeof this !== 'object' && typeof this !== 'function') return;
          if (this === null) return;
          if (hasOwn(this as object, name)) (this as PropertyBag)[name] = next;
          else
            defineProperty(this, name, {
              value: next,
              writable: true,
              enumerable: true,
              configurable: true,
            });
        },
        enumerable: descriptor.enumerable,
        configurable: false,
      });
    }
  };
  tame(Object.prototype, [
    'constructor',
    'hasOwnProperty',
    'isPrototypeOf',
    'propertyIsEnumerable',
    'toLocaleString',
    'toString',
    'valueOf',
  ]);
  tame(Function.prototype, ['apply', 'bind', 'call', 'toString']);
  tame(Error.prototype, ['constructor', 'message', 'name', 'toString']);
  for (const name of [
    'EvalError',
    'RangeError',
    'ReferenceError',
    'SyntaxError',
    'TypeError',
    'URIError',
    'AggregateError',
    'InternalError',
  ]) {
    const ctor = ownGlobal[name];
    if (typeof ctor === 'function') tame(ctor.prototype, ['constructor', 'message', 'name']);
  }
  tame(Array.prototype, ['toString', 'toLocaleString']);
}

/**
 * The `Iterator` global as the freeze pass reaches through it. Not in the ES2023 lib types, and
 * possibly absent from a QuickJS build: every use runs inside `reach`, so a missing `Iterator`,
 * `from` or `concat` only leaves that root `undefined`.
 */
interface IteratorGlobal {
  prototype: object;
  from(iterator: object): object;
  concat(): object;
}

/** An array iterator's helper methods (ES2025, not in the ES2023 lib types). */
interface IteratorHelpers {
  map(callback: (item: unknown) => unknown): object;
}

/**
 * Every intrinsic the freeze pass starts from, named as in the specification, with how it
 * is reached. The pass freezes each of them and everything reachable from it (prototypes,
 * property values, getters, setters), so a root listed here covers its whole subgraph.
 * Objects that only appear when a built-in is called are reached by calling it once.
 * guest-intrinsics.test.ts calls every built-in that returns a new kind of object and fails
 * on anything left unfrozen, and on any global or property missing from the manifest in
 * guest-intrinsics.ts: update both when QuickJS gains a built-in.
 *
 * Not reachable from guest code, so not listed: %AsyncFromSyncIteratorPrototype% (its
 * objects are internal to `for await` and `yield*`), module namespace objects (no modules),
 * and SharedArrayBuffer/Atomics/FinalizationRegistry (removed by `install`).
 */
export function intrinsicRoots(): [string, unknown][] {
  const reach = (how: () => unknown): unknown => {
    try {
      return how();
    } catch {
      return undefined;
    }
  };
  const strictArguments = (function (this: unknown) {
    // biome-ignore lint/complexity/noArguments: reaching %ThrowTypeError% needs an arguments object
    return arguments;
  })();
  const generatorPrototype = getPrototypeOf(function* () {}.prototype);
  const asyncGeneratorPrototype = getPrototypeOf(async function* () {}.prototype);
  const iterator = ownGlobal.Iterator as IteratorGlobal;
  const exhausted = { next: () => ({ done: true, value: undefined }) };
  return [
    ['%GlobalThis%', ownGlobal],
    ['%ThrowTypeError%', getOwnPropertyDescriptor(strictArguments, 'callee')?.get],
    ['%GeneratorFunction.prototype%', getPrototypeOf(function* () {})],
    ['%GeneratorPrototype%', generatorPrototype],
    ['%AsyncFunction.prototype%', getPrototypeOf(async () => {})],
    ['%AsyncGeneratorFunction.prototype%', getPrototypeOf(async function* () {})],
    ['%AsyncGeneratorPrototype%', asyncGeneratorPrototype],
    ['%AsyncIteratorPrototype%', getPrototypeOf(asyncGeneratorPrototype)],
    ['%ArrayIteratorPrototype%', getPrototypeOf([][Symbol.iterator]())],
    ['%MapIteratorPrototype%', getPrototypeOf(new Map()[Symbol.iterator]())],
    ['%SetIteratorPrototype%', getPrototypeOf(new Set()[Symbol.iterator]())],
    ['%StringIteratorPrototype%', getPrototypeOf(''[Symbol.iterator]())],
    ['%RegExpStringIteratorPrototype%', getPrototypeOf(/a/g[Symbol.matchAll]('a'))],
    ['%TypedArray%', getPrototypeOf(Int8Array)],
    ['%IteratorPrototype%', reach(() => iterator.prototype)],
    ['%WrapForValidIteratorPrototype%', reach(() => getPrototypeOf(iterator.from(exhausted)))],
    // map, filter, take, drop and flatMap share one prototype.
    [
      '%IteratorHelperPrototype%',
      reach(() => getPrototypeOf(([].values() as unknown as IteratorHelpers).map((item: unknown) => item))),
    ],
    // QuickJS (2025-11) gives Iterator.concat results a prototype of their own.
    ['%IteratorConcatPrototype%', reach(() => getPrototypeOf(iterator.concat()))],
  ];
}

export function harden(): number {
  tameOverrides();
  const roots: unknown[] = intrinsicRoots().map(([, value]) => value);
  const seen = new Set<unknown>();
  const stack = roots;
  while (stack.length > 0) {
    const value = stack.pop();
    if (value === null || (typeof value !== 'object' && typeof value !== 'function') || seen.has(value))
      continue;
    seen.add(value);
    freeze(value);
    stack.push(getPrototypeOf(value));
    for (const key of ownKeys(value as object)) {
      const descriptor = getOwnPropertyDescriptor(value, key);
      if (!descriptor) continue;
      if ('value' in descriptor) stack.push(descriptor.value);
      else stack.push(descriptor.get, descriptor.set);
    }
  }
  return seen.size;
}
