import type { QuickJSContext, QuickJSDeferredPromise, QuickJSHandle } from 'quickjs-emscripten';
import {
  GuestMemoryError,
  isMemoryFailure,
  newGuestBuffer,
  newGuestString,
  readGuestString,
} from './guest-values.ts';
import { type CallOutcome, cancelTimer, type WorkerCall } from './worker-call.ts';
import { FetchFailure, fetchTarget, type WorkerFetchRequest, workerFetch } from './worker-fetch.ts';

/** At most this many timers may be armed per call (the guest refuses first, with a clearer message). */
const maxPendingTimers = 10_000;

/**
 * What the host bridge needs from the `GuestRuntime` that owns it: the call in flight and the
 * runtime's ways to settle it. The bridge outlives calls, so it asks for the current call every
 * time instead of holding one.
 */
export interface HostBridgeOwner {
  /** `memoryLimitBytes` of the sandbox: a response body may take at most half of it. */
  readonly memoryLimitBytes: number;
  /** The call in flight, if any. */
  currentCall(): WorkerCall | undefined;
  /** Settles the current call with MEMORY and returns the error to throw into the guest. */
  exhausted(): GuestMemoryError;
  /** Runs guest timer `id` of `call` (its host timer fired). */
  fireTimer(call: WorkerCall, id: number): void;
  /** Settles `call` with `outcome` (a timeout instead, past the deadline). */
  finish(call: WorkerCall, outcome: CallOutcome): void;
  /** The outcome for a failure on the worker side of the bridge. */
  hostFailure(error: unknown): CallOutcome;
  /** Runs the guest's pending jobs and settles `call` once its result promise has settled. */
  pump(call: WorkerCall): void;
}

/**
 * Builds the `GuestHost` object the guest prelude is called with (see `guest/guest-api.ts`):
 * console capture, timers, fetch under the call's network policy and budget, UTF-8, WHATWG URL
 * parsing and secrets, each a QuickJS function that runs here in the worker. Arguments and
 * results are primitives or ArrayBuffers, so no guest object is ever trusted on this side.
 *
 * @returns a handle the caller passes to the prelude and then disposes.
 */
