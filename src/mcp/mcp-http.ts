import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { integerOption } from '../core/options.ts';
import { classifyAddress } from '../sandbox/network-policy.ts';

/** Options of `McpToolServer.listen`: the Streamable HTTP endpoint. */
export interface McpHttpOptions {
  /**
   * The address to bind. Loopback (`127.0.0.1`, `::1`, `localhost`) serves only this machine;
   * any other address (`0.0.0.0`, a LAN address, a name) needs `token`.
   * @default '127.0.0.1'
   */
  host?: string;
  /** The port; `0` picks a free one (read it from the endpoint's `port`). @default 0 */
  port?: number;
  /** The endpoint's path. @default '/mcp' */
  path?: string;
  /**
   * The bearer token every request must carry (`Authorization: Bearer <token>`), at least 16
   * characters (e.g. `openssl rand -hex 32`). Required when `host` is not loopback; optional on
   * loopback, where it is enforced when given.
   * @default none
   */
  token?: string;
  /**
   * Host header names (without port) requests may carry, against DNS rebinding. On loopback the
   * default accepts `localhost`, `127.0.0.1` and `[::1]` only; elsewhere every name is accepted
   * (the token guards the endpoint) unless this lists them.
   */
  allowedHosts?: string[];
  /**
   * Most MCP sessions open at once; an initialize beyond it is refused with 503 (`Retry-After`)
   * until a session ends (`DELETE`) or is closed for idleness. @default 1000
   */
  maxSessions?: number;
  /**
   * A session with no request in progress and no notification stream open for this long is
   * closed (a client that went away without `DELETE`, as the SDK's own client does). A client
   * that comes back with its id gets 404 "Session not found" and must initialize again (the
   * SDK's client reports the error rather than doing so). Clients that keep their notification
   * stream open, as the SDK's client does while connected, are never closed. @default 300000
   */
  sessionIdleMs?: number;
}

/** A listening Streamable HTTP endpoint. */
export interface McpHttpEndpoint {
  /** The URL clients connect to, e.g. `http://127.0.0.1:3333/mcp`. */
  readonly url: string;
  /** The bound address. */
  readonly host: string;
  /** The bound port. */
  readonly port: number;
  /** Open MCP sessions. */
  readonly sessions: () => number;
  /** Ends every session and stops listening. */
  close(): Promise<void>;
}

/** Whether `host` is a loopback address (`127.0.0.0/8`, `::1`, IPv4-mapped ones) or `localhost`. */
export function isLoopbackHost(host: string): boolean {
  return host.toLowerCase() === 'localhost' || classifyAddress(host) === 'loopback';
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/** The hostname of a Host header (`example.com:80` → `example.com`, `[::1]:80` → `[::1]`). */
function hostnameOf(header: string): string {
  if (header.startsWith('[')) return header.slice(0, header.indexOf(']') + 1).toLowerCase();
  const colon = header.lastIndexOf(':');
  return (colon === -1 ? header : header.slice(0, colon)).toLowerCase();
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Writes a JSON-RPC error response (the body MCP clients expect on an HTTP error). */
function reply(
  response: ServerResponse,
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (response.headersSent) {
    response.end();
    return;
  }
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

function checkOptions(options: McpHttpOptions) {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError({ field: 'options', expected: 'an object', value: options });
  }
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host.trim() === '') {
    throw new InvalidOptionError({ field: 'host', expected: 'an address or host name', value: host });
  }
  const port = options.port === undefined ? 0 : integerOption('port', options.port, 0, 65_535);
  const path = options.path ?? '/mcp';
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new InvalidOptionError({ field: 'path', expected: 'a path starting with /', value: path });
  }
  const token = options.token;
  if (token !== undefined && (typeof token !== 'string' || token.length < 16 || /\s/.test(token))) {
    throw new InvalidOptionError({
      field: 'token',
      expected: 'a string of at least 16 characters without spaces (e.g. openssl rand -hex 32)',
      value: typeof token === 'string' ? `(${token.length} characters)` : token,
    });
  }
  const local = isLoopbackHost(host);
  if (!local && token === undefined) {
    throw new InvalidOptionError({
      field: 'token',
      expected: `a bearer token: host ${host} is not loopback, so anyone who can reach it could call the tools (bind to 127.0.0.1, or give a token)`,
      value: token,
    });
  }
  const allowed = options.allowedHosts;
  if (
    allowed !== undefined &&
    (!Array.isArray(allowed) || allowed.some((name) => typeof name !== 'string'))
  ) {
    throw new InvalidOptionError({
      field: 'allowedHosts',
      expected: 'an array of host names',
      value: allowed,
    });
  }
  const maxSessions =
    options.maxSessions === undefined ? 1000 : integerOption('maxSessions', options.maxSessions, 1);
  const sessionIdleMs =
    options.sessionIdleMs === undefined
      ? 300_000
      : integerOption('sessionIdleMs', options.sessionIdleMs, 1000);
  return {
    host,
    port,
    path,
    token,
    maxSessions,
    sessionIdleMs,
    allowedHosts: allowed
      ? new Set(allowed.map((name) => name.toLowerCase()))
      : local
        ? new Set([...LOOPBACK_NAMES, (isIP(host) === 6 ? `[${host}]` : host).toLowerCase()])
        : undefined,
    local,
  };
}

