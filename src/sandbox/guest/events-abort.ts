/**
 * `AbortController` and `AbortSignal` (promised to tools), on a minimal `Event` and
 * `EventTarget` (what `fetch`'s `signal` option needs to listen for `abort`).
 *
 * Not promised to tools: generic `EventTarget` dispatch (`new EventTarget()`, `dispatchEvent`,
 * `handleEvent` listener objects), `Event` as a global, and `AbortSignal.any`,
 * `AbortSignal.timeout` and `AbortSignal.abort`. Kept because tests and the intrinsics manifest
 * (the hardening check of every shared object) depend on them; new code should not rely on them.
 */
import { noop } from './console.ts';
import { DOMException } from './dom-exception.ts';
import { type PropertyBag, StringCtor } from './intrinsics.ts';
import { recordFatal } from './outcomes.ts';
import { setTimeout } from './timers.ts';

export let setEventTarget: (event: Event, target: unknown) => void = noop;
export class Event {
  #type: string;
  #target: unknown = null;
  #defaultPrevented = false;
  constructor(type: unknown) {
    this.#type = StringCtor(type);
  }
  get type(): string {
    return this.#type;
  }
  get target(): unknown {
    return this.#target;
  }
  get currentTarget(): unknown {
    return this.#target;
  }
  get defaultPrevented(): boolean {
    return this.#defaultPrevented;
  }
  preventDefault(): void {
    this.#defaultPrevented = true;
  }
  stopPropagation(): void {}
  stopImmediatePropagation(): void {}
  static {
    setEventTarget = (event: Event, target: unknown) => {
      event.#target = target;
    };
  }
}

export interface Listener {
  listener: unknown;
  once: boolean;
}
/**
 * A listener as `dispatchEvent` calls it: a function, or else anything, whose `handleEvent` is
 * called when it is a function.
 */
export type ListenerValue = ((this: EventTarget, event: Event) => unknown) | { handleEvent?: unknown };
export class EventTarget {
  #listeners = new Map<string, Listener[]>();
  addEventListener(type: unknown, listener: unknown, options?: unknown): void {
    if (listener === null || listener === undefined) return;
    const key = StringCtor(type);
    const list = this.#listeners.get(key) ?? [];
    if (list.some((entry) => entry.listener === listener)) return;
    const once = typeof options === 'object' && options !== null && Boolean((options as PropertyBag).once);
    list.push({ listener, once });
    this.#listeners.set(key, list);
  }
  removeEventListener(type: unknown, listener: unknown): void {
    const list = this.#listeners.get(StringCtor(type));
    if (!list) return;
    const index = list.findIndex((entry) => entry.listener === listener);
    if (index >= 0) list.splice(index, 1);
  }
  dispatchEvent(event: Event): boolean {
    setEventTarget(event, this);
    const list = [...(this.#listeners.get(event.type) ?? [])];
    for (const entry of list) {
      if (entry.once) this.removeEventListener(event.type, entry.listener);
      try {
        const listener = entry.listener as ListenerValue;
        if (typeof listener === 'function') listener.call(this, event);
        else if (listener && typeof listener.handleEvent === 'function') listener.handleEvent(event);
      } catch (error) {
        recordFatal(error, `an "${event.type}" event listener`);
      }
    }
    return !event.defaultPrevented;
  }
}

export const signalToken = {};
export let abortSignal: (signal: AbortSignal, reason: unknown) => void = noop;
export class AbortSignal extends EventTarget {
  #aborted = false;
  #reason: unknown;
  onabort: unknown = null;
  constructor(token?: unknown) {
    super();
    if (token !== signalToken) throw new TypeError('Illegal constructor');
  }
  get aborted(): boolean {
    return this.#aborted;
  }
  get reason(): unknown {
    return this.#reason;
  }
  throwIfAborted(): void {
    if (this.#aborted) throw this.#reason;
  }
  static abort(reason?: unknown): AbortSignal {
    const signal = new AbortSignal(signalToken);
    abortSignal(signal, reason);
    return signal;
  }
  static timeout(delay: unknown): AbortSignal {
    const signal = new AbortSignal(signalToken);
    setTimeout(
      () => abortSignal(signal, new DOMException('The operation timed out.', 'TimeoutError')),
      delay,
    );
    return signal;
  }
  static any(signals: Iterable<AbortSignal>): AbortSignal {
    const combined = new AbortSignal(signalToken);
    for (const signal of signals) {
      if (signal.aborted) {
        abortSignal(combined, signal.reason);
        break;
      }
      signal.addEventListener('abort', () => abortSignal(combined, signal.reason), { once: true });
    }
    return combined;
  }
  static {
    abortSignal = (signal: AbortSignal, reason: unknown) => {
      if (signal.#aborted) return;
      signal.#aborted = true;
      signal.#reason =
        reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
      const event = new Event('abort');
      const handler = signal.onabort;
      if (typeof handler === 'function') {
        try {
          handler.call(signal, event);
        } catch (error) {
          recordFatal(error, 'an onabort handler');
        }
      }
      signal.dispatchEvent(event);
    };
  }
}

export class AbortController {
  #signal = new AbortSignal(signalToken);
  get signal(): AbortSignal {
    return this.#signal;
  }
  abort(reason?: unknown): void {
    abortSignal(this.#signal, reason);
  }
}