export function createHostBridge(context: QuickJSContext, owner: HostBridgeOwner): QuickJSHandle {
  const throwExhausted = (): never => {
    throw owner.exhausted();
  };
  const host = context.newObject();
  // Every guest value a bridge function creates or reads is complete or the call fails with
  // MEMORY: a failed QuickJS allocation must never reach the tool as short or empty data.
  const define = (name: string, implementation: (...args: QuickJSHandle[]) => QuickJSHandle | undefined) => {
    const fn = context.newFunction(name, (...args) => {
      try {
        return implementation(...args);
      } catch (error) {
        if (!(error instanceof GuestMemoryError) && isMemoryFailure(error)) throw owner.exhausted();
        throw error;
      }
    });
    context.setProp(host, name, fn);
    fn.dispose();
  };
  const text = (handle: QuickJSHandle | undefined) =>
    handle !== undefined && context.typeof(handle) === 'string'
      ? (readGuestString(context, handle) ?? throwExhausted())
      : '';
  const guestString = (value: string) => newGuestString(context, value) ?? throwExhausted();
  const guestBuffer = (bytes: Uint8Array) => newGuestBuffer(context, bytes) ?? throwExhausted();
  const number = (handle: QuickJSHandle | undefined) =>
    handle !== undefined && context.typeof(handle) === 'number' ? context.getNumber(handle) : Number.NaN;

  define('log', (level, message) => {
    const call = owner.currentCall();
    if (call?.active) call.addLog(text(level), text(message));
    return undefined;
  });
  define('setTimer', (idHandle, delayHandle) => {
    const call = owner.currentCall();
    if (!call?.active) return undefined;
    const id = number(idHandle);
    const delay = Math.min(Math.max(number(delayHandle) || 0, 0), 2_147_483_647);
    if (call.timers.size >= maxPendingTimers)
      throw new Error(`A call may have at most ${maxPendingTimers} pending timers`);
    const previous = call.timers.get(id);
    if (previous !== undefined) cancelTimer(previous);
    const fire = () => {
      call.timers.delete(id);
      owner.fireTimer(call, id);
    };
    // Node clamps setTimeout(fn, 0) to 1 ms; a zero delay runs on the next turn instead.
    call.timers.set(
      id,
      delay === 0 ? { immediate: setImmediate(fire) } : { timeout: setTimeout(fire, delay) },
    );
    return undefined;
  });
  define('clearTimer', (idHandle) => {
    const call = owner.currentCall();
    const id = number(idHandle);
    const timer = call?.timers.get(id);
    if (call && timer !== undefined) {
      cancelTimer(timer);
      call.timers.delete(id);
    }
    return undefined;
  });
  define('fetch', (idHandle, requestHandle, bodyHandle) => {
    const call = owner.currentCall();
    const deferred = context.newPromise();
    if (!call?.active) {
      rejectFetch(context, owner, deferred, new FetchFailure('network', 'the call has ended'));
      return deferred.handle;
    }
    const id = number(idHandle);
    let request: WorkerFetchRequest;
    let body: Uint8Array | undefined;
    try {
      request = JSON.parse(text(requestHandle)) as WorkerFetchRequest;
      if (bodyHandle !== undefined && context.typeof(bodyHandle) === 'object') {
        const lifetime = context.getArrayBuffer(bodyHandle);
        body = new Uint8Array(lifetime.value);
        lifetime.dispose();
      }
    } catch (error) {
      if (error instanceof GuestMemoryError || isMemoryFailure(error)) {
        deferred.dispose();
        throw error instanceof GuestMemoryError ? error : owner.exhausted();
      }
      rejectFetch(context, owner, deferred, new FetchFailure('invalid', `invalid request: ${String(error)}`));
      return deferred.handle;
    }
    const controller = new AbortController();
    call.fetches.set(id, { controller, deferred });
    workerFetch(request, body, call.policy, call.budget, controller.signal).then(
      (response) => {
        if (!takeFetch(owner, call, id)) return;
        try {
          if (response.body.byteLength > owner.memoryLimitBytes / 2) {
            throw new FetchFailure(
              'denied',
              'The response body is too large for the guest memory; raise memoryLimitBytes.',
              fetchTarget(response.url),
            );
          }
          const meta = guestString(
            JSON.stringify({
              status: response.status,
              statusText: response.statusText,
              headers: response.headers,
              url: response.url,
              redirected: response.redirected,
            }),
          );
          let bytes: QuickJSHandle;
          try {
            bytes = guestBuffer(response.body);
          } catch (error) {
            meta.dispose();
            throw error;
          }
          const pair = context.newArray();
          context.setProp(pair, 0, meta);
          context.setProp(pair, 1, bytes);
          meta.dispose();
          bytes.dispose();
          deferred.resolve(pair);
          pair.dispose();
        } catch (error) {
          if (error instanceof FetchFailure) rejectFetch(context, owner, deferred, error);
          else owner.finish(call, owner.hostFailure(error));
        }
        owner.pump(call);
      },
      (error: unknown) => {
        if (!takeFetch(owner, call, id)) return;
        try {
          rejectFetch(
            context,
            owner,
            deferred,
            error instanceof FetchFailure ? error : new FetchFailure('network', String(error)),
          );
        } catch (failure) {
          owner.finish(call, owner.hostFailure(failure));
        }
        owner.pump(call);
      },
    );
    return deferred.handle;
  });
  define('abortFetch', (idHandle) => {
    const call = owner.currentCall();
    const id = number(idHandle);
    const pending = call?.fetches.get(id);
    if (call && pending) {
      call.fetches.delete(id);
      pending.controller.abort();
      pending.deferred.dispose();
    }
    return undefined;
  });
  define('secret', (nameHandle) => {
    const call = owner.currentCall();
    const name = text(nameHandle);
    if (!call?.active) throw new Error('secrets.get() is only available while the tool runs');
    const secrets = call.request.secrets;
    if (!Object.hasOwn(secrets, name)) {
      const declared = Object.keys(secrets);
      throw new Error(
        `Secret "${name.slice(0, 64)}" is not available to this tool; ${declared.length === 0 ? 'it was granted no secrets' : `it may read only ${declared.map((item) => `"${item}"`).join(', ')}`}.`,
      );
    }
    return guestString(secrets[name] as string);
  });
  define('encodeUtf8', (input) => guestBuffer(Buffer.from(text(input), 'utf8')));
  define('decodeUtf8', (bytes, fatal, ignoreBom) => {
    const lifetime = context.getArrayBuffer(bytes);
    try {
      const decoder = new TextDecoder('utf-8', {
        // Not `dump`: it serialises through a guest allocation that can fail silently.
        fatal: context.sameValue(fatal, context.true),
        ignoreBOM: context.sameValue(ignoreBom, context.true),
      });
      return guestString(decoder.decode(lifetime.value));
    } finally {
      lifetime.dispose();
    }
  });
  define('parseUrl', (input, base) => {
    const url =
      base !== undefined && context.typeof(base) === 'string'
        ? new URL(text(input), text(base))
        : new URL(text(input));
    return guestString(urlParts(url));
  });
  define('updateUrl', (href, component, value) => {
    const url = new URL(text(href));
    const key = text(component);
    const allowed = [
      'protocol',
      'username',
      'password',
      'host',
      'hostname',
      'port',
      'pathname',
      'search',
      'hash',
    ];
    if (!allowed.includes(key)) throw new TypeError(`cannot set URL component ${key}`);
    (url as unknown as Record<string, string>)[key] = text(value);
    return guestString(urlParts(url));
  });
  define('parseQuery', (query) => guestString(JSON.stringify([...new URLSearchParams(text(query))])));
  define('serializeQuery', (pairs) => {
    const list = JSON.parse(text(pairs)) as [string, string][];
    return guestString(new URLSearchParams(list).toString());
  });
  return host;
}

