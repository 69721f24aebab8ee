// biome-ignore-all lint/suspicious/noExplicitAny: guest code (below) handles arbitrary tool values
/**
 * The guest side of the sandbox: JavaScript that runs INSIDE QuickJS.
 *
 * {@link guestPrelude} is never called on the host. Its source text ({@link guestPreludeSource})
 * is evaluated in a fresh QuickJS context, called once with the host bridge functions, and
 * returns the privileged {@link GuestControl} handle that only the host holds. It installs the
 * globals a tool may use (fetch, timers, console, URL, URLSearchParams, TextEncoder/Decoder,
 * structuredClone, AbortController, …) and can freeze ("harden") the realm.
 *
 * Rules for the code below: it must be self-contained (no imports, no references to anything
 * outside the function body), and it only talks to the host through `host`.
 */

/** Functions the host passes into the guest. Arguments and results are primitives or ArrayBuffers. */
export interface GuestHost {
  /** Records one console entry of the current call. */
  log(level: string, text: string): void;
  /** Arms host timer `id`; when it fires the host calls {@link GuestControl.fireTimer}. */
  setTimer(id: number, delayMs: number): void;
  /** Cancels host timer `id`. */
  clearTimer(id: number): void;
  /**
   * Starts an HTTP request (a JSON-encoded request description). Resolves with
   * `[responseMetaJson, bodyBytes]`; rejects with `{ kind, name, message }`.
   */
  fetch(id: number, requestJson: string, body: ArrayBuffer | undefined): Promise<[string, ArrayBuffer]>;
  /** Aborts request `id` (the guest already rejected its promise). */
  abortFetch(id: number): void;
  /** UTF-8 bytes of `text` (lone surrogates become U+FFFD). */
  encodeUtf8(text: string): ArrayBuffer;
  /** Text of UTF-8 `bytes`; throws on malformed input when `fatal`. */
  decodeUtf8(bytes: ArrayBuffer, fatal: boolean, ignoreBom: boolean): string;
  /** WHATWG URL parsing; returns the URL's components as JSON or throws. */
  parseUrl(input: string, base: string | undefined): string;
  /** Sets one component of `href`; returns the new components as JSON. */
  updateUrl(href: string, component: string, value: string): string;
  /** application/x-www-form-urlencoded parsing; returns `[[name, value], ...]` as JSON. */
  parseQuery(query: string): string;
  /** application/x-www-form-urlencoded serialisation of a JSON `[[name, value], ...]` list. */
  serializeQuery(pairsJson: string): string;
  /** The value of secret `name` granted to the current call; throws when it was not granted. */
  secret(name: string): string;
}

/** The privileged handle returned by the prelude; only the host holds it. */
export interface GuestControl {
  /** Installs the sandbox globals on `target` (this realm's or another context's global). */
  install(target: object): void;
  /** Freezes every object reachable from this realm's globals; returns how many were frozen. */
  harden(): number;
  /** Starts a call: fresh per-call state, clock pinned to `now` (NaN = real time), seeded PRNG. */
  beginCall(seed: number, now: number, target: object): void;
  /**
   * Instantiates the tool (`factory(globalView)` returns `[entry]`), calls it with the parsed
   * input and serialises the result. Returns an outcome string, or a promise of one: `R<json>`
   * for a result, `E<json>` for a failure `{ code, name, message, stack? }`.
   */
  runCall(
    factory: (globalView: object) => [unknown],
    entry: string,
    inputJson: string,
    maxOutputChars: number,
    shadowGlobal: boolean,
  ): string | Promise<string>;
  /** Runs timer `id`'s callback. */
  fireTimer(id: number): void;
  /** The failure outcome recorded when a timer or microtask callback threw, if any. */
  takeFatal(): string | undefined;
  /** Ends the call: the bridges stop working for whatever the tool left behind. */
  endCall(): void;
}

/**
 * The prelude itself. Runs inside QuickJS only; see the file comment.
 * @internal
 */
