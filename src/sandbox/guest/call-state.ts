/**
 * State shared by the guest modules: the worker's bridge functions and the current call.
 *
 * Module-level on purpose: the guest bundle is evaluated once per QuickJS realm, so this module
 * scope is the per-realm closure that the single prelude function used to be, unreachable from
 * tool code. `createGuestControl` binds the host before any global is installed; `beginCall`
 * and `endCall` (control.ts) reset the call's fields.
 */
import type { GuestHost } from './guest-api.ts';
import { ownGlobal, type RealmGlobal } from './intrinsics.ts';

/** The realm a call runs in: its global object and that realm's own `JSON` and `Date`. */
export interface Realm {
  global: RealmGlobal;
  JSON: JSON;
  Date: DateConstructor;
}

/** A guest timer; the worker arms the host timer with the same id. */
export interface Timer {
  callback: (...args: unknown[]) => unknown;
  args: unknown[];
  interval: boolean;
  delay: number;
}

/** Per-call state; every field is reset when a call begins. */
export interface CallState {
  /** False between calls: the bridges then refuse or do nothing for what a tool left behind. */
  active: boolean;
  realm: Realm;
  /** The pinned clock of a deterministic call, NaN for real time. */
  now: number;
  timers: Map<number, Timer>;
  nextTimerId: number;
  nextFetchId: number;
  /** The failure recorded when a timer or microtask callback threw, if any. */
  fatal: string | undefined;
}

/** The current call. One object for the realm's lifetime; its fields change per call. */
export const state: CallState = {
  active: false,
  realm: { global: ownGlobal, JSON, Date },
  now: Number.NaN,
  timers: new Map(),
  nextTimerId: 0,
  nextFetchId: 0,
  fatal: undefined,
};

let boundHost: GuestHost | undefined;

/** Binds the worker's bridge functions; called once, by `createGuestControl`. */
export function bindHost(host: GuestHost): void {
  boundHost = host;
}

/** The worker's bridge functions. */
export function host(): GuestHost {
  if (boundHost === undefined) throw new TypeError('the guest bundle was used before createGuestControl');
  return boundHost;
}