/** Whether request `id` of `call` is still awaited (and forgets it): a late or aborted response is dropped. */
function takeFetch(owner: HostBridgeOwner, call: WorkerCall, id: number): boolean {
  if (!call.active || call !== owner.currentCall() || !call.fetches.has(id)) return false;
  call.fetches.delete(id);
  return true;
}

/** Rejects a guest fetch promise with `{ kind, message }`, which the guest turns into its error. */
function rejectFetch(
  context: QuickJSContext,
  owner: HostBridgeOwner,
  deferred: QuickJSDeferredPromise,
  failure: FetchFailure,
): void {
  // Recorded on the host before the guest sees it: a tool that catches the error still used a
  // capability it was not given, and the regression gate must know.
  if (failure.kind === 'denied') {
    owner.currentCall()?.recordDenial({
      capability: 'network',
      target: failure.target ?? '',
      message: failure.message,
    });
  }
  const reason = context.newObject();
  const kind = context.newString(failure.kind);
  const message = context.newString(failure.message);
  context.setProp(reason, 'kind', kind);
  context.setProp(reason, 'message', message);
  kind.dispose();
  message.dispose();
  deferred.reject(reason);
  reason.dispose();
}

/** The components of `url` as the guest's `URL` reads them (JSON). */
function urlParts(url: URL): string {
  return JSON.stringify({
    href: url.href,
    origin: url.origin,
    protocol: url.protocol,
    username: url.username,
    password: url.password,
    host: url.host,
    hostname: url.hostname,
    port: url.port,
    pathname: url.pathname,
    search: url.search,
    hash: url.hash,
  });
}
