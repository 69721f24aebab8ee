import type { LookupAddress } from 'node:dns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../test/support/http-server.ts';
import { NetworkPolicy } from '../network-policy.ts';
import { FetchFailure, type HostLookup, type WorkerFetchRequest, workerFetch } from './worker-fetch.ts';

let server: TestServer;
let redirector: TestServer;

beforeAll(async () => {
  server = await startTestServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end('inside');
  });
  redirector = await startTestServer((request, response) => {
    const target = new URL(request.url ?? '/', 'http://127.0.0.1').searchParams.get('to') ?? '/';
    response.writeHead(302, { location: target });
    response.end();
  });
});
afterAll(async () => {
  await server.close();
  await redirector.close();
});

/** A resolver that answers every name with `addresses` and counts the lookups per name. */
function fakeDns(addresses: readonly string[]): HostLookup & { calls: string[] } {
  const calls: string[] = [];
  const lookup = (
    hostname: string,
    _family: number,
    callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
  ) => {
    calls.push(hostname);
    callback(
      null,
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
    );
  };
  return Object.assign(lookup, { calls });
}

function get(url: string): WorkerFetchRequest {
  return { url, method: 'GET', headers: [], redirect: 'follow', timeoutMs: 0 };
}

function budget() {
  return { timeoutMs: 10_000, maxResponseBytes: 1_000_000, maxRequests: 10, used: 0 };
}

async function refusal(promise: Promise<unknown>): Promise<FetchFailure> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof FetchFailure) return error;
    throw error;
  }
  throw new Error('expected the request to be refused');
}

describe('workerFetch DNS rebinding protection', () => {
  it('refuses a listed host NAME that resolves to loopback, with and without a port in the entry', async () => {
    for (const entry of [`rebind.test:${server.port}`, 'rebind.test']) {
      const dns = fakeDns(['127.0.0.1']);
      const url = entry.includes(':') ? `http://rebind.test:${server.port}/` : 'http://rebind.test/';
      const failure = await refusal(
        workerFetch(
          get(url),
          undefined,
          new NetworkPolicy([entry]),
          budget(),
          new AbortController().signal,
          dns,
        ),
      );
      expect(failure.kind).toBe('denied');
      expect(failure.target).toBe(new URL(url).host);
      expect(failure.message).toContain('rebind.test resolves to 127.0.0.1');
      expect(failure.message).toContain('allow-private');
      expect(dns.calls).toEqual(['rebind.test']);
    }
    expect(server.requests).toHaveLength(0);
  });

  it.each([
    ['169.254.169.254'],
    ['10.0.0.7'],
    ['100.64.1.1'],
    ['0.0.0.0'],
    ['::'],
    ['::1'],
    ['fe80::1'],
    ['fd00:ec2::254'],
    ['::ffff:127.0.0.1'],
    ['::ffff:a9fe:a9fe'],
  ])('refuses a name that resolves to %s', async (address) => {
    const before = server.requests.length;
    const failure = await refusal(
      workerFetch(
        get(`http://rebind.test:${server.port}/`),
        undefined,
        new NetworkPolicy([`rebind.test:${server.port}`]),
        budget(),
        new AbortController().signal,
        fakeDns([address]),
      ),
    );
    expect(failure.kind).toBe('denied');
    expect(failure.message).toContain(`resolves to ${address}`);
    expect(server.requests.length).toBe(before);
  });

  it('refuses a name when any one of its addresses is private', async () => {
    const failure = await refusal(
      workerFetch(
        get(`http://rebind.test:${server.port}/`),
        undefined,
        new NetworkPolicy([`rebind.test:${server.port}`]),
        budget(),
        new AbortController().signal,
        fakeDns(['93.184.216.34', '127.0.0.1']),
      ),
    );
    expect(failure.message).toContain('resolves to 127.0.0.1');
  });

  it('connects to the checked address when the entry opts in, resolving once', async () => {
    const dns = fakeDns(['127.0.0.1']);
    const before = server.requests.length;
    const response = await workerFetch(
      get(`http://rebind.test:${server.port}/ok`),
      undefined,
      new NetworkPolicy([`rebind.test:${server.port} allow-private`]),
      budget(),
      new AbortController().signal,
      dns,
    );
    expect(response.status).toBe(200);
    expect(Buffer.from(response.body).toString()).toBe('inside');
    expect(dns.calls).toEqual(['rebind.test']);
    expect(server.requests.length).toBe(before + 1);
    expect(server.requests.at(-1)?.headers.host).toBe(`rebind.test:${server.port}`);
  });

  it('keeps literal IP entries listed with their port working (an explicit grant)', async () => {
    const dns = fakeDns([]);
    const response = await workerFetch(
      get(`${server.origin}/x`),
      undefined,
      new NetworkPolicy([server.hostPort]),
      budget(),
      new AbortController().signal,
      dns,
    );
    expect(response.status).toBe(200);
    expect(dns.calls).toEqual([]);
  });

  it('checks every redirect hop: a redirect to a name resolving to a private address is refused', async () => {
    const before = server.requests.length;
    const target = `http://rebind.test:${server.port}/stolen`;
    const dns = fakeDns(['127.0.0.1']);
    const failure = await refusal(
      workerFetch(
        get(`${redirector.origin}/?to=${encodeURIComponent(target)}`),
        undefined,
        new NetworkPolicy([redirector.hostPort, `rebind.test:${server.port}`]),
        budget(),
        new AbortController().signal,
        dns,
      ),
    );
    expect(failure.kind).toBe('denied');
    expect(failure.message).toContain('rebind.test resolves to 127.0.0.1');
    expect(dns.calls).toEqual(['rebind.test']);
    expect(server.requests.length).toBe(before);
    const followed = await workerFetch(
      get(`${redirector.origin}/?to=${encodeURIComponent(target)}`),
      undefined,
      new NetworkPolicy([redirector.hostPort, `rebind.test:${server.port} allow-private`]),
      budget(),
      new AbortController().signal,
      fakeDns(['127.0.0.1']),
    );
    expect(followed).toMatchObject({ status: 200, redirected: true });
  });

  it('refuses a redirect to the metadata address even when the redirecting host is trusted', async () => {
    const failure = await refusal(
      workerFetch(
        get(`${redirector.origin}/?to=${encodeURIComponent('http://169.254.169.254/latest/meta-data/')}`),
        undefined,
        new NetworkPolicy([redirector.hostPort, '169.254.169.254']),
        budget(),
        new AbortController().signal,
        fakeDns([]),
      ),
    );
    expect(failure.kind).toBe('denied');
    expect(failure.message).toContain('169.254.169.254 is a link-local address');
  });

  it('refuses "localhost" resolved by the system unless its entry opts in', async () => {
    const policy = new NetworkPolicy([`localhost:${server.port}`]);
    const failure = await refusal(
      workerFetch(
        get(`http://localhost:${server.port}/`),
        undefined,
        policy,
        budget(),
        new AbortController().signal,
      ),
    );
    expect(failure.message).toMatch(/localhost resolves to (127\.0\.0\.1|::1)\./);
    const allowed = await workerFetch(
      get(`http://localhost:${server.port}/`),
      undefined,
      new NetworkPolicy([`localhost:${server.port} allow-private`]),
      budget(),
      new AbortController().signal,
    );
    expect(allowed.status).toBe(200);
  });
});
