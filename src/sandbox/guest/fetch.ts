/**
 * `fetch`: describes the request as JSON and lets the worker make it under the call's network
 * policy and request budget. Refusals become `CapabilityDeniedError`s (recorded on the worker
 * side first, caught by the tool or not); an abort signal or the `timeout` option cancel the
 * worker's request too.
 */
import { host, state } from './call-state.ts';
import { DOMException } from './dom-exception.ts';
import { denied } from './errors.ts';
import { Headers } from './headers.ts';
import { defineProperty, jsonParse, jsonStringify, type PropertyBag, StringCtor } from './intrinsics.ts';
import { bodyBytes, createResponse, type Response } from './response.ts';
import { toDelay } from './timers.ts';
import { URL } from './url.ts';
import { URLSearchParams } from './url-search-params.ts';

/** What the worker's `fetch` bridge rejects with, `{ kind, name, message }`, read without trusting it. */
interface FetchFailure {
  kind?: unknown;
  message?: unknown;
}

/** The `fetch` options the guest reads (each read once, through its getter if any). */
interface FetchSettings {
  method?: unknown;
  headers?: unknown;
  body?: unknown;
  redirect?: unknown;
  timeout?: unknown;
  signal?: unknown;
}

/** A `Request`-like `input`: an object whose `url` was a string when checked just before. */
interface RequestLike {
  url: string;
  method?: unknown;
  headers?: unknown;
}

/** An `AbortSignal`-like `signal` option: read field by field, its methods called only when functions. */
interface SignalLike {
  aborted?: unknown;
  reason?: unknown;
  addEventListener?: unknown;
  removeEventListener?: unknown;
}

export function toFetchError(failure: unknown, url: string): unknown {
  const kind = StringCtor((failure as FetchFailure | null | undefined)?.kind);
  const message = StringCtor((failure as FetchFailure | null | undefined)?.message ?? 'fetch failed');
  if (kind === 'denied') return denied(message);
  if (kind === 'timeout') return new DOMException(message, 'TimeoutError');
  if (kind === 'aborted') return new DOMException(message, 'AbortError');
  if (kind === 'invalid') return new TypeError(message);
  const error = new TypeError(`fetch failed: ${message}`);
  defineProperty(error, 'cause', { value: { message, url }, writable: true, configurable: true });
  return error;
}

export function fetch(input: unknown, init?: unknown): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    if (!state.active) {
      reject(new TypeError('fetch is not available once the call has ended'));
      return;
    }
    const settings = (typeof init === 'object' && init !== null ? init : {}) as FetchSettings;
    let url: string;
    let method = 'GET';
    let headers = new Headers();
    // A Request-like input's `url` is read once: a getter cannot pass the string check with one
    // value and hand the request another.
    const requestUrl =
      !(input instanceof URL) && typeof input === 'object' && input !== null
        ? (input as PropertyBag).url
        : undefined;
    if (input instanceof URL) url = input.href;
    else if (typeof requestUrl === 'string') {
      const request = input as RequestLike;
      url = requestUrl;
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
    const signal = settings.signal as SignalLike | null | undefined;
    if (signal?.aborted) {
      reject(signal.reason ?? new DOMException('This operation was aborted', 'AbortError'));
      return;
    }
    const id = ++state.nextFetchId;
    let settled = false;
    const onAbort = () => {
      if (settled) return;
      settled = true;
      host().abortFetch(id);
      reject((signal as SignalLike).reason ?? new DOMException('This operation was aborted', 'AbortError'));
    };
    if (signal && typeof signal.addEventListener === 'function') {
      signal.addEventListener('abort', onAbort, { once: true });
    }
    const description = { url, method, headers: [...headers], redirect, timeoutMs };
    host()
      .fetch(id, jsonStringify(description), body)
      .then(
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