interface Session {
  readonly transport: StreamableHTTPServerTransport;
  readonly server: Server;
  /** Requests (and notification streams) of the session in progress. */
  active: number;
  /** When its last request ended (or started), ms. */
  lastSeen: number;
}

/** Counts a request of `session` as in progress until its response closes. */
function track(session: Session, response: ServerResponse): void {
  session.active += 1;
  session.lastSeen = Date.now();
  response.once('close', () => {
    session.active -= 1;
    session.lastSeen = Date.now();
  });
}

/**
 * Serves MCP over Streamable HTTP with the SDK's transport, one session (and one `Server` from
 * `createServer`) per client. Before a request reaches the transport it is checked: the path,
 * the Host header (DNS rebinding), a browser's Origin on loopback, and the bearer token; each
 * refusal is a JSON-RPC error body with the HTTP status (404, 403, 401, 503). A request that
 * throws is answered 500; nothing a client sends crashes the process.
 */
export async function serveMcpHttp(
  newServer: () => Server,
  options: McpHttpOptions = {},
): Promise<McpHttpEndpoint> {
  const config = checkOptions(options);
  const expected = config.token === undefined ? undefined : digest(config.token);
  const sessions = new Map<string, Session>();

  const authorized = (header: string | undefined): boolean => {
    if (expected === undefined) return true;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    return match !== null && timingSafeEqual(digest(match[1] as string), expected);
  };

  const end = async (session: Session): Promise<void> => {
    if (session.transport.sessionId !== undefined) sessions.delete(session.transport.sessionId);
    await session.server.close().catch(() => undefined);
  };
  // Closes sessions whose client went away without DELETE; never keeps the process alive.
  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const session of [...sessions.values()]) {
        if (session.active === 0 && now - session.lastSeen >= config.sessionIdleMs) void end(session);
      }
    },
    Math.min(config.sessionIdleMs, 60_000),
  );
  sweep.unref();

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== config.path) {
      reply(response, 404, ErrorCode.InvalidRequest, `Not found: the MCP endpoint is ${config.path}`);
      return;
    }
    const host = request.headers.host;
    if (
      config.allowedHosts !== undefined &&
      (host === undefined || !config.allowedHosts.has(hostnameOf(host)))
    ) {
      reply(response, 403, ErrorCode.InvalidRequest, 'Forbidden: Host header not allowed');
      return;
    }
    const origin = request.headers.origin;
    if (config.local && origin !== undefined && !originIsLoopback(origin)) {
      reply(response, 403, ErrorCode.InvalidRequest, 'Forbidden: Origin not allowed');
      return;
    }
    if (!authorized(request.headers.authorization)) {
      reply(response, 401, ErrorCode.InvalidRequest, 'Unauthorized: send Authorization: Bearer <token>', {
        'www-authenticate': 'Bearer realm="self-improving-agent"',
      });
      return;
    }
    const sessionId = request.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const session = sessions.get(sessionId);
      if (session === undefined) {
        reply(response, 404, ErrorCode.InvalidRequest, 'Session not found: initialize a new session');
        return;
      }
      track(session, response);
      await session.transport.handleRequest(request, response);
      return;
    }
    if (request.method !== 'POST') {
      reply(response, 400, ErrorCode.InvalidRequest, 'Bad Request: no Mcp-Session-Id; POST initialize first');
      return;
    }
    if (sessions.size >= config.maxSessions) {
      reply(
        response,
        503,
        ErrorCode.InternalError,
        'Too many MCP sessions open: close one (DELETE) and retry',
        {
          'retry-after': '5',
        },
      );
      return;
    }
    const server = newServer();
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        const session: Session = { transport, server, active: 0, lastSeen: Date.now() };
        sessions.set(id, session);
        track(session, response);
      },
      onsessionclosed: (id) => {
        sessions.delete(id);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    await transport.handleRequest(request, response);
    // Not an initialize (the transport answered 400): nothing to keep.
    if (transport.sessionId === undefined || !sessions.has(transport.sessionId)) await server.close();
  };

  const http = createServer((request, response) => {
    handle(request, response).catch(() => {
      reply(response, 500, ErrorCode.InternalError, 'Internal error');
    });
  });
  http.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', (error) => {
      clearInterval(sweep);
      reject(error);
    });
    http.listen(config.port, config.host, () => {
      http.removeAllListeners('error');
      resolve();
    });
  });
  const address = http.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const urlHost = isIP(config.host) === 6 ? `[${config.host}]` : config.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}${config.path}`,
    host: config.host,
    port,
    sessions: () => sessions.size,
    close: () => {
      closing ??= (async () => {
        clearInterval(sweep);
        const open = [...sessions.values()];
        sessions.clear();
        await Promise.allSettled(open.map((session) => session.server.close()));
        await new Promise<void>((resolve) => {
          http.close(() => resolve());
          http.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}

function originIsLoopback(origin: string): boolean {
  try {
    return isLoopbackHost(new URL(origin).hostname);
  } catch {
    return false;
  }
}
