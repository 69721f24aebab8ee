/**
 * `Math.random` and `Date` of a call: a PRNG seeded per call (so no call can observe another's
 * sequence, and `deterministic` runs repeat exactly) and a `Date` whose clock can be pinned.
 */
import { state } from './call-state.ts';
import { defineProperty, imul } from './intrinsics.ts';

export let random0 = 0;
export let random1 = 0;
export let random2 = 0;
export let random3 = 1;
export function seedRandom(seed: number): void {
  let x = seed | 0;
  const next = () => {
    x = (x + 0x9e3779b9) | 0;
    let z = x;
    z = imul(z ^ (z >>> 16), 0x85ebca6b);
    z = imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) | 0;
  };
  random0 = next();
  random1 = next();
  random2 = next();
  random3 = next();
}
// sfc32: small, fast, and seeded per call so no call can observe another's sequence.
export function random(): number {
  const t = (((random0 + random1) | 0) + random3) | 0;
  random3 = (random3 + 1) | 0;
  random0 = random1 ^ (random1 >>> 9);
  random1 = (random2 + (random2 << 3)) | 0;
  random2 = (random2 << 21) | (random2 >>> 11);
  random2 = (random2 + t) | 0;
  return (t >>> 0) / 4294967296;
}

export function makeDate(OriginalDate: DateConstructor): (...args: unknown[]) => unknown {
  const now = () => (Number.isNaN(state.now) ? OriginalDate.now() : state.now);
  function PinnedDate(this: unknown, ...args: unknown[]): unknown {
    if (new.target === undefined) return new OriginalDate(now()).toString();
    return Reflect.construct(OriginalDate, args.length === 0 ? [now()] : args, new.target);
  }
  defineProperty(PinnedDate, 'length', { value: 7 });
  defineProperty(PinnedDate, 'name', { value: 'Date' });
  defineProperty(PinnedDate, 'prototype', { value: OriginalDate.prototype, writable: false });
  defineProperty(PinnedDate, 'now', { value: now, writable: true, configurable: true });
  defineProperty(PinnedDate, 'parse', { value: OriginalDate.parse, writable: true, configurable: true });
  defineProperty(PinnedDate, 'UTC', { value: OriginalDate.UTC, writable: true, configurable: true });
  defineProperty(OriginalDate.prototype, 'constructor', {
    value: PinnedDate,
    writable: true,
    configurable: true,
  });
  return PinnedDate;
}