export function guestPrelude(host: GuestHost): GuestControl {
  const ObjectCtor = Object;
  const {
    defineProperty,
    defineProperties,
    freeze,
    getOwnPropertyDescriptor,
    getPrototypeOf,
    keys: objectKeys,
  } = Object;
  const { apply, construct, ownKeys } = Reflect;
  const objectToString = Object.prototype.toString;
  const hasOwn = Object.hasOwn;
  const jsonStringify = JSON.stringify;
  const jsonParse = JSON.parse;
  const isArray = Array.isArray;
  const isView = ArrayBuffer.isView;
  const imul = Math.imul;
  const StringCtor = String;
  const maxMessageChars = 2000;
  const maxLogEntryChars = 8192;
  const maxPendingTimers = 10_000;
  /** Keep equal to `MAX_VALUE_DEPTH` in value-depth.ts (the host checks the same limit). */
  const MAX_VALUE_DEPTH = 1000;
  const ownGlobal: any = globalThis;

  interface Realm {
    global: any;
    JSON: JSON;
    Date: any;
  }
  interface Timer {
    callback: (...args: unknown[]) => unknown;
    args: unknown[];
    interval: boolean;
    delay: number;
  }
  interface CallState {
    active: boolean;
    realm: Realm;
    now: number;
    timers: Map<number, Timer>;
    nextTimerId: number;
    nextFetchId: number;
    fatal: string | undefined;
  }

  let state: CallState = {
    active: false,
    realm: { global: ownGlobal, JSON, Date },
    now: Number.NaN,
    timers: new Map(),
    nextTimerId: 0,
    nextFetchId: 0,
    fatal: undefined,
  };

  // --- outcomes ---------------------------------------------------------------------------

  function truncate(text: string, max: number): string {
    return text.length > max ? `${text.slice(0, max - 1)}…` : text;
  }

  interface Failure {
    code: string;
    name: string;
    message: string;
    stack?: string;
  }

  function fail(code: string, name: string, message: string, stack?: string): string {
    const failure: Failure = { code, name, message: truncate(message, maxMessageChars) };
    if (stack) failure.stack = truncate(stack, 4000);
    return `E${jsonStringify(failure)}`;
  }

  function encodeFailure(failure: Failure): string {
    return fail(failure.code, failure.name, failure.message, failure.stack);
  }

  function isErrorObject(value: unknown): boolean {
    return (
      typeof value === 'object' && value !== null && apply(objectToString, value, []) === '[object Error]'
    );
  }

  const deniedErrors = new WeakMap<object, string>();

  /** Describes a thrown value without trusting it (its getters run here, under the deadline). */
  function describeThrown(thrown: unknown, fallbackCode: string): Failure {
    try {
      if (typeof thrown === 'object' && thrown !== null && deniedErrors.has(thrown)) {
        return {
          code: 'CAPABILITY_DENIED',
          name: 'CapabilityDeniedError',
          message: deniedErrors.get(thrown) as string,
        };
      }
      if (isErrorObject(thrown)) {
        const error = thrown as any;
        const name = safeText(error.name) || 'Error';
        const message = safeText(error.message);
        if (name === 'InternalError' && message === 'stack overflow') return { code: 'STACK', name, message };
        if (name === 'InternalError' && (message === 'out of memory' || message === 'string too long')) {
          return { code: 'MEMORY', name, message };
        }
        return { code: fallbackCode, name, message, stack: safeText(error.stack) };
      }
      return {
        code: fallbackCode,
        name: 'NonError',
        message: `a non-Error value was thrown: ${formatValue(thrown, 1, [])}`,
      };
    } catch (inner) {
      if (isErrorObject(inner)) {
        const innerError = inner as any;
        if (innerError.name === 'InternalError' && innerError.message === 'out of memory') {
          return { code: 'MEMORY', name: 'InternalError', message: 'out of memory' };
        }
      }
      return {
        code: fallbackCode,
        name: 'Error',
        message: 'the tool threw a value that could not be described',
      };
    }
  }

  /**
   * Rethrows an engine failure (out of memory, stack overflow, interrupt: all InternalError)
   * that a bridge below caught while translating ordinary errors, so it is never turned into a
   * TypeError or a quiet `false`/`null`.
   */
  function rethrowInternal(error: unknown): void {
    if (isErrorObject(error) && (error as any).name === 'InternalError') throw error;
  }

  function failFromThrown(thrown: unknown, fallbackCode = 'TOOL_ERROR'): string {
    return encodeFailure(describeThrown(thrown, fallbackCode));
  }

  function safeText(value: unknown): string {
    if (value === undefined || value === null) return '';
    return truncate(typeof value === 'string' ? value : StringCtor(value), maxMessageChars * 2);
  }

  const depthExceeded = freeze({ depthExceeded: true });

  /**
   * A `JSON.stringify` replacer that only measures: each object's depth is its holder's plus
   * one (constant work per value), and nesting past `MAX_VALUE_DEPTH` stops the serialisation
   * early. QuickJS checks for cycles by scanning the chain of open objects, so serialising a
   * value of depth N costs about N²; the limit keeps that bounded and the refusal fast.
   */
  function depthLimiter(): (this: unknown, key: string, value: unknown) => unknown {
    const depths = new Map<unknown, number>();
    return function measure(this: unknown, _key: string, value: unknown): unknown {
      if (typeof value === 'object' && value !== null) {
        const depth = (depths.get(this) ?? 0) + 1;
        if (depth > MAX_VALUE_DEPTH) throw depthExceeded;
        depths.set(value, depth);
      }
      return value;
    };
  }

  function serialize(value: unknown, maxChars: number): string {
    let json: string | undefined;
    try {
      json = jsonStringify(value, depthLimiter());
    } catch (error) {
      if (error === depthExceeded) {
        return fail(
          'INVALID_OUTPUT',
          'RangeError',
          `the result is nested more than ${MAX_VALUE_DEPTH} levels deep (the sandbox's value depth limit, MAX_VALUE_DEPTH); return flatter data`,
        );
      }
      const failure = describeThrown(error, 'INVALID_OUTPUT');
      if (failure.code === 'INVALID_OUTPUT') {
        failure.message = `the result is not JSON-serialisable (${failure.name}: ${failure.message}); return plain data`;
        failure.stack = undefined;
      }
      return encodeFailure(failure);
    }
    if (json === undefined) {
      const kind = value === undefined ? 'undefined' : `a ${typeof value}`;
      return fail(
        'INVALID_OUTPUT',
        'TypeError',
        `the tool returned ${kind}, which is not JSON data; return an object, array, string, number, boolean or null`,
      );
    }
    if (json.length > maxChars) {
      return fail(
        'INVALID_OUTPUT',
        'RangeError',
        `the result is ${json.length} characters of JSON, more than maxOutputBytes (${maxChars}); return less data or raise maxOutputBytes`,
      );
    }
    return `R${json}`;
  }

  // --- formatting (console) ---------------------------------------------------------------

  function formatValue(value: unknown, depth: number, seen: unknown[]): string {
    switch (typeof value) {
      case 'string':
        return depth === 0 ? value : jsonStringify(value);
      case 'number':
        return ObjectCtor.is(value, -0) ? '-0' : StringCtor(value);
      case 'boolean':
      case 'undefined':
        return StringCtor(value);
      case 'bigint':
        return `${value}n`;
      case 'symbol':
        return value.toString();
      case 'function':
        return `[Function: ${(value as any).name || 'anonymous'}]`;
    }
    if (value === null) return 'null';
    if (seen.includes(value)) return '[Circular]';
    if (isErrorObject(value)) {
      const error = value as any;
      const head = `${safeText(error.name) || 'Error'}: ${safeText(error.message)}`;
      return depth === 0 && error.stack ? `${head}\n${safeText(error.stack)}` : head;
    }
    const tag = apply(objectToString, value, []);
    if (tag === '[object Date]') {
      const time = (value as Date).getTime();
      return Number.isNaN(time) ? 'Invalid Date' : new Date(time).toISOString();
    }
    if (depth > 2) return isArray(value) ? '[Array]' : '[Object]';
    seen.push(value);
    try {
      if (isArray(value)) {
        const items = value.slice(0, 50).map((item) => formatValue(item, depth + 1, seen));
        if (value.length > 50) items.push(`... ${value.length - 50} more items`);
        return `[ ${items.join(', ')} ]`;
      }
      if (tag === '[object Map]') {
        const entries: string[] = [];
        for (const [key, item] of value as Map<unknown, unknown>) {
          if (entries.length >= 50) break;
          entries.push(`${formatValue(key, depth + 1, seen)} => ${formatValue(item, depth + 1, seen)}`);
        }
        return `Map(${(value as Map<unknown, unknown>).size}) { ${entries.join(', ')} }`;
      }
      if (tag === '[object Set]') {
        const entries: string[] = [];
        for (const item of value as Set<unknown>) {
          if (entries.length >= 50) break;
          entries.push(formatValue(item, depth + 1, seen));
        }
        return `Set(${(value as Set<unknown>).size}) { ${entries.join(', ')} }`;
      }
      const names = objectKeys(value as object);
      const fields = names
        .slice(0, 50)
        .map(
          (name) =>
            `${/^[A-Za-z_$][\w$]*$/.test(name) ? name : jsonStringify(name)}: ${formatValue((value as any)[name], depth + 1, seen)}`,
        );
      if (names.length > 50) fields.push(`... ${names.length - 50} more keys`);
      return fields.length === 0 ? '{}' : `{ ${fields.join(', ')} }`;
    } finally {
      seen.pop();
    }
  }

  function formatArgs(args: unknown[]): string {
    let rest = args;
    let head = '';
    if (typeof args[0] === 'string' && args[0].includes('%') && args.length > 1) {
      let index = 1;
      head = args[0].replace(/%([sdifoOjc%])/g, (match, kind: string) => {
        if (kind === '%') return '%';
        if (index >= args.length) return match;
        const arg = args[index++];
        switch (kind) {
          case 's':
            return typeof arg === 'string' ? arg : formatValue(arg, 1, []);
          case 'd':
          case 'i': {
            const number = typeof arg === 'bigint' ? arg : Number(arg);
            return kind === 'i' && typeof number === 'number'
              ? StringCtor(Math.trunc(number))
              : StringCtor(number);
          }
          case 'f':
            return StringCtor(Number(arg));
          case 'c':
            return '';
          default:
            return formatValue(arg, 1, []);
        }
      });
      rest = args.slice(index);
    }
    const parts = rest.map((arg) => formatValue(arg, 0, []));
    const text = head === '' ? parts.join(' ') : [head, ...parts].join(' ');
    return truncate(text, maxLogEntryChars);
  }

  function emit(level: string, args: unknown[]): void {
    if (!state.active) return;
    let text: string;
    try {
      text = formatArgs(args);
    } catch {
      text = '[a value that could not be formatted]';
    }
    host.log(level, text);
  }

  const noop = () => undefined;
  const consoleObject = {
    log: (...args: unknown[]) => emit('log', args),
    info: (...args: unknown[]) => emit('info', args),
    warn: (...args: unknown[]) => emit('warn', args),
    error: (...args: unknown[]) => emit('error', args),
    debug: (...args: unknown[]) => emit('debug', args),
    trace: (...args: unknown[]) => emit('debug', args),
    dir: (value: unknown) => emit('log', [value]),
    table: (value: unknown) => emit('log', [value]),
    assert: (condition: unknown, ...args: unknown[]) => {
      if (!condition) emit('error', ['Assertion failed', ...args]);
    },
    group: noop,
    groupCollapsed: noop,
    groupEnd: noop,
    time: noop,
    timeEnd: noop,
    timeLog: noop,
    count: noop,
    countReset: noop,
  };

  // --- random and time --------------------------------------------------------------------

  let random0 = 0;
  let random1 = 0;
  let random2 = 0;
  let random3 = 1;
  function seedRandom(seed: number): void {
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
  function random(): number {
    const t = (((random0 + random1) | 0) + random3) | 0;
    random3 = (random3 + 1) | 0;
    random0 = random1 ^ (random1 >>> 9);
    random1 = (random2 + (random2 << 3)) | 0;
    random2 = (random2 << 21) | (random2 >>> 11);
    random2 = (random2 + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  function makeDate(OriginalDate: any): any {
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

  // --- timers -----------------------------------------------------------------------------

  function toDelay(delay: unknown): number {
    const number = Number(delay);
    return number > 0 && number < 2147483647 ? Math.floor(number) : 0;
  }

  function addTimer(callback: unknown, delay: unknown, args: unknown[], interval: boolean): number {
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
    host.setTimer(id, timer.delay);
    return id;
  }

  function removeTimer(id: unknown): void {
    const key = Number(id);
    if (state.timers.delete(key)) host.clearTimer(key);
  }

  function setTimeout(callback: unknown, delay?: unknown, ...args: unknown[]): number {
    return addTimer(callback, delay, args, false);
  }
  function setInterval(callback: unknown, delay?: unknown, ...args: unknown[]): number {
    return addTimer(callback, delay, args, true);
  }
  function clearTimeout(id?: unknown): void {
    removeTimer(id);
  }
  function clearInterval(id?: unknown): void {
    removeTimer(id);
  }

  function recordFatal(error: unknown, where: string): void {
    if (state.fatal !== undefined || !state.active) return;
    const failure = describeThrown(error, 'TOOL_ERROR');
    if (failure.code === 'TOOL_ERROR') failure.message = `uncaught exception in ${where}: ${failure.message}`;
    state.fatal = encodeFailure(failure);
  }

  function queueMicrotask(callback: unknown): void {
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

  // --- DOMException, events, abort ----------------------------------------------------------

  const exceptionCodes: Record<string, number> = {
    IndexSizeError: 1,
    NotFoundError: 8,
    NotSupportedError: 9,
    InvalidStateError: 11,
    SyntaxError: 12,
    NetworkError: 19,
    AbortError: 20,
    TimeoutError: 23,
    DataCloneError: 25,
  };
  class DOMException extends Error {
    constructor(message?: unknown, name?: unknown) {
      super(message === undefined ? '' : StringCtor(message));
      defineProperty(this, 'name', {
        value: name === undefined ? 'Error' : StringCtor(name),
        writable: true,
        configurable: true,
      });
    }
    get code(): number {
      return exceptionCodes[this.name] ?? 0;
    }
  }

  let setEventTarget: (event: Event, target: unknown) => void = noop;
  class Event {
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

  interface Listener {
    listener: unknown;
    once: boolean;
  }
  class EventTarget {
    #listeners = new Map<string, Listener[]>();
    addEventListener(type: unknown, listener: unknown, options?: unknown): void {
      if (listener === null || listener === undefined) return;
      const key = StringCtor(type);
      const list = this.#listeners.get(key) ?? [];
      if (list.some((entry) => entry.listener === listener)) return;
      const once = typeof options === 'object' && options !== null && Boolean((options as any).once);
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
          const listener = entry.listener as any;
          if (typeof listener === 'function') listener.call(this, event);
          else if (listener && typeof listener.handleEvent === 'function') listener.handleEvent(event);
        } catch (error) {
          recordFatal(error, `an "${event.type}" event listener`);
        }
      }
      return !event.defaultPrevented;
    }
  }

  const signalToken = {};
  let abortSignal: (signal: AbortSignal, reason: unknown) => void = noop;
  class AbortSignal extends EventTarget {
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
        const handler = signal.onabort as any;
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

  class AbortController {
    #signal = new AbortSignal(signalToken);
    get signal(): AbortSignal {
      return this.#signal;
    }
    abort(reason?: unknown): void {
      abortSignal(this.#signal, reason);
    }
  }

  // --- bytes and text -----------------------------------------------------------------------

  function toArrayBuffer(input: unknown, what: string): ArrayBuffer {
    if (apply(objectToString, input, []) === '[object ArrayBuffer]') return input as ArrayBuffer;
    if (isView(input)) {
      const view = input as ArrayBufferView;
      const buffer = view.buffer as ArrayBuffer;
      if (view.byteOffset === 0 && view.byteLength === buffer.byteLength) return buffer;
      return buffer.slice(view.byteOffset, view.byteOffset + view.byteLength);
    }
    throw new TypeError(`${what} must be an ArrayBuffer or an ArrayBuffer view`);
  }

  class TextEncoder {
    get encoding(): string {
      return 'utf-8';
    }
    encode(input: unknown = ''): Uint8Array {
      // The calling realm's Uint8Array, so `instanceof Uint8Array` holds in a fresh context too.
      return new state.realm.global.Uint8Array(host.encodeUtf8(StringCtor(input)));
    }
    encodeInto(input: unknown, destination: Uint8Array): { read: number; written: number } {
      const text = StringCtor(input);
      let read = 0;
      let written = 0;
      for (const char of text) {
        const bytes = this.encode(char);
        if (written + bytes.length > destination.length) break;
        destination.set(bytes, written);
        written += bytes.length;
        read += char.length;
      }
      return { read, written };
    }
  }

  class TextDecoder {
    #fatal: boolean;
    #ignoreBom: boolean;
    constructor(label: unknown = 'utf-8', options?: unknown) {
      const normalized = StringCtor(label).trim().toLowerCase();
      if (normalized !== 'utf-8' && normalized !== 'utf8' && normalized !== 'unicode-1-1-utf-8') {
        throw new RangeError(`The "${StringCtor(label)}" encoding is not supported; only utf-8 is available`);
      }
      const settings = (typeof options === 'object' && options !== null ? options : {}) as any;
      this.#fatal = Boolean(settings.fatal);
      this.#ignoreBom = Boolean(settings.ignoreBOM);
    }
    get encoding(): string {
      return 'utf-8';
    }
    get fatal(): boolean {
      return this.#fatal;
    }
    get ignoreBOM(): boolean {
      return this.#ignoreBom;
    }
    decode(input?: unknown): string {
      if (input === undefined) return '';
      const buffer = toArrayBuffer(input, 'The "input" argument');
      try {
        return host.decodeUtf8(buffer, this.#fatal, this.#ignoreBom);
      } catch (error) {
        rethrowInternal(error);
        throw new TypeError('The encoded data was not valid for encoding utf-8');
      }
    }
  }

  const base64Alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  function btoa(input: unknown): string {
    const text = StringCtor(input);
    let output = '';
    for (let index = 0; index < text.length; index += 3) {
      const a = text.charCodeAt(index);
      const b = text.charCodeAt(index + 1);
      const c = text.charCodeAt(index + 2);
      if (a > 255 || b > 255 || c > 255) {
        throw new DOMException('Invalid character: btoa only accepts Latin-1 text', 'InvalidCharacterError');
      }
      const bits = (a << 16) | ((b || 0) << 8) | (c || 0);
      output += base64Alphabet.charAt((bits >> 18) & 63) + base64Alphabet.charAt((bits >> 12) & 63);
      output += index + 1 < text.length ? base64Alphabet.charAt((bits >> 6) & 63) : '=';
      output += index + 2 < text.length ? base64Alphabet.charAt(bits & 63) : '=';
    }
    return output;
  }
  function atob(input: unknown): string {
    let text = StringCtor(input).replace(/[\t\n\f\r ]/g, '');
    if (text.length % 4 === 0) text = text.replace(/==?$/, '');
    if (text.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(text)) {
      throw new DOMException('The string to be decoded is not correctly encoded.', 'InvalidCharacterError');
    }
    let output = '';
    let bits = 0;
    let count = 0;
    for (const char of text) {
      bits = (bits << 6) | base64Alphabet.indexOf(char);
      count += 6;
      if (count >= 8) {
        count -= 8;
        output += StringCtor.fromCharCode((bits >> count) & 255);
      }
    }
    return output;
  }

  // --- URL and URLSearchParams (parsed by the host's WHATWG implementation) ------------------

  interface UrlParts {
    href: string;
    origin: string;
    protocol: string;
    username: string;
    password: string;
    host: string;
    hostname: string;
    port: string;
    pathname: string;
    search: string;
    hash: string;
  }

  function parseUrl(input: unknown, base: unknown): UrlParts {
    const text = StringCtor(input);
    try {
      return jsonParse(host.parseUrl(text, base === undefined ? undefined : StringCtor(base)));
    } catch (error) {
      rethrowInternal(error);
      throw new TypeError(`Invalid URL: ${truncate(text, 200)}`);
    }
  }

  function parseQuery(text: string): [string, string][] {
    return jsonParse(host.parseQuery(text.startsWith('?') ? text.slice(1) : text));
  }

  let attachQuery: (params: URLSearchParams, list: [string, string][], onUpdate: () => void) => void = noop;
  class URLSearchParams {
    #list: [string, string][] = [];
    #onUpdate: (() => void) | undefined;
    constructor(init?: unknown) {
      if (init === undefined || init === null) return;
      if (typeof init === 'object' || typeof init === 'function') {
        const iterator = (init as any)[Symbol.iterator];
        if (typeof iterator === 'function') {
          for (const pair of init as Iterable<unknown>) {
            const items = [...(pair as Iterable<unknown>)];
            if (items.length !== 2)
              throw new TypeError('Each query pair must be an iterable [name, value] tuple');
            this.#list.push([StringCtor(items[0]), StringCtor(items[1])]);
          }
          return;
        }
        for (const name of objectKeys(init)) this.#list.push([name, StringCtor((init as any)[name])]);
        return;
      }
      this.#list = parseQuery(StringCtor(init));
    }
    get size(): number {
      return this.#list.length;
    }
    append(name: unknown, value: unknown): void {
      this.#list.push([StringCtor(name), StringCtor(value)]);
      this.#onUpdate?.();
    }
    delete(name: unknown, value?: unknown): void {
      const key = StringCtor(name);
      const match = value === undefined ? undefined : StringCtor(value);
      this.#list = this.#list.filter(
        ([entryName, entryValue]) => entryName !== key || (match !== undefined && entryValue !== match),
      );
      this.#onUpdate?.();
    }
    get(name: unknown): string | null {
      const key = StringCtor(name);
      const found = this.#list.find(([entryName]) => entryName === key);
      return found ? found[1] : null;
    }
    getAll(name: unknown): string[] {
      const key = StringCtor(name);
      return this.#list.filter(([entryName]) => entryName === key).map(([, value]) => value);
    }
    has(name: unknown, value?: unknown): boolean {
      const key = StringCtor(name);
      const match = value === undefined ? undefined : StringCtor(value);
      return this.#list.some(
        ([entryName, entryValue]) => entryName === key && (match === undefined || entryValue === match),
      );
    }
    set(name: unknown, value: unknown): void {
      const key = StringCtor(name);
      const index = this.#list.findIndex(([entryName]) => entryName === key);
      if (index < 0) {
        this.#list.push([key, StringCtor(value)]);
      } else {
        this.#list[index] = [key, StringCtor(value)];
        this.#list = this.#list.filter(([entryName], position) => entryName !== key || position === index);
      }
      this.#onUpdate?.();
    }
    sort(): void {
      this.#list = this.#list
        .map((pair, index) => ({ pair, index }))
        .sort((a, b) => (a.pair[0] < b.pair[0] ? -1 : a.pair[0] > b.pair[0] ? 1 : a.index - b.index))
        .map(({ pair }) => pair);
      this.#onUpdate?.();
    }
    forEach(
      callback: (value: string, name: string, params: URLSearchParams) => void,
      thisArg?: unknown,
    ): void {
      for (const [name, value] of [...this.#list]) callback.call(thisArg, value, name, this);
    }
    *entries(): IterableIterator<[string, string]> {
      for (const [name, value] of [...this.#list]) yield [name, value];
    }
    *keys(): IterableIterator<string> {
      for (const [name] of [...this.#list]) yield name;
    }
    *values(): IterableIterator<string> {
      for (const [, value] of [...this.#list]) yield value;
    }
    [Symbol.iterator](): IterableIterator<[string, string]> {
      return this.entries();
    }
    toString(): string {
      return host.serializeQuery(jsonStringify(this.#list));
    }
    static {
      attachQuery = (params, list, onUpdate) => {
        params.#list = list;
        params.#onUpdate = onUpdate;
      };
    }
  }

  class URL {
    #parts: UrlParts;
    #query: URLSearchParams;
    constructor(url: unknown, base?: unknown) {
      this.#parts = parseUrl(url, base);
      this.#query = new URLSearchParams();
      this.#attach();
    }
    #attach(): void {
      attachQuery(this.#query, parseQuery(this.#parts.search), () => {
        const search = this.#query.toString();
        this.#parts = jsonParse(host.updateUrl(this.#parts.href, 'search', search));
      });
    }
    #update(component: string, value: unknown): void {
      this.#parts = jsonParse(host.updateUrl(this.#parts.href, component, StringCtor(value)));
      if (component === 'search' || component === 'href') this.#attach();
    }
    get href(): string {
      return this.#parts.href;
    }
    set href(value: string) {
      this.#parts = parseUrl(value, undefined);
      this.#attach();
    }
    get origin(): string {
      return this.#parts.origin;
    }
    get protocol(): string {
      return this.#parts.protocol;
    }
    set protocol(value: string) {
      this.#update('protocol', value);
    }
    get username(): string {
      return this.#parts.username;
    }
    set username(value: string) {
      this.#update('username', value);
    }
    get password(): string {
      return this.#parts.password;
    }
    set password(value: string) {
      this.#update('password', value);
    }
    get host(): string {
      return this.#parts.host;
    }
    set host(value: string) {
      this.#update('host', value);
    }
    get hostname(): string {
      return this.#parts.hostname;
    }
    set hostname(value: string) {
      this.#update('hostname', value);
    }
    get port(): string {
      return this.#parts.port;
    }
    set port(value: string) {
      this.#update('port', value);
    }
    get pathname(): string {
      return this.#parts.pathname;
    }
    set pathname(value: string) {
      this.#update('pathname', value);
    }
    get search(): string {
      return this.#parts.search;
    }
    set search(value: string) {
      this.#update('search', value);
    }
    get hash(): string {
      return this.#parts.hash;
    }
    set hash(value: string) {
      this.#update('hash', value);
    }
    get searchParams(): URLSearchParams {
      return this.#query;
    }
    toString(): string {
      return this.#parts.href;
    }
    toJSON(): string {
      return this.#parts.href;
    }
    static canParse(url: unknown, base?: unknown): boolean {
      try {
        parseUrl(url, base);
        return true;
      } catch (error) {
        rethrowInternal(error);
        return false;
      }
    }
    static parse(url: unknown, base?: unknown): URL | null {
      try {
        return new URL(url, base);
      } catch (error) {
        rethrowInternal(error);
        return null;
      }
    }
  }

  // --- Headers, Response, fetch -------------------------------------------------------------

  const headerNamePattern = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
  function headerName(name: unknown): string {
    const text = StringCtor(name);
    if (!headerNamePattern.test(text)) throw new TypeError(`Invalid header name: ${jsonStringify(text)}`);
    return text.toLowerCase();
  }
  function headerValue(value: unknown): string {
    const text = StringCtor(value).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
    if (/[\0\r\n]/.test(text)) throw new TypeError('Invalid header value');
    return text;
  }

  class Headers {
    #map = new Map<string, string[]>();
    constructor(init?: unknown) {
      if (init === undefined || init === null) return;
      if (init instanceof Headers) {
        for (const [name, value] of init) this.append(name, value);
        return;
      }
      if (typeof init !== 'object')
        throw new TypeError('Headers must be an object, an array of pairs or Headers');
      if (typeof (init as any)[Symbol.iterator] === 'function') {
        for (const pair of init as Iterable<unknown>) {
          const items = [...(pair as Iterable<unknown>)];
          if (items.length !== 2) throw new TypeError('Each header must be a [name, value] pair');
          this.append(items[0], items[1]);
        }
        return;
      }
      for (const name of objectKeys(init)) this.append(name, (init as any)[name]);
    }
    append(name: unknown, value: unknown): void {
      const key = headerName(name);
      const list = this.#map.get(key);
      if (list) list.push(headerValue(value));
      else this.#map.set(key, [headerValue(value)]);
    }
    set(name: unknown, value: unknown): void {
      this.#map.set(headerName(name), [headerValue(value)]);
    }
    get(name: unknown): string | null {
      const list = this.#map.get(headerName(name));
      return list === undefined ? null : list.join(', ');
    }
    getSetCookie(): string[] {
      return [...(this.#map.get('set-cookie') ?? [])];
    }
    has(name: unknown): boolean {
      return this.#map.has(headerName(name));
    }
    delete(name: unknown): void {
      this.#map.delete(headerName(name));
    }
    forEach(callback: (value: string, name: string, headers: Headers) => void, thisArg?: unknown): void {
      for (const [name, value] of this.entries()) callback.call(thisArg, value, name, this);
    }
    *entries(): IterableIterator<[string, string]> {
      const names = [...this.#map.keys()].sort();
      for (const name of names) {
        const list = this.#map.get(name) ?? [];
        if (name === 'set-cookie') for (const value of list) yield [name, value];
        else yield [name, list.join(', ')];
      }
    }
    *keys(): IterableIterator<string> {
      for (const [name] of this.entries()) yield name;
    }
    *values(): IterableIterator<string> {
      for (const [, value] of this.entries()) yield value;
    }
    [Symbol.iterator](): IterableIterator<[string, string]> {
      return this.entries();
    }
  }

  function bodyBytes(body: unknown): ArrayBuffer | undefined {
    if (body === undefined || body === null) return undefined;
    if (typeof body === 'string') return host.encodeUtf8(body);
    if (body instanceof URLSearchParams) return host.encodeUtf8(body.toString());
    if (apply(objectToString, body, []) === '[object ArrayBuffer]' || isView(body)) {
      return toArrayBuffer(body, 'body').slice(0);
    }
    return host.encodeUtf8(StringCtor(body));
  }

  interface ResponseMeta {
    status: number;
    statusText: string;
    headers: [string, string][];
    url: string;
    redirected: boolean;
  }
  let createResponse: (meta: ResponseMeta, body: ArrayBuffer) => Response = () => {
    throw new TypeError('Response is not ready');
  };
  class Response {
    #status: number;
    #statusText: string;
    #headers: Headers;
    #body: ArrayBuffer | undefined;
    #used = false;
    #url = '';
    #redirected = false;
    constructor(body?: unknown, init?: unknown) {
      const settings = (typeof init === 'object' && init !== null ? init : {}) as any;
      const status = settings.status === undefined ? 200 : Number(settings.status);
      if (!Number.isInteger(status) || status < 200 || status > 599) {
        throw new RangeError(
          `Response status must be between 200 and 599; received ${StringCtor(settings.status)}`,
        );
      }
      this.#status = status;
      this.#statusText = settings.statusText === undefined ? '' : StringCtor(settings.statusText);
      this.#headers = new Headers(settings.headers);
      this.#body = bodyBytes(body);
      if (typeof body === 'string' && !this.#headers.has('content-type')) {
        this.#headers.set('content-type', 'text/plain;charset=UTF-8');
      }
    }
    get ok(): boolean {
      return this.#status >= 200 && this.#status <= 299;
    }
    get status(): number {
      return this.#status;
    }
    get statusText(): string {
      return this.#statusText;
    }
    get headers(): Headers {
      return this.#headers;
    }
    get url(): string {
      return this.#url;
    }
    get redirected(): boolean {
      return this.#redirected;
    }
    get type(): string {
      return 'basic';
    }
    get bodyUsed(): boolean {
      return this.#used;
    }
    #consume(): ArrayBuffer {
      if (this.#used)
        throw new TypeError('Body has already been read; call response.clone() to read it twice');
      this.#used = true;
      return this.#body ?? new ArrayBuffer(0);
    }
    async arrayBuffer(): Promise<ArrayBuffer> {
      return new state.realm.global.Uint8Array(this.#consume()).slice().buffer;
    }
    async bytes(): Promise<Uint8Array> {
      return new state.realm.global.Uint8Array(this.#consume()).slice();
    }
    async text(): Promise<string> {
      return host.decodeUtf8(this.#consume(), false, false);
    }
    async json(): Promise<unknown> {
      const text = host.decodeUtf8(this.#consume(), false, false);
      return state.realm.JSON.parse(text);
    }
    clone(): Response {
      if (this.#used) throw new TypeError('Response body is already used');
      const copy = new Response(this.#body === undefined ? null : this.#body.slice(0), {
        status: this.#status,
        statusText: this.#statusText,
        headers: this.#headers,
      });
      copy.#url = this.#url;
      copy.#redirected = this.#redirected;
      return copy;
    }
    static json(data: unknown, init?: unknown): Response {
      const settings = (typeof init === 'object' && init !== null ? init : {}) as any;
      const headers = new Headers(settings.headers);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
      return new Response(jsonStringify(data), { ...settings, headers });
    }
    static {
      createResponse = (meta, body) => {
        const response = new Response(null);
        response.#status = meta.status;
        response.#statusText = meta.statusText;
        response.#headers = new Headers(meta.headers);
        response.#body = body;
        response.#url = meta.url;
        response.#redirected = meta.redirected;
        return response;
      };
    }
  }

  class CapabilityDeniedError extends Error {}
  defineProperty(CapabilityDeniedError.prototype, 'name', {
    value: 'CapabilityDeniedError',
    writable: true,
    configurable: true,
  });

  function denied(message: string): Error {
    const error = new CapabilityDeniedError(message);
    deniedErrors.set(error, message);
    return error;
  }

  function toFetchError(failure: any, url: string): unknown {
    const kind = StringCtor(failure?.kind);
    const message = StringCtor(failure?.message ?? 'fetch failed');
    if (kind === 'denied') return denied(message);
    if (kind === 'timeout') return new DOMException(message, 'TimeoutError');
    if (kind === 'aborted') return new DOMException(message, 'AbortError');
    if (kind === 'invalid') return new TypeError(message);
    const error = new TypeError(`fetch failed: ${message}`);
    defineProperty(error, 'cause', { value: { message, url }, writable: true, configurable: true });
    return error;
  }

  function fetch(input: unknown, init?: unknown): Promise<Response> {
    return new Promise<Response>((resolve, reject) => {
      if (!state.active) {
        reject(new TypeError('fetch is not available once the call has ended'));
        return;
      }
      const settings = (typeof init === 'object' && init !== null ? init : {}) as any;
      let url: string;
      let method = 'GET';
      let headers = new Headers();
      if (input instanceof URL) url = input.href;
      else if (typeof input === 'object' && input !== null && typeof (input as any).url === 'string') {
        const request = input as any;
        url = request.url;
        if (typeof request.method === 'string') method = request.method;
        if (request.headers !== undefined) headers = new Headers(request.headers);
      } else url = StringCtor(input);
      if (settings.method !== undefined) method = StringCtor(settings.method).toUpperCase();
      if (settings.headers !== undefined) headers = new Headers(settings.headers);
      const body = bodyBytes(settings.body);
      if (body !== undefined && (method === 'GET' || method === 'HEAD')) {
        reject(new TypeError(`A ${method} request cannot have a body`));
        return;
      }
      if (settings.body instanceof URLSearchParams && !headers.has('content-type')) {
        headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
      } else if (typeof settings.body === 'string' && !headers.has('content-type')) {
        headers.set('content-type', 'text/plain;charset=UTF-8');
      }
      const redirect = settings.redirect === undefined ? 'follow' : StringCtor(settings.redirect);
      if (redirect !== 'follow' && redirect !== 'error' && redirect !== 'manual') {
        reject(new TypeError(`Invalid redirect mode: ${redirect}`));
        return;
      }
      const timeoutMs = settings.timeout === undefined ? 0 : toDelay(settings.timeout);
      const signal = settings.signal as any;
      if (signal?.aborted) {
        reject(signal.reason ?? new DOMException('This operation was aborted', 'AbortError'));
        return;
      }
      const id = ++state.nextFetchId;
      let settled = false;
      const onAbort = () => {
        if (settled) return;
        settled = true;
        host.abortFetch(id);
        reject(signal.reason ?? new DOMException('This operation was aborted', 'AbortError'));
      };
      if (signal && typeof signal.addEventListener === 'function') {
        signal.addEventListener('abort', onAbort, { once: true });
      }
      const description = { url, method, headers: [...headers], redirect, timeoutMs };
      host.fetch(id, jsonStringify(description), body).then(
        (result) => {
          if (settled) return;
          settled = true;
          if (signal && typeof signal.removeEventListener === 'function')
            signal.removeEventListener('abort', onAbort);
          resolve(createResponse(jsonParse(result[0]), result[1]));
        },
        (failure) => {
          if (settled) return;
          settled = true;
          if (signal && typeof signal.removeEventListener === 'function')
            signal.removeEventListener('abort', onAbort);
          reject(toFetchError(failure, url));
        },
      );
    });
  }

  // --- structuredClone ------------------------------------------------------------------------

  function structuredClone(value: unknown, options?: unknown): unknown {
    const realm = state.realm.global;
    const copies = new Map<unknown, unknown>();
    const cloneError = (what: string) => new DOMException(`${what} could not be cloned.`, 'DataCloneError');
    // Transferring detaches the source buffer, one of the ways to change a live buffer's
    // length that the sandbox removes (see `removeResizableBuffers`): refused, not ignored.
    const transfer = typeof options === 'object' && options !== null ? (options as any).transfer : undefined;
    if (transfer !== undefined && (!isArray(transfer) || transfer.length > 0)) {
      throw new DOMException(
        'structuredClone cannot transfer (detach) objects in the sandbox; clone without the transfer option',
        'DataCloneError',
      );
    }
    const clone = (input: unknown): unknown => {
      if (input === null || (typeof input !== 'object' && typeof input !== 'function')) {
        if (typeof input === 'symbol') throw cloneError(StringCtor(input.toString()));
        return input;
      }
      if (typeof input === 'function') throw cloneError(`${(input as any).name || 'function'}()`);
      const known = copies.get(input);
      if (known !== undefined) return known;
      const tag = apply(objectToString, input, []);
      let copy: any;
      switch (tag) {
        case '[object Array]': {
          copy = new realm.Array((input as unknown[]).length);
          copies.set(input, copy);
          for (const key of objectKeys(input)) copy[key] = clone((input as any)[key]);
          return copy;
        }
        case '[object Date]':
          copy = new state.realm.Date((input as Date).getTime());
          break;
        case '[object RegExp]':
          copy = new realm.RegExp((input as RegExp).source, (input as RegExp).flags);
          break;
        case '[object Boolean]':
        case '[object Number]':
        case '[object String]':
          copy = realm.Object((input as any).valueOf());
          break;
        case '[object Map]': {
          copy = new realm.Map();
          copies.set(input, copy);
          for (const [key, item] of input as Map<unknown, unknown>) copy.set(clone(key), clone(item));
          return copy;
        }
        case '[object Set]': {
          copy = new realm.Set();
          copies.set(input, copy);
          for (const item of input as Set<unknown>) copy.add(clone(item));
          return copy;
        }
        case '[object ArrayBuffer]':
          copy = (input as ArrayBuffer).slice(0);
          break;
        case '[object Error]': {
          const error = input as any;
          const name = StringCtor(error.name);
          const Ctor = [
            'EvalError',
            'RangeError',
            'ReferenceError',
            'SyntaxError',
            'TypeError',
            'URIError',
          ].includes(name)
            ? realm[name]
            : realm.Error;
          copy = new Ctor(StringCtor(error.message));
          if (typeof error.stack === 'string')
            defineProperty(copy, 'stack', { value: error.stack, writable: true, configurable: true });
          break;
        }
        case '[object Object]':
        case '[object Arguments]': {
          if (isView(input)) break;
          copy = new realm.Object();
          copies.set(input, copy);
          for (const key of objectKeys(input)) copy[key] = clone((input as any)[key]);
          return copy;
        }
        default:
          if (!isView(input)) throw cloneError(tag.slice(8, -1));
      }
      if (copy === undefined && isView(input)) {
        const view = input as any;
        const name = tag.slice(8, -1);
        const Ctor = realm[name];
        if (typeof Ctor !== 'function') throw cloneError(name);
        const buffer = clone(view.buffer) as ArrayBuffer;
        copy =
          name === 'DataView'
            ? new Ctor(buffer, view.byteOffset, view.byteLength)
            : new Ctor(buffer, view.byteOffset, view.length);
      }
      copies.set(input, copy);
      return copy;
    };
    return clone(value);
  }

  // --- secrets ---------------------------------------------------------------------------------

  /** `secrets.get(name)`: the app-granted credential `name` of this call (values live on the host). */
  const secretsObject = freeze({
    get: function get(name: unknown): string {
      return host.secret(StringCtor(name));
    },
  });

  // --- installation and hardening ---------------------------------------------------------------

  function globalDescriptor(value: unknown): PropertyDescriptor {
    // Null prototype: descriptor fields are read with [[Get]], so nothing inherited may count.
    const descriptor: PropertyDescriptor = ObjectCtor.create(null);
    descriptor.value = value;
    descriptor.writable = true;
    descriptor.enumerable = false;
    descriptor.configurable = true;
    return freeze(descriptor);
  }

  /**
   * The globals every realm shares, as one descriptor map built once (every bridge above is
   * initialised by now). One `defineProperties` call instead of a `defineProperty` and a fresh
   * descriptor per name matters in `context` isolation, where `install` runs once per call.
   */
  const sharedGlobals: PropertyDescriptorMap = (() => {
    const values: Record<string, unknown> = {
      console: consoleObject,
      fetch,
      Headers,
      Response,
      URL,
      URLSearchParams,
      TextEncoder,
      TextDecoder,
      structuredClone,
      setTimeout,
      clearTimeout,
      setInterval,
      clearInterval,
      queueMicrotask,
      AbortController,
      AbortSignal,
      DOMException,
      Event,
      EventTarget,
      atob,
      btoa,
      secrets: secretsObject,
    };
    const map: PropertyDescriptorMap = ObjectCtor.create(null);
    for (const name of objectKeys(values)) map[name] = globalDescriptor(values[name]);
    return freeze(map);
  })();
  const randomDescriptor = globalDescriptor(random);

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
  function removeResizableBuffers(target: any): void {
    delete target.SharedArrayBuffer;
    delete target.Atomics;
    const OriginalArrayBuffer = target.ArrayBuffer;
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
        (options as any).maxByteLength !== undefined
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

  function install(target: any): void {
    removeResizableBuffers(target);
    defineProperty(target, 'Date', globalDescriptor(makeDate(target.Date)));
    defineProperty(target.Math, 'random', randomDescriptor);
    // A FinalizationRegistry callback could run during a later call, so none are offered.
    delete target.FinalizationRegistry;
    defineProperties(target, sharedGlobals);
  }

  /**
   * Assigning to an inherited frozen property fails (the "override mistake"), which would
   * break ordinary code such as `this.name = 'MyError'` in an Error subclass. These common
   * properties become accessors whose setter defines an own property on the receiver instead.
   */
  function tameOverrides(): void {
    const tame = (prototype: any, names: string[]) => {
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
            if (hasOwn(this as object, name)) (this as any)[name] = next;
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
  function intrinsicRoots(): [string, unknown][] {
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
    const iterator = ownGlobal.Iterator;
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
        reach(() => getPrototypeOf(([] as any).values().map((item: unknown) => item))),
      ],
      // QuickJS (2025-11) gives Iterator.concat results a prototype of their own.
      ['%IteratorConcatPrototype%', reach(() => getPrototypeOf(iterator.concat()))],
    ];
  }

  function harden(): number {
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

  // --- calls ---------------------------------------------------------------------------------

  function beginCall(seed: number, now: number, target: object): void {
    // No registry of realms: a map from a context's global would keep that context alive.
    const realm: Realm = { global: target, JSON: (target as any).JSON, Date: (target as any).Date };
    state = { active: true, realm, now, timers: new Map(), nextTimerId: 0, nextFetchId: 0, fatal: undefined };
    seedRandom(seed);
  }

  function runCall(
    factory: (globalView: object) => [unknown],
    entryName: string,
    inputJson: string,
    maxOutputChars: number,
    shadowGlobal: boolean,
  ): string | Promise<string> {
    const realm = state.realm;
    const input = realm.JSON.parse(inputJson);
    let entry: unknown;
    try {
      entry = factory(shadowGlobal ? ObjectCtor.create(realm.global) : realm.global)[0];
    } catch (error) {
      return failFromThrown(error);
    }
    if (typeof entry !== 'function' || entry === realm.global[entryName]) {
      return fail(
        'INVALID_SOURCE',
        'ReferenceError',
        `the source does not define a function named "${entryName}"; declare it at the top level, e.g. function ${entryName}(input) { ... }`,
      );
    }
    let result: unknown;
    try {
      result = (entry as (input: unknown) => unknown)(input);
    } catch (error) {
      return failFromThrown(error);
    }
    let then: unknown;
    try {
      then = typeof result === 'object' && result !== null ? (result as any).then : undefined;
    } catch (error) {
      return failFromThrown(error, 'INVALID_OUTPUT');
    }
    if (typeof then !== 'function') return serialize(result, maxOutputChars);
    return new Promise<unknown>((resolve) => resolve(result)).then(
      (value) => serialize(value, maxOutputChars),
      (error) => failFromThrown(error),
    );
  }

  function fireTimer(id: number): void {
    const timer = state.timers.get(id);
    if (timer === undefined || !state.active) return;
    if (timer.interval) host.setTimer(id, timer.delay);
    else state.timers.delete(id);
    try {
      apply(timer.callback, undefined, timer.args);
    } catch (error) {
      recordFatal(error, 'a timer callback');
    }
  }

  function takeFatal(): string | undefined {
    return state.fatal;
  }

  function endCall(): void {
    state.active = false;
    state.timers.clear();
    // Release the call's realm (a `context`-isolated call's global) so it can be collected.
    state.realm = { global: ownGlobal, JSON, Date: ownGlobal.Date };
  }

  return { install, harden, beginCall, runCall, fireTimer, takeFatal, endCall };
}

/** Source text that evaluates (in strict mode) to the {@link guestPrelude} function. */
export const guestPreludeSource = `(function () { 'use strict'; return (${guestPrelude.toString()}); })()`;
