import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  type ListToolsResult,
  McpError,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type {
  SelfImprovingAgent,
  ToolAvailability,
  ToolUnavailability,
} from '../agent/self-improving-agent.ts';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import type { Logger } from '../core/logger.ts';
import { integerOption, stringArrayOption, stringOption } from '../core/options.ts';
import { packageVersion } from '../core/package-version.ts';
import { type McpHttpEndpoint, type McpHttpOptions, serveMcpHttp } from './mcp-http.ts';
import { mcpErrorResult, mcpToolOf, mcpValueResult } from './mcp-tool-result.ts';

/** A managed tool and whether {@link McpToolServer} serves it, and why not. */
export interface McpToolAvailability {
  /** The tool with its active version. */
  readonly tool: ToolAvailability['tool'];
  /** Why it is not served (the agent's reasons, or `excluded` by `include` / `exclude`); absent when it is. */
  readonly unavailable?: ToolUnavailability | { readonly reason: 'excluded'; readonly message: string };
}

/** The part of the agent the MCP server uses: `SelfImprovingAgent` fits. */
export type McpServedAgent = Pick<
  SelfImprovingAgent,
  'toolAvailability' | 'readToolStates' | 'invoke' | 'on' | 'off'
>;

/** Options of {@link McpToolServer}. */
export interface McpToolServerOptions {
  /** The server's name in MCP's `serverInfo`. @default 'self-improving-agent' */
  name?: string;
  /** The server's version in MCP's `serverInfo`. @default this package's version */
  version?: string;
  /** Serve only these tools (names; a name the agent does not have is simply not served). @default every tool */
  include?: string[];
  /** Never serve these tools. @default [] */
  exclude?: string[];
  /** Instructions for the client's model, sent on initialize. @default none */
  instructions?: string;
  /**
   * How often the tools' disabled state is read from storage while clients are connected, ms,
   * so a tool disabled or enabled by another process leaves or rejoins their list (they are
   * told). @default 5000
   */
  stateRefreshMs?: number;
  /** Receives warnings: a notification that could not be sent, a failed read of the tools' state. */
  logger?: Logger;
}

/** The agent events after which the served tool list (or a tool's behaviour) may have changed. */
const CHANGES = [
  'tool:promoted',
  'tool:rolled-back',
  'tool:created',
  'tool:disabled',
  'tool:enabled',
  'tool:refreshed',
] as const;

function namesOption(field: string, value: unknown): ReadonlySet<string> | undefined {
  return value === undefined ? undefined : new Set(stringArrayOption(field, value, 'tool names'));
}

function textOption(field: string, value: unknown, fallback: string): string {
  return value === undefined ? fallback : stringOption(field, value);
}

/**
 * Serves an agent's managed tools to MCP clients (IDEs, desktop assistants, other agents), with
 * the official `@modelcontextprotocol/sdk`: over stdio (`connect(new StdioServerTransport())`),
 * over Streamable HTTP (`listen({ port })`), or over any SDK transport.
 *
 * Each tool is listed with its description, its real input schema and its output schema, and
 * answers with structured content (a value that is not an object comes as `{ result }`). Calls
 * go through `agent.invoke`: validated, sandboxed, recorded, evaluated, improved and promoted
 * like every other call. Input that does not match the schema gets an `isError: true` result
 * naming the path and is not recorded; a failing tool answers `isError: true` with its code.
 * Only tools a call can use are served (`agent.toolAvailability()`: not disabled, valid, with
 * their secrets supplied). When a promotion, rollback, creation, disabling or a change made by
 * another process (`tool:refreshed`) may change the list, every connected client is sent
 * `notifications/tools/list_changed`.
 * @example
 * const server = new McpToolServer(agent);
 * await server.connect(new StdioServerTransport());            // or:
 * const endpoint = await server.listen({ port: 3333 });         // http://127.0.0.1:3333/mcp
 */
