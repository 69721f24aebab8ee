import { transientMessagePattern } from './classify-error.ts';

/**
 * The text of a hardened tool. Everything here is JavaScript that runs INSIDE the sandbox
 * (QuickJS), never on the host; this module only assembles strings.
 *
 * Layout of a hardened source (see {@link hardenedSource}):
 *
 * ```
 * // hardened by self-improving-agent: retries on 429/5xx … (header: what changed and why)
 * const __sia_settings = { … };                  // the numbers, in one place
 * const __sia_… = …;                             // the helpers below
 * const __sia_loadOriginal = (fetch) => {        // the ORIGINAL source, unchanged, inside a
 * <original source>                              // scope where `fetch` is the hardened fetch
 *   return <name>;
 * };
 * async function <name>(input) { … }             // the new entry: same name, one parameter
 * ```
 *
 * Why a loader function: the original's references to `fetch` (in the entry function and in
 * any top-level helper it had) resolve by scope, so making `fetch` a parameter of the function
 * that contains the original is the one change that reroutes every one of them, without
 * touching a character of the original. The loader runs once per call, so the original's
 * top-level constants are as fresh as they were before (the sandbox re-runs a tool's top level
 * for every call anyway). The helpers themselves sit outside the loader, so their `fetch` is the
 * sandbox's own.
 *
 * The output is a script the `CodeValidator` accepts: one top-level function declaration (the
 * new entry), everything else `const`.
 */

/** The numbers baked into a hardened tool. */
export interface HardeningSettings {
  /** Tries of one request, and of one whole call, at most. */
  readonly maxAttempts: number;
  /** First back-off step; doubles each retry. */
  readonly baseDelayMs: number;
  /** Largest back-off step. */
  readonly maxDelayMs: number;
  /** Time after the call starts past which no retry is started and no wait is begun. */
  readonly budgetMs: number;
  /** Per-attempt `fetch` timeout, or `null` for none. */
  readonly attemptTimeoutMs: number | null;
  /** Whether identical GET requests within one call share one response. */
  readonly cacheGets: boolean;
}

/** The first words of a hardened tool's header comment; their presence marks the source as hardened. */
export const hardeningMarker = 'hardened by self-improving-agent';

/** Name of the constant holding the original source; its presence also marks a hardened source. */
export const loaderName = '__sia_loadOriginal';

// The helpers, as readable guest JavaScript. Written so a reviewer can follow them: each one
// says why it exists. Kept free of backticks; the one interpolation is the transient-message
// pattern shared with the host's classifyError.
const helpers = String.raw`
const __sia_sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Per-call state: when the time budget ends, the earliest time a server allowed another try
// (from Retry-After), and the GET responses already fetched.
const __sia_startCall = () => ({ deadline: Date.now() + __sia_settings.budgetMs, retryAt: 0, cache: new Map() });

const __sia_isRetryableStatus = (status) =>
  status === 429 || (status >= 500 && status <= 599 && status !== 501 && status !== 505);

// Errors worth another try: timeouts, aborted attempts, network failures (the sandbox's fetch
// throws "TypeError: fetch failed: ..."), and errors naming a 429/5xx status. Any other
// TypeError, a ReferenceError, a denied capability or the tool's own validation error would
// only fail again.
const __sia_isTransient = (error) => {
  const name = String((error && error.name) || '');
  const message = String((error && error.message) || error || '');
  if (name === 'TimeoutError' || name === 'AbortError') return true;
  if (name === 'CapabilityDeniedError') return false;
  if (name === 'TypeError') return /^fetch failed/.test(message);
  const status = Number(error && (error.status ?? error.statusCode));
  if (__sia_isRetryableStatus(status)) return true;
  return /${transientMessagePattern.source}/i.test(message);
};

// Retry-After is either seconds or an HTTP date; null when absent or unreadable.
const __sia_retryAfterMs = (response) => {
  const value = response.headers.get('retry-after');
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
};

// Waits before retry number 'attempt' (1 = the first retry). Exponential back-off with full
// jitter (a random wait between 0 and the step) spreads retries from many callers. A server's
// Retry-After is remembered for the rest of the call, so neither this request nor a retry of
// the whole call comes back sooner. Returns false, without waiting, when the wait would run past
// the call's time budget: better to report the failure than to be killed by the sandbox's
// deadline.
const __sia_waitBeforeRetry = async (call, attempt, retryAfterMs) => {
  const now = Date.now();
  if (retryAfterMs !== null) call.retryAt = Math.max(call.retryAt, now + retryAfterMs);
  const step = Math.min(__sia_settings.maxDelayMs, __sia_settings.baseDelayMs * 2 ** (attempt - 1));
  const delay = Math.max(Math.floor(Math.random() * step), call.retryAt - now);
  if (now + delay >= call.deadline) return false;
  await __sia_sleep(delay);
  return true;
};

// One fetch, cut off after the per-attempt timeout (when there is one). A caller's own signal
// still aborts it.
const __sia_fetchOnce = async (call, resource, init) => {
  const timeoutMs = __sia_settings.attemptTimeoutMs;
  if (timeoutMs === null) return fetch(resource, init);
  const controller = new AbortController();
  const callerSignal = init && init.signal;
  const forward = () => controller.abort(callerSignal.reason);
  if (callerSignal) {
    if (callerSignal.aborted) forward();
    else callerSignal.addEventListener('abort', forward, { once: true });
  }
  const limit = Math.max(1, Math.min(timeoutMs, call.deadline - Date.now()));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, limit);
  try {
    return await fetch(resource, { ...init, signal: controller.signal });
  } catch (error) {
    if (timedOut) throw new DOMException('fetch attempt timed out after ' + limit + ' ms', 'TimeoutError');
    throw error;
  } finally {
    clearTimeout(timer);
    if (callerSignal) callerSignal.removeEventListener('abort', forward);
  }
};

// Tries one request up to maxAttempts times: again on a transient error or a 429/5xx
// response. The last response is returned as it is, so the original code still sees the
// status it used to see when every try failed.
const __sia_fetchWithRetries = async (call, resource, init) => {
  for (let attempt = 1; ; attempt += 1) {
    const last = attempt >= __sia_settings.maxAttempts;
    let response;
    try {
      response = await __sia_fetchOnce(call, resource, init);
    } catch (error) {
      const cancelled = Boolean(init && init.signal && init.signal.aborted);
      if (last || cancelled || !__sia_isTransient(error)) throw error;
      if (!(await __sia_waitBeforeRetry(call, attempt, null))) throw error;
      continue;
    }
    if (last || !__sia_isRetryableStatus(response.status)) return response;
    if (!(await __sia_waitBeforeRetry(call, attempt, __sia_retryAfterMs(response)))) return response;
  }
};

// Identical GET requests (same URL and headers) within one call share one response; each
// caller gets its own clone. Failed responses are not kept, so a retry really asks again.
const __sia_cacheKey = (resource, init) => {
  const method = String((init && init.method) || (resource && resource.method) || 'GET').toUpperCase();
  if (method !== 'GET' || (init && init.body != null) || (init && init.signal)) return null;
  const url = typeof resource === 'string' ? resource : resource instanceof URL ? resource.href : null;
  if (url === null) return null;
  return JSON.stringify([url, [...new Headers(init && init.headers)]]);
};

// The fetch the original code sees.
const __sia_hardenFetch = (call) => async (resource, init) => {
  const key = __sia_settings.cacheGets ? __sia_cacheKey(resource, init) : null;
  if (key === null) return __sia_fetchWithRetries(call, resource, init);
  let pending = call.cache.get(key);
  if (pending === undefined) {
    pending = __sia_fetchWithRetries(call, resource, init);
    call.cache.set(key, pending);
  }
  let response;
  try {
    response = await pending;
  } catch (error) {
    if (call.cache.get(key) === pending) call.cache.delete(key);
    throw error;
  }
  if (!response.ok && call.cache.get(key) === pending) call.cache.delete(key);
  return response.clone();
};

// Runs the whole original call again when it throws a transient error (its own "HTTP 503",
// a timeout, a network failure), within the same attempt limit and time budget. The GET cache
// is emptied first: the responses it holds are what the failed run saw.
const __sia_retryCall = async (call, run) => {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await run();
    } catch (error) {
      if (attempt >= __sia_settings.maxAttempts || !__sia_isTransient(error)) throw error;
      if (!(await __sia_waitBeforeRetry(call, attempt, null))) throw error;
      call.cache.clear();
    }
  }
};
`;

