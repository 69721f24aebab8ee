/**
 * A local exchange-rate HTTP API for the demo, on 127.0.0.1 and an OS-assigned port.
 *
 * `GET /rate?from=USD&to=ILS` answers `{ "from": "USD", "to": "ILS", "rate": 3.7 }`. The service
 * follows a schedule counted in requests: healthy, then degraded (a seeded share of requests is
 * rate-limited with `429` and `Retry-After`, and some answers are slow), then healthy again.
 * Counting requests instead of seconds makes a run repeat exactly: the same seed gives the same
 * answer to the n-th request, however fast the machine is.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** Units per US dollar. */
const PER_USD: Record<string, number> = { USD: 1, ILS: 3.7, EUR: 0.92, GBP: 0.79, JPY: 150 };

/** One phase of the schedule. */
export interface RatePhase {
  /** Shown in the demo's output. */
  readonly name: string;
  /** The phase starts with this request (1-based) and lasts until the next phase starts. */
  readonly fromRequest: number;
  /** Share of requests answered `429 Too Many Requests` with `Retry-After`. */
  readonly rateLimited: number;
  /** Share of the other requests answered slowly. */
  readonly slow: number;
}

/** Options of {@link startRateApi}. */
export interface RateApiOptions {
  /** Seed of the pseudo-random choices (which requests fail or are slow). @default 7 */
  readonly seed?: number;
  /** The phases, by first request. @default {@link DEFAULT_SCHEDULE} */
  readonly schedule?: readonly RatePhase[];
  /** The `Retry-After` of a 429, in seconds. @default 1 */
  readonly retryAfterSeconds?: number;
  /** Latency of a normal answer (a random value in this range), ms. @default [2, 10] */
  readonly latencyMs?: readonly [number, number];
  /** Latency of a slow answer, ms. @default [150, 350] */
  readonly slowMs?: readonly [number, number];
  /** Called when a request starts a new phase. */
  readonly onPhase?: (phase: RatePhase, request: number) => void;
}

/** Healthy, then a rough patch, then healthy again. */
export const DEFAULT_SCHEDULE: readonly RatePhase[] = [
  { name: 'healthy', fromRequest: 1, rateLimited: 0, slow: 0 },
  {
    name: 'degraded: 429 bursts with Retry-After, latency spikes',
    fromRequest: 30,
    rateLimited: 0.4,
    slow: 0.12,
  },
  { name: 'recovered', fromRequest: 75, rateLimited: 0, slow: 0 },
];

/** A running rate API. */
export interface RateApi {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  /** `127.0.0.1:<port>`: the one entry a tool needs in its `network` capability. */
  readonly hostPort: string;
  /** Requests answered so far, by status. */
  readonly statuses: ReadonlyMap<number, number>;
  /** The phase the next request falls in. */
  phase(): RatePhase;
  /** Stops the server and drops open connections. */
  close(): Promise<void>;
}

/** Starts the API. */
export async function startRateApi(options: RateApiOptions = {}): Promise<RateApi> {
  const schedule = options.schedule ?? DEFAULT_SCHEDULE;
  const retryAfter = options.retryAfterSeconds ?? 1;
  const [fastMin, fastMax] = options.latencyMs ?? [2, 10];
  const [slowMin, slowMax] = options.slowMs ?? [150, 350];
  const random = mulberry32(options.seed ?? 7);
  const statuses = new Map<number, number>();
  const sockets = new Set<Socket>();
  let requests = 0;
  let current: RatePhase | undefined;

  const phaseOf = (request: number): RatePhase => {
    let found = schedule[0] as RatePhase;
    for (const phase of schedule) if (request >= phase.fromRequest) found = phase;
    return found;
  };

  const reply = (response: ServerResponse, status: number, body: unknown, headers = {}) => {
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(JSON.stringify(body));
  };

  const server = createServer((request, response) => {
    requests += 1;
    const phase = phaseOf(requests);
    if (phase !== current) {
      current = phase;
      options.onPhase?.(phase, requests);
    }
    // Draw every number for every request, so one request's outcome never shifts the next one's.
    const limited = random() < phase.rateLimited;
    const slow = random() < phase.slow;
    const jitter = random();
    if (limited) {
      reply(response, 429, { error: 'rate limit exceeded' }, { 'retry-after': String(retryAfter) });
      return;
    }
    const delay = slow ? slowMin + jitter * (slowMax - slowMin) : fastMin + jitter * (fastMax - fastMin);
    setTimeout(() => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const from = (url.searchParams.get('from') ?? '').toUpperCase();
      const to = (url.searchParams.get('to') ?? '').toUpperCase();
      const fromPerUsd = PER_USD[from];
      const toPerUsd = PER_USD[to];
      if (url.pathname !== '/rate') return reply(response, 404, { error: 'not found: use GET /rate' });
      if (fromPerUsd === undefined || toPerUsd === undefined) {
        return reply(response, 400, { error: `unknown currency; known: ${Object.keys(PER_USD).join(', ')}` });
      }
      reply(response, 200, { from, to, rate: Math.round((toPerUsd / fromPerUsd) * 1e6) / 1e6 });
    }, delay);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    statuses,
    phase: () => phaseOf(requests + 1),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A small seeded generator (mulberry32): the same seed gives the same sequence. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
