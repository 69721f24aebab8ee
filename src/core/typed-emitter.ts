import { EventEmitter } from 'eventemitter3';
import type { Logger } from './logger.ts';

/**
 * A map from event name to a listener that takes one payload object, e.g.
 * `{ 'tool:promoted': (event: ToolPromotedEvent) => void }`.
 */
export type EventMap<Events> = { [K in keyof Events]: (payload: never) => void };

type EventName<Events> = Extract<keyof Events, string>;
type AnyListener = (payload: unknown) => void;

/** Options of {@link TypedEmitter}. */
export interface TypedEmitterOptions {
  /**
   * Called when a listener throws or returns a promise that rejects. The error never reaches
   * the code that emitted the event.
   * @default reports to `logger.error` when a logger is given, otherwise the error is dropped
   */
  onListenerError?: (error: unknown, event: string) => void;
  /** Logger used by the default `onListenerError`. */
  logger?: Logger;
}

/**
 * A typed event emitter on eventemitter3 whose listeners cannot break the emitter.
 *
 * Each event carries one payload object. A listener that throws (or returns a promise that
 * rejects) is reported through `onListenerError` and the remaining listeners still run, so a
 * faulty subscriber never interrupts a tool call or an improvement.
 *
 * @example
 * ```ts
 * interface Events { 'tool:invoked': (event: { toolName: string }) => void }
 * const emitter = new TypedEmitter<Events>();
 * emitter.on('tool:invoked', ({ toolName }) => log(toolName));
 * emitter.emit('tool:invoked', { toolName: 'add' });
 * ```
 */
export class TypedEmitter<Events extends EventMap<Events>> {
  readonly #emitter = new EventEmitter();
  readonly #wrappers = new Map<string, WeakMap<AnyListener, AnyListener>>();
  readonly #onListenerError: (error: unknown, event: string) => void;

  constructor(options: TypedEmitterOptions = {}) {
    const logger = options.logger;
    this.#onListenerError =
      options.onListenerError ??
      ((error, event) => logger?.error?.(`a listener of "${event}" threw`, { error: String(error) }));
  }

  /** Subscribes `listener` to `event`. Returns `this` for chaining. */
  on<K extends EventName<Events>>(event: K, listener: Events[K]): this {
    this.#emitter.on(event, this.#wrap(event, listener as unknown as AnyListener));
    return this;
  }

  /** Subscribes `listener` to the next `event` only. */
  once<K extends EventName<Events>>(event: K, listener: Events[K]): this {
    this.#emitter.once(event, this.#wrap(event, listener as unknown as AnyListener));
    return this;
  }

  /** Removes `listener` from `event`, or every listener of `event` when none is given. */
  off<K extends EventName<Events>>(event: K, listener?: Events[K]): this {
    if (listener === undefined) {
      this.#emitter.removeAllListeners(event);
      this.#wrappers.delete(event);
    } else {
      const wrapper = this.#wrappers.get(event)?.get(listener as unknown as AnyListener);
      if (wrapper) this.#emitter.off(event, wrapper);
    }
    return this;
  }

  /** Number of listeners subscribed to `event`. */
  listenerCount(event: EventName<Events>): number {
    return this.#emitter.listenerCount(event);
  }

  /**
   * Emits `event` with its payload. Listeners run synchronously; one that fails is reported
   * through `onListenerError` and does not stop the others. Returns true when it had listeners.
   */
  emit<K extends EventName<Events>>(event: K, payload: Parameters<Events[K]>[0]): boolean {
    return this.#emitter.emit(event, payload);
  }

  #wrap(event: string, listener: AnyListener): AnyListener {
    let byListener = this.#wrappers.get(event);
    if (!byListener) {
      byListener = new WeakMap();
      this.#wrappers.set(event, byListener);
    }
    let wrapper = byListener.get(listener);
    if (!wrapper) {
      const report = (error: unknown) => {
        try {
          this.#onListenerError(error, event);
        } catch {
          // The reporter itself failed: swallowing is the only option that cannot break the emitter.
        }
      };
      wrapper = (payload: unknown) => {
        try {
          const result: unknown = (listener as (payload: unknown) => unknown)(payload);
          if (result instanceof Promise) result.then(undefined, report);
        } catch (error) {
          report(error);
        }
      };
      byListener.set(listener, wrapper);
    }
    return wrapper;
  }
}
