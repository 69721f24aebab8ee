/**
 * Timers bridged to the worker's event loop: the guest keeps the callbacks, the worker arms one
 * host timer per id and calls `fireTimer` back. Timers belong to the call that armed them and
 * stop firing when it ends.
 *
 * Not promised to tools (generation-prompt.ts promises setTimeout/clearTimeout): `setInterval`,
 * `clearInterval` and `queueMicrotask`. They are kept because existing tools and tests use them
 * (a leaked interval must not outlive its call) and the intrinsics manifest pins them.
 */
import { host, state, type Timer } from './call-state.ts';
import { denied } from './errors.ts';
import { apply } from './intrinsics.ts';
import { recordFatal } from './outcomes.ts';

export const maxPendingTimers = 10_000;

export function toDelay(delay: unknown): number {
  const number = Number(delay);
  return number > 0 && number < 2147483647 ? Math.floor(number) : 0;
}

export function addTimer(callback: unknown, delay: unknown, args: unknown[], interval: boolean): number {
  if (typeof callback !== 'function') {
    throw new TypeError(`The "callback" argument must be a function; received ${typeof callback}`);
  }
  if (!state.active) return 0;
  if (state.timers.size >= maxPendingTimers) {
    throw denied(
      `A call may have at most ${maxPendingTimers} pending timers; clear timers it no longer needs.`,
    );
  }
  const id = ++state.nextTimerId;
  const timer: Timer = { callback: callback as Timer['callback'], args, interval, delay: toDelay(delay) };
  state.timers.set(id, timer);
  host().setTimer(id, timer.delay);
  return id;
}

export function removeTimer(id: unknown): void {
  const key = Number(id);
  if (state.timers.delete(key)) host().clearTimer(key);
}

export function setTimeout(callback: unknown, delay?: unknown, ...args: unknown[]): number {
  return addTimer(callback, delay, args, false);
}
export function setInterval(callback: unknown, delay?: unknown, ...args: unknown[]): number {
  return addTimer(callback, delay, args, true);
}
export function clearTimeout(id?: unknown): void {
  removeTimer(id);
}
export function clearInterval(id?: unknown): void {
  removeTimer(id);
}

export function queueMicrotask(callback: unknown): void {
  if (typeof callback !== 'function') {
    throw new TypeError(`The "callback" argument must be a function; received ${typeof callback}`);
  }
  Promise.resolve().then(() => {
    try {
      (callback as () => void)();
    } catch (error) {
      recordFatal(error, 'a queueMicrotask callback');
    }
  });
}

export function fireTimer(id: number): void {
  const timer = state.timers.get(id);
  if (timer === undefined || !state.active) return;
  if (timer.interval) host().setTimer(id, timer.delay);
  else state.timers.delete(id);
  try {
    apply(timer.callback, undefined, timer.args);
  } catch (error) {
    recordFatal(error, 'a timer callback');
  }
}
