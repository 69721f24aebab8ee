import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import { mulberry32 as seededRandom } from '../../test/support/mulberry32.ts';
import { type RewriteRequestInput, rewriteRequest } from '../../test/support/rewrite-request.ts';
import { sandboxFailure as failure } from '../../test/support/sandbox-failure.ts';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { CodeValidator } from '../generation/code-validator.ts';
import { QuickJsSandbox, SandboxError } from '../sandbox/index.ts';
import { classifyError } from './classify-error.ts';
import { HardeningRewriter } from './hardening-rewriter.ts';
import type { RewriteDecline, RewriteProposal } from './rewriter.ts';

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

/** A tool without retries, as a first generated version typically is. */
function rateTool(url: string, name = 'fetch_rate'): string {
  return `async function ${name}({ to }) {
  const response = await fetch(${JSON.stringify(url)});
  if (!response.ok) throw new Error('HTTP ' + response.status);
  const data = await response.json();
  return data.rates[to];
}`;
}

describe('HardeningRewriter', () => {
  let server: TestServer;
  let sandbox: QuickJsSandbox;
  const validator = new CodeValidator();
  const random = seededRandom(20_240_611);
  const flaky = { requests: 0, failures: 0 };
  const seen = new Map<string, number[]>(); // key → server-side arrival times

  beforeAll(async () => {
    server = await startTestServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const key = url.searchParams.get('key') ?? '';
      const arrivals = seen.get(key) ?? [];
      arrivals.push(Date.now());
      seen.set(key, arrivals);
      const count = arrivals.length;
      switch (url.pathname) {
        case '/flaky': {
          flaky.requests += 1;
          if (random() < 0.5) {
            flaky.failures += 1;
            json(response, random() < 0.5 ? 429 : 503, { error: 'busy' });
          } else json(response, 200, { rates: { EUR: 0.92 } });
          return;
        }
        case '/retry-after':
          if (count === 1)
            json(
              response,
              429,
              { error: 'slow down' },
              { 'retry-after': url.searchParams.get('wait') ?? '1' },
            );
          else json(response, 200, { rates: { EUR: 0.92 } });
          return;
        case '/hang-first':
          if (count === 1) setTimeout(() => json(response, 200, { rates: { EUR: 0.5 } }), 2_000);
          else json(response, 200, { rates: { EUR: 0.92 } });
          return;
        case '/busy-body':
          json(response, 200, count <= 2 ? { error: 'upstream status 503' } : { rates: { EUR: 0.92 } });
          return;
        case '/always-503':
          json(response, 503, { error: 'down' });
          return;
        case '/not-found':
          json(response, 404, { error: 'no such currency' });
          return;
        default:
          json(response, 200, { rates: { EUR: 0.92 } });
      }
    });
    // A generous deadline: a busy machine slows the calls down; a tool that waited out a long
    // Retry-After or a hung request would still end as TIMEOUT, which the tests tell apart.
    sandbox = new QuickJsSandbox({ timeoutMs: 30_000, network: { allow: [server.hostPort] } });
  });

  afterAll(async () => {
    await sandbox.close();
    await server.close();
  });

  async function harden(
    input: RewriteRequestInput,
    rewriter = new HardeningRewriter({ baseDelayMs: 5, maxDelayMs: 50 }),
  ): Promise<RewriteProposal> {
    const proposal = await rewriter.rewrite(rewriteRequest({ network: [server.hostPort], ...input }));
    if (proposal === null) throw new Error('expected a proposal');
    return proposal;
  }

  async function successRate(source: string, calls: number): Promise<number> {
    let successes = 0;
    for (let call = 0; call < calls; call += 1) {
      try {
        const rate = await sandbox.run({ source, entry: 'fetch_rate' }, { from: 'USD', to: 'EUR' });
        if (rate === 0.92) successes += 1;
      } catch (error) {
        if (!SandboxError.isInstance(error) || error.code !== 'TOOL_ERROR') throw error;
      }
    }
    return successes / calls;
  }

  it('wraps the original verbatim under a header, keeps the name, and passes the CodeValidator', async () => {
    const original = rateTool(`${server.origin}/plain`);
    const proposal = await harden({ source: original });
    expect(proposal.author).toBe('hardening');
    expect(proposal.usage).toBeUndefined();
    expect(proposal.source.startsWith('// hardened by self-improving-agent: retries on 429/5xx')).toBe(true);
    expect(proposal.source).toContain(original);
    expect(proposal.source).toContain('async function fetch_rate(input) {');
    expect(proposal.rationale).toMatch(/^Hardening for LOW_SCORE, LOW_SUCCESS: retries on HTTP 429\/5xx/);
    expect(proposal.rationale).toContain('1 of 1 recent error messages look transient');
    const result = validator.validate(proposal.source, { name: 'fetch_rate' });
    expect(result).toEqual({ ok: true, source: proposal.source.trim() });
    expect(validator.validate(proposal.source, { name: 'other_name' }).ok).toBe(false);
    await expect(sandbox.run({ source: proposal.source, entry: 'fetch_rate' }, { to: 'EUR' })).resolves.toBe(
      0.92,
    );
  });

  it('is deterministic: the same request gives the same source', async () => {
    const input = { source: rateTool(`${server.origin}/plain`) };
    expect((await harden(input)).source).toBe((await harden(input)).source);
  });

  it('returns null when applied twice', async () => {
    const proposal = await harden({ source: rateTool(`${server.origin}/plain`) });
    const again = await new HardeningRewriter().rewrite(
      rewriteRequest({ source: proposal.source, network: [server.hostPort] }),
    );
    expect(again).toBeNull();
  });

  it('recognises a hardened source by its loader even without the header comment', async () => {
    const proposal = await harden({ source: rateTool(`${server.origin}/plain`) });
    const withoutComments = proposal.source
      .split('\n')
      .filter((line) => !line.startsWith('//'))
      .join('\n');
    expect(await new HardeningRewriter().rewrite(rewriteRequest({ source: withoutComments }))).toBeNull();
  });

  it('returns null when every recent error is a logic error', async () => {
    const request = rewriteRequest({
      source: rateTool(`${server.origin}/plain`),
      recentErrors: [
        "TypeError: cannot read property 'EUR' of undefined",
        'ReferenceError: rates is not defined',
        'data.map is not a function',
        'Error: "to" must be a three-letter currency code',
      ],
    });
    const declines: RewriteDecline[] = [];
    expect(
      await new HardeningRewriter().rewrite({ ...request, onDecline: (decline) => declines.push(decline) }),
    ).toBeNull();
    expect(declines).toEqual([
      {
        rewriter: 'hardening',
        code: 'REWRITE_NOT_APPLICABLE',
        detail: 'the failures are logic errors, which retries and timeouts cannot fix',
      },
    ]);
  });

  it('returns null for a slow tool that fails every call with logic errors', async () => {
    const request = rewriteRequest({
      source: rateTool(`${server.origin}/plain`),
      reasons: ['LOW_SUCCESS', 'SLOW'],
      successRate: 0,
      recentErrors: ['TypeError: x is not a function'],
    });
    expect(await new HardeningRewriter().rewrite(request)).toBeNull();
  });

  it('still hardens when logic errors come with a transient one', async () => {
    const proposal = await harden({
      source: rateTool(`${server.origin}/plain`),
      recentErrors: ["TypeError: cannot read property 'EUR' of undefined", 'HTTP 429'],
    });
    expect(proposal.rationale).toContain('1 of 2 recent error messages look transient');
  });

  it.each([
    ['only INSUFFICIENT_DATA', { reasons: ['INSUFFICIENT_DATA'] }],
    ['no reasons', { reasons: [] }],
    ['a tool that never fetches', { source: 'function fetch_rate({ to }) { return { to, rate: 1 }; }' }],
    ['a tool without network capability', { network: [] }],
    [
      'a tool that declares its own fetch',
      { source: `const fetch = () => 1;\nfunction fetch_rate(input) { return fetch(); }` },
    ],
    ['a source that does not parse', { source: 'function fetch_rate( {' }],
    ['a source without the entry function', { source: rateTool('http://x/', 'other') }],
  ] as const)('returns null for %s', async (_label, change) => {
    const request = rewriteRequest({
      source: rateTool(`${server.origin}/plain`),
      network: [server.hostPort],
      ...(change as Partial<RewriteRequestInput>),
    });
    const codes: string[] = [];
    expect(
      await new HardeningRewriter().rewrite({ ...request, onDecline: (decline) => codes.push(decline.code) }),
    ).toBeNull();
    expect(codes).toEqual(['REWRITE_NOT_APPLICABLE']);
  });

  it('adds a per-attempt timeout and a GET cache only for slow or inconsistent tools', async () => {
    const failing = await harden({ source: rateTool(`${server.origin}/plain`) });
    expect(failing.source).toContain('attemptTimeoutMs: null, cacheGets: false');
    const slow = await harden({ source: rateTool(`${server.origin}/plain`), reasons: ['SLOW'], p50: 300 });
    expect(slow.source).toContain('attemptTimeoutMs: 600, cacheGets: true');
    expect(slow.rationale).toContain(
      'a 600 ms timeout per fetch attempt, a per-call cache of identical GET requests',
    );
    const fast = await harden({
      source: rateTool(`${server.origin}/plain`),
      reasons: ['INCONSISTENT'],
      p50: 20,
    });
    expect(fast.source).toContain('attemptTimeoutMs: 250,');
    const capped = await harden(
      { source: rateTool(`${server.origin}/plain`), reasons: ['SLOW'], p50: 3_000 },
      new HardeningRewriter({ budgetMs: 2_000 }),
    );
    expect(capped.source).toContain('attemptTimeoutMs: 1000,');
    const fixed = await harden(
      { source: rateTool(`${server.origin}/plain`), reasons: ['SLOW'] },
      new HardeningRewriter({ attemptTimeoutMs: 1234, cacheGets: false }),
    );
    expect(fixed.source).toContain('attemptTimeoutMs: 1234, cacheGets: false');
  });

  it('raises the success rate of a tool behind a server failing 50% of requests with 429/503 to ≥ 0.95', async () => {
    const original = rateTool(`${server.origin}/flaky`);
    const hardened = (await harden({ source: original, recentErrors: ['HTTP 429', 'HTTP 503'] })).source;

    flaky.requests = 0;
    flaky.failures = 0;
    const originalRate = await successRate(original, 100);
    expect(flaky.requests).toBe(100);
    expect(originalRate).toBeCloseTo(1 - flaky.failures / 100, 10);
    expect(originalRate).toBeGreaterThanOrEqual(0.4);
    expect(originalRate).toBeLessThanOrEqual(0.6);

    flaky.requests = 0;
    flaky.failures = 0;
    const hardenedRate = await successRate(hardened, 100);
    expect(hardenedRate).toBeGreaterThanOrEqual(0.95);
    // The retries are what did it: the server kept failing about half of all requests.
    expect(flaky.requests).toBeGreaterThan(150);
    expect(flaky.failures / flaky.requests).toBeGreaterThan(0.35);
  });

  it('honours Retry-After in seconds: the retry arrives at least a second after the 429', async () => {
    const source = (await harden({ source: rateTool(`${server.origin}/retry-after?key=seconds&wait=1`) }))
      .source;
    await expect(sandbox.run({ source, entry: 'fetch_rate' }, { to: 'EUR' })).resolves.toBe(0.92);
    const [first, second, ...rest] = seen.get('seconds') ?? [];
    expect(rest).toEqual([]);
    expect((second as number) - (first as number)).toBeGreaterThanOrEqual(980);
  });

  it('honours Retry-After as an HTTP date', async () => {
    const at = new Date(Date.now() + 2_000).toUTCString(); // whole seconds: waits 1–2 s
    const url = `${server.origin}/retry-after?key=date&wait=${encodeURIComponent(at)}`;
    const source = (await harden({ source: rateTool(url) })).source;
    await expect(sandbox.run({ source, entry: 'fetch_rate' }, { to: 'EUR' })).resolves.toBe(0.92);
    const [first, second] = seen.get('date') ?? [];
    expect((second as number) - (first as number)).toBeGreaterThanOrEqual(900);
  });

  it('does not wait for a Retry-After longer than the time budget: it reports the 429 at once', async () => {
    // An hour: a tool that waited would end as TIMEOUT (the sandbox's deadline), not TOOL_ERROR.
    const source = (await harden({ source: rateTool(`${server.origin}/retry-after?key=long&wait=3600`) }))
      .source;
    const failed = await failure(sandbox.run({ source, entry: 'fetch_rate' }, { to: 'EUR' }));
    expect(failed.code).toBe('TOOL_ERROR');
    expect(failed.message).toContain('HTTP 429');
    // The call-level retry remembers the Retry-After too, so the server is not asked again.
    expect(seen.get('long')).toHaveLength(1);
  });

  it('gives up after maxAttempts tries of each request and of the call', async () => {
    const source = (
      await harden(
        { source: rateTool(`${server.origin}/always-503?key=down`) },
        new HardeningRewriter({ maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 }),
      )
    ).source;
    const failed = await failure(sandbox.run({ source, entry: 'fetch_rate' }, { to: 'EUR' }));
    expect(failed.message).toContain('HTTP 503');
    expect(seen.get('down')).toHaveLength(9);
  });

  it('retries the whole call when the tool itself throws a transient error', async () => {
    const source = `async function fetch_rate({ to }) {
  const data = await (await fetch('${server.origin}/busy-body?key=body')).json();
  if (data.error) throw new Error(data.error);
  return data.rates[to];
}`;
    const hardened = (await harden({ source, recentErrors: ['upstream status 503'] })).source;
    await expect(sandbox.run({ source: hardened, entry: 'fetch_rate' }, { to: 'EUR' })).resolves.toBe(0.92);
    expect(seen.get('body')).toHaveLength(3);
  });

  it('does not retry errors that are not transient: a 404, a TypeError, a validation error', async () => {
    const source = `async function fetch_rate({ to, path }) {
  if (typeof to !== 'string') throw new Error('"to" must be a currency code');
  const response = await fetch('${server.origin}' + path);
  if (response.status === 404) return null;
  const data = await response.json();
  return data.rates[to].value.toFixed(2);
}`;
    const hardened = (await harden({ source })).source;
    await expect(
      sandbox.run({ source: hardened, entry: 'fetch_rate' }, { to: 'EUR', path: '/not-found?key=404' }),
    ).resolves.toBeNull();
    expect(seen.get('404')).toHaveLength(1);
    const typeError = await failure(
      sandbox.run({ source: hardened, entry: 'fetch_rate' }, { to: 'EUR', path: '/plain?key=type' }),
    );
    expect(typeError.guestError?.name).toBe('TypeError');
    expect(seen.get('type')).toHaveLength(1);
    const invalid = await failure(
      sandbox.run({ source: hardened, entry: 'fetch_rate' }, { to: 1, path: '/plain?key=invalid' }),
    );
    expect(invalid.message).toContain('must be a currency code');
    expect(seen.get('invalid')).toBeUndefined();
  });

  it('cuts off a hung attempt and retries it when the tool is slow', async () => {
    const original = rateTool(`${server.origin}/hang-first?key=hang`);
    const proposal = await harden(
      { source: original, reasons: ['SLOW'] },
      new HardeningRewriter({ attemptTimeoutMs: 200, baseDelayMs: 1 }),
    );
    await expect(sandbox.run({ source: proposal.source, entry: 'fetch_rate' }, { to: 'EUR' })).resolves.toBe(
      0.92,
    );
    // The first request never answers: the attempt's own time limit cut it off and the retry
    // answered. (Not the gap between the two arrivals: on a busy machine the first one can
    // reach the server late, so a time bound here would test the machine.)
    expect(seen.get('hang')).toHaveLength(2);
  });

  it('shares one response between identical GET requests within a call, not across calls', async () => {
    const source = `async function fetch_rate({ to }) {
  const url = '${server.origin}/plain?key=cache';
  const [a, b] = await Promise.all([fetch(url), fetch(url)]);
  const c = await fetch(url);
  const d = await fetch(url, { headers: { accept: 'text/plain' } });
  const values = await Promise.all([a.json(), b.json(), c.json(), d.json()]);
  return values.map((value) => value.rates[to]);
}`;
    const proposal = await harden({ source, reasons: ['SLOW'] });
    const expected = [0.92, 0.92, 0.92, 0.92];
    await expect(
      sandbox.run({ source: proposal.source, entry: 'fetch_rate' }, { to: 'EUR' }),
    ).resolves.toEqual(expected);
    expect(seen.get('cache')).toHaveLength(2); // one per distinct header set
    await expect(
      sandbox.run({ source: proposal.source, entry: 'fetch_rate' }, { to: 'EUR' }),
    ).resolves.toEqual(expected);
    expect(seen.get('cache')).toHaveLength(4);
    await expect(sandbox.run({ source, entry: 'fetch_rate' }, { to: 'EUR' })).resolves.toEqual(expected);
    expect(seen.get('cache')).toHaveLength(8);
  });

  it('keeps the original top-level helpers working, with the hardened fetch', async () => {
    const source = `const base = '${server.origin}';
const getJson = async (path) => {
  const response = await fetch(base + path);
  if (!response.ok) throw new Error('HTTP ' + response.status);
  return response.json();
};
function fetch_rate({ to }) {
  return getJson('/retry-after?key=helper&wait=0').then((data) => data.rates[to]);
}`;
    const proposal = await harden({ source });
    expect(validator.validate(proposal.source, { name: 'fetch_rate' }).ok).toBe(true);
    await expect(sandbox.run({ source: proposal.source, entry: 'fetch_rate' }, { to: 'EUR' })).resolves.toBe(
      0.92,
    );
    expect(seen.get('helper')).toHaveLength(2);
  });

  it('validates its options', () => {
    expect(() => new HardeningRewriter({ maxAttempts: 0 })).toThrow(InvalidOptionError);
    expect(() => new HardeningRewriter({ baseDelayMs: 500, maxDelayMs: 100 })).toThrow(/maxDelayMs/);
    expect(() => new HardeningRewriter({ budgetMs: 1.5 })).toThrow(/budgetMs/);
    expect(() => new HardeningRewriter({ cacheGets: 'yes' as unknown as boolean })).toThrow(/cacheGets/);
    const rewriter = new HardeningRewriter({ baseDelayMs: 3_000 });
    expect(rewriter.options).toEqual({
      maxAttempts: 4,
      baseDelayMs: 3_000,
      maxDelayMs: 3_000,
      budgetMs: 4_000,
      attemptTimeoutMs: undefined,
      cacheGets: true,
    });
    expect(Object.isFrozen(rewriter.options)).toBe(true);
    expect(rewriter.name).toBe('hardening');
  });
});

describe('classifyError', () => {
  it.each([
    ['HTTP 503', 'transient'],
    ['Request failed with status code 429', 'transient'],
    ['503 Service Unavailable', 'transient'],
    ['429', 'transient'],
    ['TypeError: fetch failed: connect ECONNREFUSED 127.0.0.1:9', 'transient'],
    ['TimeoutError: fetch attempt timed out after 250 ms', 'transient'],
    ['rate limit exceeded', 'transient'],
    ["TypeError: cannot read property 'EUR' of undefined", 'logic'],
    ['ReferenceError: rates is not defined', 'logic'],
    ['data.map is not a function', 'logic'],
    ['amount must be below 500', 'logic'],
    ['something odd happened', 'unknown'],
  ] as const)('%s → %s', (message, kind) => {
    expect(classifyError(message)).toBe(kind);
  });
});
