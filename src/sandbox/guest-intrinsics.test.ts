/**
 * The hardened realm leaves nothing shared unfrozen (issue 12, part 2). A tool calls every
 * built-in that returns a new kind of object, then walks the prototype chains of what it got
 * and every property (values, getters, setters) of every shared object reached, from the
 * global object too. The test fails on any shared object left unfrozen, and on any global or
 * shared object whose own properties differ from the manifest in guest-intrinsics.ts, so a
 * QuickJS upgrade that adds a built-in fails here until the guest's intrinsic list
 * (`intrinsicRoots` in guest/hardening.ts) and the manifest are updated.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intrinsicsManifest } from './guest-intrinsics.ts';
import { QuickJsSandbox } from './quickjs-sandbox.ts';

/** Guest code: returns `{ unfrozen, shapes, produced, failedProducers }`. */
const walker = String.raw`
async function main() {
  const realGlobal = Object.getPrototypeOf(globalThis);
  const sloppyFunction = Function('return arguments');
  let captured = [];
  const producers = [
    // Iterators of built-in collections.
    ['[].values()', () => [].values()],
    ['[].keys()', () => [].keys()],
    ['[].entries()', () => [].entries()],
    ['new Map().entries()', () => new Map().entries()],
    ['new Map().keys()', () => new Map().keys()],
    ['new Set().values()', () => new Set().values()],
    ['new Set().entries()', () => new Set().entries()],
    ['string iterator', () => ''[Symbol.iterator]()],
    ['matchAll', () => 'aa'.matchAll(/a/g)],
    ['RegExp matchAll', () => /a/g[Symbol.matchAll]('a')],
    // Generators and async functions.
    ['generator function', () => function* () {}],
    // A generator's prototype is its function's own (new) prototype object, so both are produced.
    ['generator', () => { const make = function* () {}; return [make, make()]; }],
    ['async generator function', () => async function* () {}],
    ['async generator', () => { const make = async function* () {}; return [make, make()]; }],
    ['async generator next()', () => (async function* () {})().next()],
    ['async function', () => async function () {}],
    ['async arrow', () => async () => {}],
    ['async call', () => (async () => 1)()],
    ['for await over a sync iterable', () => (async () => { for await (const item of [Promise.resolve(1)]) captured.push(item); })()],
    ['yield* over a sync iterable in an async generator', () => (async function* () { yield* [1]; })().next()],
    // Iterator helpers.
    ['Iterator.from(iterator)', () => Iterator.from({ next: () => ({ done: true }) })],
    ['Iterator.from(iterable)', () => Iterator.from([1])],
    ['Iterator.from(string)', () => Iterator.from('ab')],
    ['map', () => [1].values().map((x) => x)],
    ['filter', () => [1].values().filter(() => true)],
    ['take', () => [1].values().take(1)],
    ['drop', () => [1].values().drop(0)],
    ['flatMap', () => [1].values().flatMap((x) => [x])],
    ['Iterator.concat', () => Iterator.concat([1], [2])],
    ['Iterator.concat()', () => Iterator.concat()],
    ['concat next()', () => Iterator.concat([1]).next()],
    ['toArray', () => [1].values().toArray()],
    ['iterator subclass', () => { const Sub = class extends Iterator { next() { return { done: true }; } }; return [Sub, new Sub()]; }],
    // Promises.
    ['new Promise', () => new Promise((resolve, reject) => { captured.push(resolve, reject); })],
    ['resolve function', () => captured[captured.length - 2]],
    ['Promise.resolve', () => Promise.resolve(1)],
    ['Promise.reject', () => { const p = Promise.reject(1); p.catch(() => {}); return p; }],
    ['Promise.withResolvers', () => Promise.withResolvers()],
    ['Promise.all', () => Promise.all([1])],
    ['Promise.allSettled', () => Promise.allSettled([1])],
    ['Promise.any', () => Promise.any([1])],
    ['Promise.race', () => Promise.race([1])],
    ['Promise.try', () => Promise.try(() => 1)],
    ['then', () => Promise.resolve().then(() => 1)],
    ['finally', () => Promise.resolve().finally(() => 1)],
    ['thenable job', () => Promise.resolve({ then(resolve) { captured.push(resolve); resolve(1); } })],
    // Functions and arguments.
    ['strict arguments', () => (function () { 'use strict'; return arguments; })()],
    ['sloppy arguments', () => sloppyFunction()],
    ['function', () => function () {}],
    ['arrow', () => () => {}],
    ['class', () => class {}],
    ['derived class', () => class extends Array {}],
    ['method', () => ({ m() {} }).m],
    ['getter', () => Object.getOwnPropertyDescriptor({ get g() { return 1; } }, 'g')],
    ['bound function', () => function () {}.bind(null)],
    ['bound class', () => class {}.bind(null)],
    ['new Function', () => new Function('return 1')],
    ['indirect eval', () => (0, eval)('({ a: function () {} })')],
    ['Proxy.revocable', () => Proxy.revocable({}, {})],
    ['Proxy', () => new Proxy({}, {})],
    ['Proxy of a function', () => new Proxy(function () {}, {})],
    // Errors.
    ['Error', () => new Error('e')],
    ['EvalError', () => new EvalError('e')],
    ['RangeError', () => new RangeError('e')],
    ['ReferenceError', () => new ReferenceError('e')],
    ['SyntaxError', () => new SyntaxError('e')],
    ['TypeError', () => new TypeError('e')],
    ['URIError', () => new URIError('e')],
    ['InternalError', () => new InternalError('e')],
    ['AggregateError', () => new AggregateError([new Error('a')], 'e')],
    ['thrown TypeError', () => { try { null.x; } catch (error) { return error; } }],
    ['thrown SyntaxError', () => { try { JSON.parse('{'); } catch (error) { return error; } }],
    ['stack overflow', () => { const f = () => f(); try { f(); } catch (error) { return error; } }],
    // Collections, wrappers and other constructors.
    ['Map', () => new Map([[1, 2]])],
    ['Set', () => new Set([1])],
    ['WeakMap', () => new WeakMap()],
    ['WeakSet', () => new WeakSet()],
    ['WeakRef', () => new WeakRef({})],
    ['Date', () => new Date(0)],
    ['Date()', () => Date()],
    ['RegExp', () => new RegExp('a', 'dg')],
    ['RegExp exec', () => /(?<n>a)/d.exec('a')],
    ['String match', () => 'a'.match(/(?<n>a)/)],
    ['Object.groupBy', () => Object.groupBy([1], (x) => x)],
    ['Map.groupBy', () => Map.groupBy([1], (x) => x)],
    ['Object.create(null)', () => Object.create(null)],
    ['Object(1)', () => Object(1)],
    ['Object("s")', () => Object('s')],
    ['Object(true)', () => Object(true)],
    ['Object(Symbol())', () => Object(Symbol('s'))],
    ['Object(1n)', () => Object(1n)],
    ['JSON.parse', () => JSON.parse('{"a":[1]}')],
    // A tagged template (written through Function: the walker is itself a template literal).
    ['template object', () => Function('return ((strings) => strings)\x60a${1}b\x60')()],
    ['Array.from', () => Array.from({ length: 1 })],
    ['Symbol.prototype description', () => Object.getOwnPropertyDescriptor(Symbol.prototype, 'description')],
    // Buffers and views.
    ['ArrayBuffer', () => new ArrayBuffer(8)],
    ['ArrayBuffer slice', () => new ArrayBuffer(8).slice(0)],
    ['DataView', () => new DataView(new ArrayBuffer(8))],
    ['Int8Array', () => new Int8Array(1)],
    ['Uint8Array', () => new Uint8Array(1)],
    ['Uint8ClampedArray', () => new Uint8ClampedArray(1)],
    ['Int16Array', () => new Int16Array(1)],
    ['Uint16Array', () => new Uint16Array(1)],
    ['Int32Array', () => new Int32Array(1)],
    ['Uint32Array', () => new Uint32Array(1)],
    ['BigInt64Array', () => new BigInt64Array(1)],
    ['BigUint64Array', () => new BigUint64Array(1)],
    ['Float16Array', () => new Float16Array(1)],
    ['Float32Array', () => new Float32Array(1)],
    ['Float64Array', () => new Float64Array(1)],
    ['subarray', () => new Uint8Array(4).subarray(1)],
    ['typed array iterator', () => new Uint8Array(1).values()],
    ['typed array buffer', () => new Uint8Array(1).buffer],
    // The sandbox's own globals.
    ['URL', () => new URL('http://example.test/a?b=c')],
    ['URL searchParams', () => new URL('http://example.test/?a=b').searchParams],
    ['URLSearchParams', () => new URLSearchParams('a=b')],
    ['URLSearchParams entries', () => new URLSearchParams('a=b').entries()],
    ['URLSearchParams keys', () => new URLSearchParams('a=b').keys()],
    ['URLSearchParams values', () => new URLSearchParams('a=b').values()],
    ['Headers', () => new Headers({ a: 'b' })],
    ['Headers entries', () => new Headers({ a: 'b' }).entries()],
    ['Headers keys', () => new Headers({ a: 'b' }).keys()],
    ['Headers values', () => new Headers({ a: 'b' }).values()],
    ['Response', () => new Response('x')],
    ['Response.json', () => Response.json({ a: 1 })],
    ['Response text', () => new Response('x').text()],
    ['Response bytes', () => new Response('x').bytes()],
    ['Response clone', () => new Response('x').clone()],
    ['TextEncoder', () => new TextEncoder()],
    ['TextEncoder encode', () => new TextEncoder().encode('x')],
    ['TextEncoder encodeInto', () => new TextEncoder().encodeInto('x', new Uint8Array(4))],
    ['TextDecoder', () => new TextDecoder()],
    ['AbortController', () => new AbortController()],
    ['AbortController signal', () => new AbortController().signal],
    ['AbortSignal.abort', () => AbortSignal.abort()],
    ['AbortSignal.abort reason', () => AbortSignal.abort().reason],
    ['AbortSignal.any', () => AbortSignal.any([])],
    ['Event', () => new Event('x')],
    ['EventTarget', () => new EventTarget()],
    ['DOMException', () => new DOMException('m', 'AbortError')],
    ['structuredClone', () => structuredClone({ a: [new Date(0), /a/, new Map(), new Set(), new Uint8Array(1)] })],
    ['fetch (denied)', () => { const p = fetch('http://example.test/'); p.catch(() => {}); return p; }],
    ['fetch denial', async () => { try { await fetch('http://example.test/'); } catch (error) { return error; } }],
    ['setTimeout id', () => { const id = setTimeout(() => {}, 1); clearTimeout(id); return id; }],
    ['Math.random', () => Math.random()],
  ];

  const shared = new Map(); // object -> name
  const fresh = new Set();
  const queue = [];
  const isObject = (value) => (typeof value === 'object' && value !== null) || typeof value === 'function';
  const keyName = (key) => (typeof key === 'symbol' ? '[' + String(key.description) + ']' : '.' + key);
  const share = (value, name) => {
    if (!isObject(value) || shared.has(value) || fresh.has(value)) return;
    shared.set(value, name);
    queue.push(value);
  };
  const drainShared = () => {
    while (queue.length > 0) {
      const value = queue.shift();
      const name = shared.get(value);
      share(Object.getPrototypeOf(value), name + '.__proto__');
      for (const key of Reflect.ownKeys(value)) {
        const descriptor = Reflect.getOwnPropertyDescriptor(value, key);
        if ('value' in descriptor) share(descriptor.value, name + keyName(key));
        else {
          share(descriptor.get, name + keyName(key) + '<get>');
          share(descriptor.set, name + keyName(key) + '<set>');
        }
      }
    }
  };
  share(realGlobal, 'globalThis');
  drainShared();

  const failedProducers = [];
  const produced = [];
  for (const [label, produce] of producers) {
    let value;
    try {
      value = produce();
      if (isObject(value) && typeof value.then === 'function') value.then(() => {}, () => {});
    } catch (error) {
      failedProducers.push(label + ': ' + String(error));
      continue;
    }
    produced.push(label);
    // The produced object and what hangs off it are new; their prototypes are shared (unless
    // new as well, like a generator function's own prototype object).
    const found = [];
    const pending = [[value, label]];
    while (pending.length > 0) {
      const [item, name] = pending.shift();
      if (!isObject(item) || shared.has(item) || fresh.has(item)) continue;
      fresh.add(item);
      found.push([item, name]);
      for (const key of Reflect.ownKeys(item)) {
        const descriptor = Reflect.getOwnPropertyDescriptor(item, key);
        if ('value' in descriptor) pending.push([descriptor.value, name + keyName(key)]);
        else pending.push([descriptor.get, name + keyName(key) + '<get>'], [descriptor.set, name + keyName(key) + '<set>']);
      }
    }
    for (const [item, name] of found) share(Object.getPrototypeOf(item), name + '.__proto__');
    drainShared();
  }

  const unfrozen = [];
  const shapes = {};
  for (const [value, name] of shared) {
    if (!Object.isFrozen(value)) unfrozen.push(name);
    const keys = Reflect.ownKeys(value).map((key) => (typeof key === 'symbol' ? '[' + String(key.description) + ']' : key));
    const plain = typeof value === 'function' && keys.every((key) => key === 'length' || key === 'name');
    if (!plain) shapes[name] = keys.sort().join(' ');
  }
  return { unfrozen, shapes, produced: produced.length, failedProducers, freshCount: fresh.size, sharedCount: shared.size };
}
`;