export class McpToolServer {
  readonly #agent: McpServedAgent;
  readonly #info: { name: string; version: string };
  readonly #include: ReadonlySet<string> | undefined;
  readonly #exclude: ReadonlySet<string>;
  readonly #instructions: string | undefined;
  readonly #logger: Logger | undefined;
  readonly #stateRefreshMs: number;
  readonly #servers = new Set<Server>();
  readonly #endpoints = new Set<McpHttpEndpoint>();
  readonly #notify = () => this.notifyToolsChanged();
  /**
   * While clients are connected, reads the tools' state every few seconds, so a tool disabled
   * by another process (`sia disable`) is seen (`tool:refreshed`) and clients are told.
   */
  #stateTimer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(agent: McpServedAgent, options: McpToolServerOptions = {}) {
    if (typeof agent !== 'object' || agent === null || typeof agent.toolAvailability !== 'function') {
      throw new InvalidOptionError({ field: 'agent', expected: 'a SelfImprovingAgent', value: agent });
    }
    if (typeof options !== 'object' || options === null) {
      throw new InvalidOptionError({ field: 'options', expected: 'an object', value: options });
    }
    this.#agent = agent;
    this.#info = {
      name: textOption('name', options.name, 'self-improving-agent'),
      version: textOption('version', options.version, packageVersion()),
    };
    this.#include = namesOption('include', options.include);
    this.#exclude = namesOption('exclude', options.exclude) ?? new Set();
    this.#instructions =
      options.instructions === undefined ? undefined : textOption('instructions', options.instructions, '');
    this.#logger = options.logger;
    this.#stateRefreshMs =
      options.stateRefreshMs === undefined
        ? 5000
        : integerOption('stateRefreshMs', options.stateRefreshMs, 10);
    for (const event of CHANGES) agent.on(event, this.#notify);
  }

  /** Connected clients (one per stdio connection or HTTP session). */
  get connections(): number {
    return this.#servers.size;
  }

  /**
   * A new SDK `Server` wired to the agent, for one connection; `connect` and `listen` make one
   * per client. Use it to connect a transport the SDK offers that this class does not wrap.
   */
  createServer(): Server {
    this.#checkOpen();
    const server = new Server(this.#info, {
      capabilities: { tools: { listChanged: true } },
      ...(this.#instructions === undefined ? {} : { instructions: this.#instructions }),
    });
    server.setRequestHandler(ListToolsRequestSchema, () => this.#list());
    server.setRequestHandler(CallToolRequestSchema, (request) =>
      this.#call(request.params.name, request.params.arguments),
    );
    this.#servers.add(server);
    this.#stateTimer ??= setInterval(() => {
      if (this.#servers.size === 0) return;
      this.#agent.readToolStates().catch((error: unknown) => {
        this.#logger?.warn?.('could not read the tools’ state', { error: String(error) });
      });
    }, this.#stateRefreshMs);
    this.#stateTimer.unref?.();
    const previous = server.onclose;
    server.onclose = () => {
      this.#servers.delete(server);
      previous?.();
    };
    return server;
  }

  /**
   * Serves the tools over `transport` (for stdio: `new StdioServerTransport()` from
   * `@modelcontextprotocol/sdk/server/stdio.js`). Resolves once connected; the connection ends
   * when the transport closes or on `close()`.
   */
  async connect(transport: Transport): Promise<Server> {
    const server = this.createServer();
    try {
      await server.connect(transport);
    } catch (error) {
      this.#servers.delete(server);
      throw error;
    }
    return server;
  }

  /**
   * Serves the tools over Streamable HTTP (one MCP session per client). Binds to `127.0.0.1` by
   * default; any other `host` needs a `token` (clients send `Authorization: Bearer <token>`).
   * See {@link McpHttpOptions}.
   */
  async listen(options: McpHttpOptions = {}): Promise<McpHttpEndpoint> {
    this.#checkOpen();
    const endpoint = await serveMcpHttp(() => this.createServer(), options);
    this.#endpoints.add(endpoint);
    const close = endpoint.close;
    return {
      ...endpoint,
      close: async () => {
        this.#endpoints.delete(endpoint);
        await close();
      },
    };
  }

  /**
   * Tells every connected client that the tool list changed (`notifications/tools/list_changed`);
   * the server does it by itself after the agent's promotions, rollbacks and other changes.
   */
  notifyToolsChanged(): void {
    for (const server of this.#servers) {
      // A client that has not finished initializing, or has gone, misses this one.
      server.sendToolListChanged().catch((error: unknown) => {
        this.#logger?.debug?.('could not send tools/list_changed to an MCP client', { error: String(error) });
      });
    }
  }

  /** Ends every connection and HTTP endpoint; the agent stays open (it is the app's). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const event of CHANGES) this.#agent.off(event, this.#notify);
    clearInterval(this.#stateTimer);
    await Promise.allSettled([...this.#endpoints].map((endpoint) => endpoint.close()));
    await Promise.allSettled([...this.#servers].map((server) => server.close()));
    this.#servers.clear();
  }

  #checkOpen(): void {
    if (this.#closed) throw new McpError(ErrorCode.ConnectionClosed, 'the MCP server was closed');
  }

  #serves(name: string): boolean {
    return (this.#include === undefined || this.#include.has(name)) && !this.#exclude.has(name);
  }

  /**
   * Every managed tool of the agent and whether this server serves it: the agent's
   * `toolAvailability()`, with tools left out by `include` / `exclude` marked `excluded`.
   */
  async tools(): Promise<McpToolAvailability[]> {
    return (await this.#agent.toolAvailability()).map((entry) =>
      this.#serves(entry.tool.name) || entry.unavailable !== undefined
        ? entry
        : { tool: entry.tool, unavailable: { reason: 'excluded', message: 'left out by include / exclude' } },
    );
  }

  async #list(): Promise<ListToolsResult> {
    const tools: Tool[] = [];
    for (const { tool, unavailable } of await this.tools()) {
      if (unavailable !== undefined) continue;
      const listed = mcpToolOf(tool);
      // One tool MCP cannot describe must not make clients refuse the whole list.
      if (listed === undefined) {
        this.#logger?.warn?.('a tool’s schema cannot be listed over MCP: left out', { toolName: tool.name });
      } else {
        tools.push(listed);
      }
    }
    return { tools };
  }

  async #call(name: string, input: Record<string, unknown> | undefined): Promise<CallToolResult> {
    const entry = this.#serves(name) ? (await this.#agent.toolAvailability(name))[0] : undefined;
    if (entry === undefined) {
      // The specification's answer to a tool the server does not have: a protocol error.
      throw new McpError(
        ErrorCode.InvalidParams,
        `Unknown tool: ${name}. List the tools (tools/list) again.`,
      );
    }
    // Disabled and invalid tools are refused by the runtime itself (TOOL_DISABLED,
    // TOOL_UNAVAILABLE); a tool whose secrets the app does not supply would run and fail.
    if (entry.unavailable?.reason === 'secrets-missing') {
      return mcpErrorResult(
        Object.assign(new Error(`Tool "${name}" cannot serve calls now: ${entry.unavailable.message}.`), {
          code: 'TOOL_UNAVAILABLE',
        }),
      );
    }
    try {
      const value = await this.#agent.invoke(name, input ?? {});
      return mcpValueResult(entry.tool, value);
    } catch (error) {
      return mcpErrorResult(error instanceof Error ? error : new Error(String(error)));
    }
  }
}