/** What {@link hardenedSource} needs. */
export interface HardenedSourceInput {
  /** The tool's (and entry function's) name. */
  readonly name: string;
  /** The original source, embedded unchanged. */
  readonly original: string;
  /** The numbers. */
  readonly settings: HardeningSettings;
  /** Evaluation reason codes that led here, for the header. */
  readonly reasonCodes: readonly string[];
}

/** Assembles a hardened tool: header, settings, helpers, the original inside its loader, new entry. */
export function hardenedSource({ name, original, settings, reasonCodes }: HardenedSourceInput): string {
  const features = [
    `retries on 429/5xx responses and transient errors (at most ${settings.maxAttempts} tries of each request and of the whole call, exponential back-off with full jitter from ${settings.baseDelayMs} ms up to ${settings.maxDelayMs} ms, honouring Retry-After)`,
    ...(settings.attemptTimeoutMs === null
      ? []
      : [`a ${settings.attemptTimeoutMs} ms timeout on each fetch attempt`]),
    ...(settings.cacheGets ? ['identical GET requests within one call share one response'] : []),
    `no retry or wait starts more than ${settings.budgetMs} ms into the call`,
  ];
  const header = [
    `// ${hardeningMarker}: ${features.map((feature) => `${feature}`).join('; ')}.`,
    `// Why: evaluation reasons ${reasonCodes.join(', ')}.`,
    `// The original source is unchanged inside ${loaderName}, where \`fetch\` is the hardened fetch.`,
  ];
  const fields = Object.entries(settings).map(([key, value]) => `${key}: ${JSON.stringify(value)}`);
  const settingsLine = `const __sia_settings = { ${fields.join(', ')} };`;
  const body = original.replace(/\s+$/, '');
  return `${wrapComment(header).join('\n')}
${settingsLine}
${helpers}
// ---- original source, unchanged --------------------------------------------------------
const ${loaderName} = (fetch) => {
${body}
  return ${name};
};
// ---- end of original source --------------------------------------------------------------

async function ${name}(input) {
  const call = __sia_startCall();
  const original = ${loaderName}(__sia_hardenFetch(call));
  return __sia_retryCall(call, () => original(input));
}
`;
}

/** Wraps `// ` comment lines at about 100 characters so the header stays readable. */
function wrapComment(lines: readonly string[]): string[] {
  const wrapped: string[] = [];
  for (const line of lines) {
    let rest = line.slice(3);
    while (rest.length > 97) {
      const cut = rest.lastIndexOf(' ', 97);
      const at = cut > 0 ? cut : 97;
      wrapped.push(`// ${rest.slice(0, at)}`);
      rest = `  ${rest.slice(at).trimStart()}`;
    }
    wrapped.push(`// ${rest}`);
  }
  return wrapped;
}