interface WalkReport {
  readonly unfrozen: string[];
  readonly shapes: Record<string, string>;
  readonly produced: number;
  readonly failedProducers: string[];
  readonly freshCount: number;
  readonly sharedCount: number;
}

describe('hardened realm intrinsics', () => {
  let sandbox: QuickJsSandbox;
  let report: WalkReport;

  beforeAll(async () => {
    sandbox = new QuickJsSandbox({ workers: 1, timeoutMs: 60_000, isolation: 'realm' });
    report = await sandbox.run<WalkReport>({ source: walker, entry: 'main' }, {});
  }, 90_000);

  afterAll(async () => {
    await sandbox.close();
  });

  it('calls every producer of a new kind of object', () => {
    expect(report.failedProducers).toEqual([]);
    expect(report.produced).toBeGreaterThanOrEqual(140);
  });

  it('leaves no shared object unfrozen (prototypes of everything produced, and all they reach)', () => {
    expect(report.unfrozen).toEqual([]);
    expect(report.sharedCount).toBeGreaterThan(500);
  });

  it('finds exactly the globals and intrinsic properties of the manifest', () => {
    const actualNames = Object.keys(report.shapes).sort();
    const expectedNames = Object.keys(intrinsicsManifest).sort();
    expect(actualNames.filter((name) => !(name in intrinsicsManifest))).toEqual([]);
    expect(expectedNames.filter((name) => !(name in report.shapes))).toEqual([]);
    for (const name of actualNames) expect(report.shapes[name], name).toBe(intrinsicsManifest[name]);
  });

  it("gives one call no way to leave data or a hook on Iterator.concat's prototype for the next", async () => {
    // Tool code is sloppy-mode script: writes to a frozen object are silently dropped.
    const writer = {
      source: `function main() {
        const proto = Object.getPrototypeOf(Iterator.concat());
        const next = proto.next;
        try { proto.secret = 'from call 1'; } catch (error) {}
        try { proto.next = function () { return { done: true, value: 'hooked' }; }; } catch (error) {}
        try { next.secret = 'from call 1'; } catch (error) {}
        try { Object.defineProperty(proto, 'secret', { value: 1 }); } catch (error) {}
        return [Object.isFrozen(proto), proto.secret === undefined, proto.next === next, next.secret === undefined];
      }`,
      entry: 'main',
    };
    const reader = {
      source: `function main() {
        const proto = Object.getPrototypeOf(Iterator.concat());
        return [proto.secret, proto.next.secret, [...Iterator.concat([1, 2])]];
      }`,
      entry: 'main',
    };
    expect(await sandbox.run(writer, {})).toEqual([true, true, true, true]);
    expect(await sandbox.run(reader, {})).toEqual([null, null, [1, 2]]);
  });

  it('keeps the removed globals out of the realm', () => {
    const globals = (intrinsicsManifest.globalThis ?? '').split(' ');
    for (const name of ['SharedArrayBuffer', 'Atomics', 'FinalizationRegistry'])
      expect(globals).not.toContain(name);
    expect(intrinsicsManifest['globalThis.ArrayBuffer.prototype']?.split(' ')).not.toContain('resize');
  });
});
