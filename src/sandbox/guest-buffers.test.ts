/**
 * Resizable and detachable buffers are gone from the guest (issue 12, part 1): every path that
 * could change the length of a live buffer is removed or refused, in both isolation modes.
 * Each reproducer follows the mechanism of the known QuickJS out-of-bounds bugs (a view that
 * tracks a buffer's length, then the buffer shrinks or is detached under it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuickJsSandbox } from './quickjs-sandbox.ts';
import type { SandboxIsolation } from './sandbox-options.ts';

/** Runs `body` (statements ending in a `return`) as a tool; thrown errors become `"Name: message"`. */
function probe(body: string): string {
  return `function main() { try { ${body} } catch (error) { return String(error && error.name) + ': ' + String(error && error.message); } }`;
}

const refusedOption = /^TypeError: Resizable ArrayBuffers \(the maxByteLength option\) are not available/;

const paths: { readonly name: string; readonly source: string; readonly expected: RegExp | unknown }[] = [
  {
    name: 'new ArrayBuffer(length, { maxByteLength }) is refused',
    source: probe('const buffer = new ArrayBuffer(8, { maxByteLength: 16 }); return [buffer.resizable];'),
    expected: refusedOption,
  },
  {
    name: 'a length-tracking view over a resizable buffer cannot be made, so it cannot be shrunk under',
    source: probe(`
      const buffer = new ArrayBuffer(64, { maxByteLength: 128 });
      const view = new Uint8Array(buffer);
      buffer.resize(0);
      return [view.length, view[10]];`),
    expected: refusedOption,
  },
  {
    name: 'a subclass cannot pass maxByteLength through super()',
    source: probe(`
      class Growing extends ArrayBuffer { constructor() { super(8, { maxByteLength: 64 }); } }
      return [new Growing().resizable];`),
    expected: refusedOption,
  },
  {
    name: 'the maxByteLength option is refused through Reflect.construct and a getter',
    source: probe(`
      let reads = 0;
      const options = { get maxByteLength() { reads += 1; return 32; } };
      try { Reflect.construct(ArrayBuffer, [8, options]); } catch (error) { return [reads, error.name]; }
      return 'constructed';`),
    expected: [1, 'TypeError'],
  },
  {
    name: 'ArrayBuffer.prototype.resize is gone',
    source: probe(`
      const buffer = new ArrayBuffer(8);
      return ['resize' in buffer, Object.getOwnPropertyNames(ArrayBuffer.prototype).includes('resize')];`),
    expected: [false, false],
  },
  {
    name: 'ArrayBuffer.prototype.transfer (detaches its source) is gone',
    source: probe(`
      const buffer = new ArrayBuffer(64);
      const view = new Uint8Array(buffer);
      if (typeof buffer.transfer === 'function') { buffer.transfer(0); return ['detached', view.length, view[10]]; }
      return ['transfer' in buffer, buffer.detached, view.length];`),
    expected: [false, false, 64],
  },
  {
    name: 'ArrayBuffer.prototype.transferToFixedLength (detaches its source) is gone',
    source: probe(`
      const buffer = new ArrayBuffer(64);
      const view = new DataView(buffer);
      if (typeof buffer.transferToFixedLength === 'function') { buffer.transferToFixedLength(); return ['detached', view.getUint8(10)]; }
      return ['transferToFixedLength' in buffer, buffer.detached, view.byteLength];`),
    expected: [false, false, 64],
  },
  {
    name: 'SharedArrayBuffer (and its grow) is gone',
    source: probe(`
      return [typeof SharedArrayBuffer, 'SharedArrayBuffer' in globalThis, typeof globalThis.SharedArrayBuffer];`),
    expected: ['undefined', false, 'undefined'],
  },
  {
    name: 'Atomics is not offered',
    source: probe(`return [typeof Atomics, 'Atomics' in globalThis];`),
    expected: ['undefined', false],
  },
  {
    name: 'the original constructor is not reachable from a buffer, a view or the prototype',
    source: probe(`
      const fromBuffer = Object.getPrototypeOf(new Uint8Array(4).buffer).constructor;
      const fromPrototype = ArrayBuffer.prototype.constructor;
      const species = ArrayBuffer[Symbol.species];
      const results = [];
      for (const Ctor of [fromBuffer, fromPrototype, species]) {
        try { new Ctor(4, { maxByteLength: 8 }); results.push('resizable'); } catch (error) { results.push(error.name); }
      }
      return results;`),
    expected: ['TypeError', 'TypeError', 'TypeError'],
  },
  {
    name: 'slice through a species constructor cannot produce a resizable buffer',
    source: probe(`
      class Tricky extends ArrayBuffer {
        static get [Symbol.species]() { return function (length) { return new ArrayBuffer(length, { maxByteLength: 1024 }); }; }
      }
      const copy = new Tricky(16).slice(0, 8);
      return [copy.resizable, copy.byteLength];`),
    expected: refusedOption,
  },
  {
    name: 'structuredClone refuses to transfer (detach) a buffer',
    source: probe(`
      const buffer = new ArrayBuffer(64);
      const view = new Uint8Array(buffer);
      try { structuredClone(buffer, { transfer: [buffer] }); } catch (error) {
        return [error.name, buffer.detached, view.length, structuredClone(buffer, { transfer: [] }).byteLength];
      }
      return ['transferred', buffer.detached, view.length];`),
    expected: ['DataCloneError', false, 64, 64],
  },
  {
    name: 'every buffer reports a fixed length',
    source: probe(`
      const buffers = [new ArrayBuffer(8), new ArrayBuffer(8, {}), new Uint8Array(5).buffer, new ArrayBuffer(4).slice(1), structuredClone(new ArrayBuffer(3)), new TextEncoder().encode('hé').buffer];
      return buffers.map((buffer) => [buffer.resizable, buffer.maxByteLength === buffer.byteLength, buffer.detached]);`),
    expected: Array.from({ length: 6 }, () => [false, true, false]),
  },
  {
    name: 'ordinary buffer code keeps working',
    source: probe(`
      const buffer = new ArrayBuffer(8);
      new DataView(buffer).setUint16(0, 513, true);
      class Mine extends ArrayBuffer {}
      const mine = new Mine(4);
      return [Array.from(new Uint8Array(buffer, 0, 2)), ArrayBuffer.isView(new Uint8Array(1)), buffer instanceof ArrayBuffer,
        mine instanceof Mine, mine.slice(1) instanceof Mine, ArrayBuffer.name, ArrayBuffer.length];`),
    expected: [[1, 2], true, true, true, true, 'ArrayBuffer', 1],
  },
];

describe.each<SandboxIsolation>(['realm', 'context'])(
  'resizable buffers removed (isolation: %s)',
  (isolation) => {
    let sandbox: QuickJsSandbox;

    beforeAll(async () => {
      sandbox = new QuickJsSandbox({ workers: 1, timeoutMs: 30_000, isolation });
      await sandbox.warmup();
    });

    afterAll(async () => {
      await sandbox.close();
    });

    for (const path of paths) {
      it(path.name, async () => {
        const result = await sandbox.run({ source: path.source, entry: 'main' }, {});
        if (path.expected instanceof RegExp) expect(result).toMatch(path.expected);
        else expect(result).toEqual(path.expected);
      });
    }
  },
);
