import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { NetworkPolicy } from '../network-policy.ts';

/** A request as described by the guest `fetch` wrapper. */
export interface WorkerFetchRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly redirect: 'follow' | 'error' | 'manual';
  /** The tool's own `timeout` option in ms, 0 for none. Capped by the policy's per-request limit. */
  readonly timeoutMs: number;
}

/** Response metadata handed back to the guest. */
export interface WorkerFetchResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: [string, string][];
  readonly url: string;
  readonly redirected: boolean;
  readonly body: Uint8Array;
}

/** Limits of one call's network use. `used` counts requests made so far (redirect hops included). */
export interface WorkerFetchBudget {
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  readonly maxRequests: number;
  used: number;
}

/**
 * Resolves a host name to every address it has. Injectable for tests (a name that resolves to a
 * private address); the default is `dns.lookup` with `all: true`.
 */
export type HostLookup = (
  hostname: string,
  family: number,
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

const systemLookup: HostLookup = (hostname, family, callback) => {
  dnsLookup(hostname, { all: true, family }, (error, addresses) => callback(error, addresses ?? []));
};

/** Why a host request failed, as the guest sees it. */
export type FetchFailureKind = 'denied' | 'timeout' | 'aborted' | 'network' | 'invalid';

/** A failed host request; `kind` decides which error the guest `fetch` rejects with. */
export class FetchFailure extends Error {
  readonly kind: FetchFailureKind;
  /** The `host[:port]` (or unparsable URL) a `denied` failure refers to. */
  readonly target: string | undefined;
  constructor(kind: FetchFailureKind, message: string, target?: string) {
    super(message);
    this.name = 'FetchFailure';
    this.kind = kind;
    this.target = target;
  }
}

/** The `host[:port]` of `url` for denial records, or the (truncated) text when it does not parse. */
export function fetchTarget(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url.length > 200 ? `${url.slice(0, 197)}...` : url;
  }
}

const forbiddenRequestHeaders = new Set([
  'host',
  'connection',
  'content-length',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'keep-alive',
  'expect',
  'proxy-authorization',
  'proxy-connection',
]);
const crossOriginSensitiveHeaders = new Set(['authorization', 'cookie', 'proxy-authorization']);
const maxRedirects = 20;

/**
 * Performs one guest `fetch` on the host under `policy`: every hop (redirects included) is
 * checked against the allow-list, every resolved address against the private-address rules
 * (inside the socket's DNS lookup, so the checked address is the one connected to), the
 * request count and the per-request time are capped, and the body is read (and decompressed)
 * only up to `maxResponseBytes`.
 */
