/**
 * The contract between the worker and the guest bundle, as types only (nothing here runs).
 * The bundle evaluates to `createGuestControl(host)`: the worker calls it once per QuickJS
 * realm with its bridge functions ({@link GuestHost}, built by `worker/host-bridge.ts`) and keeps
 * the returned {@link GuestControl}. Guest code only ever talks to the worker through `host`.
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

/** The privileged handle `createGuestControl` returns; only the worker holds it. */
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
