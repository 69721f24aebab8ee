/**
 * A fault-injecting exchange-rate API on 127.0.0.1 for agent tests:
 * `GET /rate?from=USD&to=ILS` → `{ "rate": 3.7 }`. `failRate` makes a seeded share of requests
 * answer 503 or 429 instead.
 */
import { startTestServer, type TestServer } from './http-server.ts';
import { mulberry32 } from './mulberry32.ts';

const RATES: Record<string, number> = { USD: 1, ILS: 3.7, EUR: 0.92, GBP: 0.79, JPY: 150 };

/** A running rate server. */
export interface RateServer extends TestServer {
  /** Share of requests that fail (0–1), from now on. */
  failRate: number;
  /** Answered requests by status. */
  readonly statuses: Map<number, number>;
}

/** Starts the server; failures follow a seeded generator so runs repeat. */
export async function startRateServer(seed = 7): Promise<RateServer> {
  const random = mulberry32(seed);
  const statuses = new Map<number, number>();
  const server = await startTestServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const answer = (status: number, body: unknown) => {
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (random() < rateServer.failRate) {
      answer(random() < 0.5 ? 503 : 429, { error: 'temporarily unavailable' });
      return;
    }
    const from = RATES[url.searchParams.get('from') ?? ''];
    const to = RATES[url.searchParams.get('to') ?? ''];
    if (url.pathname !== '/rate' || from === undefined || to === undefined) {
      answer(404, { error: 'unknown currency' });
      return;
    }
    answer(200, { rate: Math.round((to / from) * 10_000) / 10_000 });
  });
  const rateServer: RateServer = Object.assign(server, { failRate: 0, statuses });
  return rateServer;
}

/** The source of a `fetch_exchange_rate` tool that reads this server at `hostPort` (v1: no retries). */
export const rateToolSource = (hostPort: string) => `async function fetch_exchange_rate({ from, to }) {
  const response = await fetch(\`http://${hostPort}/rate?from=\${encodeURIComponent(from)}&to=\${encodeURIComponent(to)}\`);
  if (!response.ok) throw new Error(\`rate service answered HTTP \${response.status}\`);
  const body = await response.json();
  return body.rate;
}`;