export async function workerFetch(
  request: WorkerFetchRequest,
  body: Uint8Array | undefined,
  policy: NetworkPolicy,
  budget: WorkerFetchBudget,
  signal: AbortSignal,
  resolveHost: HostLookup = systemLookup,
): Promise<WorkerFetchResponse> {
  let url = request.url;
  let method = request.method.toUpperCase();
  let headers = request.headers.filter(([name]) => !forbiddenRequestHeaders.has(name.toLowerCase()));
  let payload = body;
  const timeoutMs = request.timeoutMs > 0 ? Math.min(request.timeoutMs, budget.timeoutMs) : budget.timeoutMs;
  for (let hop = 0; ; hop += 1) {
    const decision = policy.check(url);
    if (!decision.allowed) throw new FetchFailure(decision.kind, decision.reason, fetchTarget(url));
    if (budget.used >= budget.maxRequests) {
      throw new FetchFailure(
        'denied',
        `This call already made ${budget.used} request(s), the network.maxRequests limit; raise network.maxRequests to allow more.`,
        decision.url.host,
      );
    }
    budget.used += 1;
    const response = await send(
      decision,
      method,
      headers,
      payload,
      policy,
      timeoutMs,
      budget,
      signal,
      resolveHost,
    );
    const location = response.location;
    if (location !== undefined && isRedirect(response.status) && request.redirect !== 'manual') {
      if (request.redirect === 'error') {
        throw new FetchFailure(
          'network',
          `redirected to ${location} but the request's redirect mode is "error"`,
        );
      }
      if (hop >= maxRedirects) throw new FetchFailure('network', `more than ${maxRedirects} redirects`);
      let next: URL;
      try {
        next = new URL(location, decision.url);
      } catch {
        throw new FetchFailure('network', `invalid redirect location ${JSON.stringify(location)}`);
      }
      if (
        response.status === 303
          ? method !== 'HEAD'
          : (response.status === 301 || response.status === 302) && method === 'POST'
      ) {
        method = 'GET';
        payload = undefined;
        headers = headers.filter(([name]) => !name.toLowerCase().startsWith('content-'));
      }
      if (next.origin !== decision.url.origin) {
        headers = headers.filter(([name]) => !crossOriginSensitiveHeaders.has(name.toLowerCase()));
      }
      url = next.href;
      continue;
    }
    return {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
      url: decision.url.href,
      redirected: hop > 0,
      body: response.body,
    };
  }
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

interface SentResponse {
  status: number;
  statusText: string;
  headers: [string, string][];
  location: string | undefined;
  body: Uint8Array;
}

function send(
  decision: Extract<ReturnType<NetworkPolicy['check']>, { allowed: true }>,
  method: string,
  headers: readonly (readonly [string, string])[],
  payload: Uint8Array | undefined,
  policy: NetworkPolicy,
  timeoutMs: number,
  budget: WorkerFetchBudget,
  signal: AbortSignal,
  resolveHost: HostLookup,
): Promise<SentResponse> {
  return new Promise<SentResponse>((resolve, reject) => {
    if (signal.aborted) {
      reject(new FetchFailure('aborted', 'The request was aborted'));
      return;
    }
    let failure: FetchFailure | undefined;
    const outgoing: OutgoingHttpHeaders = {
      'user-agent': 'self-improving-agent-sandbox',
      accept: '*/*',
      'accept-encoding': 'gzip, deflate, br',
    };
    for (const [name, value] of headers) {
      const key = name.toLowerCase();
      const existing = outgoing[key];
      outgoing[key] =
        existing === undefined || key === 'user-agent' || key === 'accept' || key === 'accept-encoding'
          ? value
          : `${String(existing)}, ${value}`;
    }
    if (payload !== undefined) outgoing['content-length'] = String(payload.byteLength);
    // The socket's own lookup: every resolved address is checked here and the socket connects to
    // one of exactly these addresses, so no second resolution can swap in a private one.
    const lookup: LookupFunction = (hostname, options, callback) => {
      resolveHost(
        hostname,
        options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : (options.family ?? 0),
        (error, addresses) => {
          if (error) {
            callback(error, '', 0);
            return;
          }
          const list = addresses;
          for (const address of list) {
            const denial = policy.addressDenial(
              address.address,
              decision.port,
              decision.allowPrivate,
              decision.hostname,
            );
            if (denial !== undefined) {
              failure = new FetchFailure(
                'denied',
                `${decision.hostname} resolves to ${address.address}. ${denial}`,
                decision.url.host,
              );
              callback(failure, '', 0);
              return;
            }
          }
          if (list.length === 0) {
            callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
            return;
          }
          if (options.all) (callback as unknown as (error: null, all: LookupAddress[]) => void)(null, list);
          else callback(null, (list[0] as LookupAddress).address, (list[0] as LookupAddress).family);
        },
      );
    };
    const isHttps = decision.url.protocol === 'https:';
    const client = (isHttps ? httpsRequest : httpRequest)({
      protocol: decision.url.protocol,
      hostname: decision.hostname,
      port: decision.port,
      path: `${decision.url.pathname}${decision.url.search}`,
      method,
      headers: outgoing,
      lookup,
      agent: false,
      ...(isHttps ? { servername: decision.hostname } : {}),
    });
    const fail = (next: FetchFailure) => {
      if (failure === undefined || failure.kind !== 'denied') failure = next;
      client.destroy(failure);
    };
    const timer = setTimeout(
      () =>
        fail(
          new FetchFailure(
            'timeout',
            `The request to ${decision.url.host} took longer than ${timeoutMs} ms (network.timeoutMs / the fetch timeout option)`,
          ),
        ),
      timeoutMs,
    );
    const onAbort = () => fail(new FetchFailure('aborted', 'The request was aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    const finish = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    client.on('error', (error) => {
      finish();
      reject(failure ?? new FetchFailure('network', describeNetworkError(error)));
    });
    client.on('response', (response: IncomingMessage) => {
      const status = response.statusCode ?? 0;
      const location = isRedirect(status) ? headerValue(response.headers.location) : undefined;
      const responseHeaders: [string, string][] = [];
      for (let index = 0; index + 1 < response.rawHeaders.length; index += 2) {
        responseHeaders.push([
          (response.rawHeaders[index] as string).toLowerCase(),
          response.rawHeaders[index + 1] as string,
        ]);
      }
      if (location !== undefined) {
        response.resume();
        finish();
        client.destroy();
        resolve({
          status,
          statusText: response.statusMessage ?? '',
          headers: responseHeaders,
          location,
          body: new Uint8Array(0),
        });
        return;
      }
      readBody(response, budget.maxResponseBytes, decision.url.host).then(
        (bytes) => {
          finish();
          resolve({
            status,
            statusText: response.statusMessage ?? '',
            headers: responseHeaders,
            location: undefined,
            body: bytes,
          });
        },
        (error: unknown) => {
          finish();
          client.destroy();
          reject(
            failure ??
              (error instanceof FetchFailure
                ? error
                : new FetchFailure('network', describeNetworkError(error))),
          );
        },
      );
    });
    client.end(
      payload === undefined ? undefined : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
    );
  });
}

async function readBody(response: IncomingMessage, maxBytes: number, host: string): Promise<Uint8Array> {
  const encoding = headerValue(response.headers['content-encoding'])?.trim().toLowerCase();
  let stream: AsyncIterable<Buffer> = response;
  if (encoding === 'gzip' || encoding === 'x-gzip') stream = response.pipe(createGunzip());
  else if (encoding === 'deflate') stream = response.pipe(createInflate());
  else if (encoding === 'br') stream = response.pipe(createBrotliDecompress());
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      response.destroy();
      throw new FetchFailure(
        'denied',
        `The response from ${host} is larger than network.maxResponseBytes (${maxBytes} bytes); raise network.maxResponseBytes to read it.`,
        host,
      );
    }
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks, total);
  return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function describeNetworkError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
