import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult, Tool as McpTool } from '@modelcontextprotocol/sdk/types.js';
import { type JSONSchema7, jsonSchema, type ToolSet, tool } from 'ai';
import { snakeCase } from '../agent/host-tools.ts';
import type { SelfImprovingAgent } from '../agent/self-improving-agent.ts';
import { errorInfo } from '../core/error-info.ts';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { stringArrayOption, stringOption } from '../core/options.ts';
import { packageVersion } from '../core/package-version.ts';
import { SiaError } from '../core/sia-error.ts';
import { TOOL_NAME_PATTERN } from '../registry/tool-definition.ts';
import { LABEL_EXPECTED, labelProblem } from '../storage/storage-input.ts';
import { McpToolError } from './mcp-tool-error.ts';

/**
 * Where the MCP server is:
 * - `{ command, args?, env?, cwd? }`: a server started as a child process, spoken to over stdio.
 *   The child gets only a few safe variables of this process's environment (`HOME`, `PATH`, …)
 *   plus `env`; its stderr goes to this process's stderr.
 * - `{ url, headers? }`: a server reached over Streamable HTTP; `headers` go with every request
 *   (an `Authorization` header, an API key).
 * - `{ client }`: an MCP SDK `Client` the app connected itself; it stays the app's (`close()`
 *   of the result leaves it open).
 */
export type McpServerSource =
  | { command: string; args?: string[]; env?: Record<string, string>; cwd?: string }
  | { url: string | URL; headers?: Record<string, string> }
  | { client: Client };

/** Options of {@link measureMcpTools}. */
export interface MeasureMcpToolsOptions {
  /**
   * The release label the calls are recorded under (as `measureTools`' `version`: 1 to 128
   * characters, no control characters). Pass it when the server's version is not a usable label.
   * @default the server's own `serverInfo.version`, from its answer to `initialize`
   */
  version?: string;
  /**
   * Registry names, as `measureTools`' `names`, keyed by MCP tool name:
   * `{ 'search-issues': 'github_search' }`. A tool without an entry is registered under its
   * name in snake_case; a name the MCP spec does not allow (`A-Z a-z 0-9 _ - .`, 1 to 128
   * characters) must have an entry.
   * @default each MCP tool name in snake_case
   */
  names?: Record<string, string>;
  /**
   * Only these MCP tools (by name) are measured and returned; each must be one the server lists.
   * @default every tool the server lists
   */
  include?: string[];
  /**
   * The client name and version announced to the server in `initialize` (not used with a
   * `{ client }` source, which announced its own).
   * @default { name: 'self-improving-agent', version: this package's version }
   */
  clientInfo?: { name: string; version: string };
}

/** What {@link measureMcpTools} returns. */
export interface MeasuredMcpTools {
  /**
   * An AI SDK `ToolSet` keyed by MCP tool name; each tool's `execute` calls the server and is
   * measured by `agent.measureTools`. Pass it to `generateText` / `streamText` or `run({ hostTools })`.
   */
  readonly tools: ToolSet;
  /** The label the calls are recorded under. */
  readonly version: string;
  /** The MCP SDK client, for anything else the app wants from the server (resources, prompts, …). */
  readonly client: Client;
  /**
   * Closes the client when `measureMcpTools` opened it (a stdio server's child process ends);
   * a `{ client }` source is left open. Calling it again does nothing more. Calls of the tools
   * afterwards fail (and are recorded as failures).
   */
  close(): Promise<void>;
}

/** MCP tool names as the spec (SEP-986) allows them: the only ones turned into registry names. */
const MCP_TOOL_NAME = /^[A-Za-z0-9._-]{1,128}$/;

/** Longest tool description passed on to the model and the registry (the rest is cut). */
const MAX_DESCRIPTION = 4096;

/** Pages of `tools/list` read at most: a server that keeps sending a cursor is not followed forever. */
const MAX_PAGES = 100;

/** Tools measured at most from one server. */
const MAX_TOOLS = 1000;

/** Longest part of an underlying error's message repeated in a connection error. */
const MAX_REASON = 500;

/** A client to use, whether this function opened it, and the source in words for errors. */
interface Connection {
  readonly client: Client;
  readonly owned: boolean;
  readonly where: string;
}

/** {@link MeasureMcpToolsOptions} checked. */
interface CheckedOptions {
  readonly version: string | undefined;
  readonly names: Readonly<Record<string, string>>;
  readonly include: readonly string[] | undefined;
  readonly clientInfo: { name: string; version: string };
}

/**
 * Measures the tools of a third-party MCP server like the app's own tools: connects with the
 * official MCP SDK client (a child process over stdio, Streamable HTTP, or a client the app
 * connected), lists every tool, and returns them as an AI SDK `ToolSet` passed through
 * `agent.measureTools`. Every call is recorded under `version` (default: the server's own
 * version), emitted as `tool:invoked`, evaluated (`tool:evaluated`) and raises `tool:degraded`
 * when the server's tool needs a fix; the library never rewrites it.
 *
 * A call's result is the server's `CallToolResult` as it is (`content`, `structuredContent`);
 * a result with `isError: true` throws {@link McpToolError} (code `MCP_TOOL_ERROR`, recorded as a
 * failure); transport errors (the server gone, a timeout, an abort) are thrown as the MCP SDK
 * throws them. The AI SDK's `abortSignal` cancels the request on the server.
 *
 * What the server sends is not trusted: a tool name outside the MCP spec needs a `names` entry,
 * descriptions are cut to 4096 characters, a server version that is not a usable label asks for
 * `version`. Nothing is registered when any of this, the connection or the listing fails, and a
 * client this function opened is closed again.
 *
 * @throws InvalidOptionError for a bad source or option (naming the field), a tool name that
 *   needs a `names` entry, or a server version that is not a label (pass `version`).
 * @throws SiaError with code `MCP_CONNECTION_FAILED` or `MCP_LIST_TOOLS_FAILED`, naming the
 *   command or the URL (without credentials), the MCP SDK's error as `cause`.
 * @example
 * const github = await measureMcpTools(agent, {
 *   url: 'https://mcp.example.com/mcp',
 *   headers: { Authorization: `Bearer ${process.env.MCP_TOKEN}` },
 * });
 * const result = await generateText({ model, tools: { ...github.tools, ...(await agent.toolSet()) }, prompt });
 * agent.on('tool:degraded', ({ toolName, label }) => alert(`${toolName} (server ${label}) is failing`));
 * await github.close();
 */
export async function measureMcpTools(
  agent: SelfImprovingAgent,
  source: McpServerSource,
  options: MeasureMcpToolsOptions = {},
): Promise<MeasuredMcpTools> {
  if (typeof (agent as { measureTools?: unknown } | null)?.measureTools !== 'function') {
    throw new InvalidOptionError({ field: 'agent', expected: 'a SelfImprovingAgent', value: agent });
  }
  const checked = checkOptions(options);
  const connect = planConnection(source, checked.clientInfo);
  const connection = await connect();
  try {
    const version = checked.version ?? serverLabel(connection.client);
    const listed = await listTools(connection);
    const picked = pickTools(listed, checked.include);
    const names = registryNames(listed, picked, checked.names);
    const set: ToolSet = {};
    for (const mcpTool of picked) set[mcpTool.name] = aiSdkTool(connection.client, mcpTool);
    const tools = await agent.measureTools(set, { version, names });
    let closing: Promise<void> | undefined;
    return Object.freeze({
      tools,
      version,
      client: connection.client,
      close: () => {
        closing ??= connection.owned ? closeOwned(connection.client) : Promise.resolve();
        return closing;
      },
    });
  } catch (error) {
    if (connection.owned) await closeOwned(connection.client).catch(() => undefined);
    throw error;
  }
}

/** The AI SDK tool that calls `mcpTool` on the server. */
function aiSdkTool(client: Client, mcpTool: McpTool): ToolSet[string] {
  const name = mcpTool.name;
  const description = descriptionOf(mcpTool);
  return tool({
    ...(description === undefined ? {} : { description }),
    inputSchema: jsonSchema(mcpTool.inputSchema as JSONSchema7),
    execute: async (input: unknown, options): Promise<CallToolResult> => {
      const abortSignal = options?.abortSignal;
      const result = await client.callTool(
        { name, arguments: input as Record<string, unknown> },
        undefined,
        abortSignal === undefined ? undefined : { signal: abortSignal },
      );
      if (result.isError === true) {
        throw new McpToolError({ toolName: name, serverText: textOf(result.content) });
      }
      return result as CallToolResult;
    },
  }) as ToolSet[string];
}

/** The tool's description, cut to {@link MAX_DESCRIPTION} characters; undefined without one. */
function descriptionOf(mcpTool: McpTool): string | undefined {
  const description = typeof mcpTool.description === 'string' ? mcpTool.description.trim() : '';
  if (description === '') return undefined;
  return description.length > MAX_DESCRIPTION ? `${description.slice(0, MAX_DESCRIPTION - 1)}…` : description;
}

/** The text blocks of a result's content, joined by newlines. */
function textOf(content: unknown): string {
  if (!Array.isArray(content)) return '';
  return content
    .filter(
      (block): block is { type: 'text'; text: string } =>
        typeof block === 'object' &&
        block !== null &&
        block.type === 'text' &&
        typeof block.text === 'string',
    )
    .map((block) => block.text)
    .join('\n');
}

/** The label of the server's own version, or InvalidOptionError asking for `version`. */
function serverLabel(client: Client): string {
  const serverVersion = client.getServerVersion()?.version;
  const problem = releaseLabelProblem(serverVersion);
  if (problem === undefined) return serverVersion as string;
  throw new InvalidOptionError({
    field: 'version',
    expected: `a release label; none was given and the server's own version (serverInfo.version) cannot be one (${problem}): pass options.version, ${LABEL_EXPECTED}`,
    value: serverVersion,
  });
}

/** Why `value` cannot be a release label (`labelProblem`, and not blank either), or undefined. */
function releaseLabelProblem(value: unknown): string | undefined {
  return labelProblem(value) ?? (typeof value === 'string' && value.trim() === '' ? 'blank' : undefined);
}

/** Every tool the server lists, following `nextCursor`. */
async function listTools(connection: Connection): Promise<McpTool[]> {
  const tools: McpTool[] = [];
  const seen = new Set<string>();
  const cursors = new Set<string>();
  let cursor: string | undefined;
  try {
    for (let page = 0; ; page += 1) {
      const result = await connection.client.listTools(cursor === undefined ? undefined : { cursor });
      for (const listed of result.tools) {
        if (seen.has(listed.name)) throw new Error(`it listed the tool ${JSON.stringify(listed.name)} twice`);
        seen.add(listed.name);
        tools.push(listed);
      }
      cursor = result.nextCursor;
      if (cursor === undefined) return tools;
      if (cursors.has(cursor) || page + 1 >= MAX_PAGES) {
        throw new Error(`it kept sending a next page after ${page + 1} pages`);
      }
      cursors.add(cursor);
    }
  } catch (error) {
    throw new SiaError({
      code: 'MCP_LIST_TOOLS_FAILED',
      message: `Could not list the tools of ${connection.where}: ${reason(error)}. Nothing was registered; check the server (and its logs), then call measureMcpTools again.`,
      cause: error,
    });
  }
}

/** The listed tools `include` names (every one without it), in the server's order. */
function pickTools(listed: McpTool[], include: readonly string[] | undefined): McpTool[] {
  let picked = listed;
  if (include !== undefined) {
    const known = new Set(listed.map((listedTool) => listedTool.name));
    include.forEach((name, index) => {
      if (!known.has(name)) {
        throw new InvalidOptionError({
          field: `include[${index}]`,
          expected: `the name of a tool the server lists (${nameList(listed)})`,
          value: name,
        });
      }
    });
    const wanted = new Set(include);
    picked = listed.filter((listedTool) => wanted.has(listedTool.name));
  }
  for (const pickedTool of picked) {
    // A ToolSet is a plain object: this key would replace its prototype instead of adding a tool.
    if (pickedTool.name === '__proto__') {
      throw new InvalidOptionError({
        field: 'include',
        expected: 'the tools to measure, without "__proto__" (a name no ToolSet can hold)',
        value: include ?? '(every tool the server lists)',
      });
    }
  }
  if (picked.length > MAX_TOOLS) {
    throw new InvalidOptionError({
      field: 'include',
      expected: `at most ${MAX_TOOLS} tools to measure (the server lists ${listed.length}): name the ones you use`,
      value: include ?? '(every tool the server lists)',
    });
  }
  return picked;
}

/**
 * The registry name of each picked tool, for `measureTools`' `names`: the app's entry, else the
 * MCP name in snake_case. Every entry must name a tool the server lists (a typo is refused). A name outside the MCP spec, or one whose snake_case form is not a
 * registry name, needs an entry: it is refused here, before anything is registered.
 */
function registryNames(
  listed: McpTool[],
  picked: McpTool[],
  names: Readonly<Record<string, string>>,
): Record<string, string> {
  const known = new Set(listed.map((listedTool) => listedTool.name));
  for (const key of Object.keys(names)) {
    if (!known.has(key)) {
      throw new InvalidOptionError({
        field: `names.${key}`,
        expected: `the name of a tool the server lists (${nameList(listed)})`,
        value: key,
      });
    }
  }
  const planned: Record<string, string> = {};
  for (const { name } of picked) {
    // Own entries only: a tool named "constructor" must not find Object.prototype's.
    if (Object.hasOwn(names, name)) {
      // measureTools checks the app's own entries (and that no two tools share a name).
      planned[name] = names[name] as string;
      continue;
    }
    const snake = MCP_TOOL_NAME.test(name) ? snakeCase(name) : '';
    if (!TOOL_NAME_PATTERN.test(snake)) {
      throw new InvalidOptionError({
        field: `names.${name}`,
        expected:
          'a registry name for this MCP tool (snake_case: a-z, 0-9, _, starting with a letter, 1 to 64 characters): its own name cannot be turned into one, so name it in options.names (or leave it out with options.include)',
        value: name,
      });
    }
    planned[name] = snake;
  }
  return planned;
}

/** The first names of `listed`, for error messages. */
function nameList(listed: McpTool[]): string {
  if (listed.length === 0) return 'it lists none';
  const shown = listed.slice(0, 20).map((listedTool) => JSON.stringify(listedTool.name.slice(0, 64)));
  return `${shown.join(', ')}${listed.length > shown.length ? `, … ${listed.length} in all` : ''}`;
}

/** The message of an underlying error, cut to {@link MAX_REASON} characters. */
function reason(error: unknown): string {
  const { message } = errorInfo(error);
  const cause = (error as { cause?: unknown } | null)?.cause;
  // fetch says only "fetch failed"; the reason (ECONNREFUSED, …) is its cause.
  const detail = cause === undefined ? message : `${message} (${errorInfo(cause).message})`;
  return detail.length > MAX_REASON ? `${detail.slice(0, MAX_REASON)}…` : detail;
}

/** Checks the options, with defaults applied, before anything is opened. */
function checkOptions(options: MeasureMcpToolsOptions): CheckedOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionError({
      field: 'options',
      expected: 'an object { version?, names?, include?, clientInfo? }',
      value: options,
    });
  }
  const { version, names = {}, include, clientInfo } = options;
  if (version !== undefined && releaseLabelProblem(version) !== undefined) {
    throw new InvalidOptionError({
      field: 'version',
      expected: `the release the calls are recorded under: ${LABEL_EXPECTED}`,
      value: version,
    });
  }
  if (typeof names !== 'object' || names === null || Array.isArray(names)) {
    throw new InvalidOptionError({
      field: 'names',
      expected: 'a record { mcpToolName: registry_name }',
      value: names,
    });
  }
  for (const [key, name] of Object.entries(names)) {
    if (typeof name !== 'string') {
      throw new InvalidOptionError({
        field: `names.${key}`,
        expected: 'a registry name (a string)',
        value: name,
      });
    }
  }
  const picked = include === undefined ? undefined : stringArrayOption('include', include, 'MCP tool names');
  if (clientInfo !== undefined) {
    for (const field of ['name', 'version'] as const) {
      stringOption(`clientInfo.${field}`, (clientInfo as Partial<Record<string, unknown>> | null)?.[field]);
    }
  }
  return {
    version,
    names: { ...names },
    include: picked,
    clientInfo: clientInfo
      ? { name: clientInfo.name, version: clientInfo.version }
      : { name: 'self-improving-agent', version: packageVersion() },
  };
}

const STDIO_KEYS = ['command', 'args', 'env', 'cwd'];
const HTTP_KEYS = ['url', 'headers'];
const SOURCE_SHAPES =
  'one of { command, args?, env?, cwd? } (stdio), { url, headers? } (Streamable HTTP) or { client }';

/**
 * Checks the source and returns how to connect to it: nothing is opened before every option has
 * been checked.
 */
function planConnection(
  source: McpServerSource,
  clientInfo: { name: string; version: string },
): () => Promise<Connection> {
  if (typeof source !== 'object' || source === null || Array.isArray(source)) {
    throw new InvalidOptionError({ field: 'source', expected: SOURCE_SHAPES, value: source });
  }
  const keys = Object.keys(source);
  const kinds = ['command', 'url', 'client'].filter((key) => keys.includes(key));
  if (kinds.length !== 1) {
    throw new InvalidOptionError({
      field: 'source',
      expected: SOURCE_SHAPES,
      // Keys only: the values may hold credentials.
      value: `an object with the keys ${keys.join(', ') || '(none)'}`,
    });
  }
  if ('client' in source) return appClient(source.client, keys);
  if ('command' in source) {
    const server = checkStdio(source, keys);
    const where = `the MCP server started with the command ${JSON.stringify(server.command)}`;
    return () =>
      open(
        new StdioClientTransport(server),
        clientInfo,
        where,
        'the command exists and starts an MCP server on stdio',
      );
  }
  const { url, headers } = checkHttp(source, keys);
  const where = `the MCP server at ${url.origin}${url.pathname}`;
  return () =>
    open(
      new StreamableHTTPClientTransport(
        url,
        headers === undefined ? undefined : { requestInit: { headers } },
      ),
      clientInfo,
      where,
      'the server is running, the URL is its MCP endpoint and the headers authorize you',
    );
}

/** A `{ client }` source: the app's own connected client. */
function appClient(client: unknown, keys: string[]): () => Promise<Connection> {
  refuseOtherKeys(keys, ['client'], 'a { client } source');
  const candidate = client as Partial<Record<'listTools' | 'callTool' | 'getServerVersion', unknown>> | null;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.listTools !== 'function' ||
    typeof candidate.callTool !== 'function' ||
    typeof candidate.getServerVersion !== 'function'
  ) {
    throw new InvalidOptionError({
      field: 'source.client',
      expected: 'an MCP SDK Client (from @modelcontextprotocol/sdk/client/index.js)',
      value: client,
    });
  }
  const connected = client as Client;
  if (connected.getServerVersion() === undefined) {
    throw new InvalidOptionError({
      field: 'source.client',
      expected: 'a Client connected to its server: await client.connect(transport) first',
      value: '(a Client that is not connected)',
    });
  }
  return async () => ({ client: connected, owned: false, where: 'the MCP server of the client you passed' });
}

function checkStdio(
  source: Record<string, unknown>,
  keys: string[],
): { command: string; args?: string[]; env?: Record<string, string>; cwd?: string } {
  refuseOtherKeys(keys, STDIO_KEYS, 'a stdio source');
  const { command, args, env, cwd } = source;
  if (typeof command !== 'string' || command.trim() === '') {
    throw new InvalidOptionError({
      field: 'source.command',
      expected: 'the command to run (a non-empty string)',
      value: command,
    });
  }
  if (args !== undefined && (!Array.isArray(args) || args.some((arg) => typeof arg !== 'string'))) {
    throw new InvalidOptionError({
      field: 'source.args',
      expected: 'an array of strings',
      // Arguments may hold tokens: not shown.
      value: Array.isArray(args) ? args.map((arg) => typeof arg) : typeof args,
    });
  }
  checkStringRecord('source.env', env);
  if (cwd !== undefined && (typeof cwd !== 'string' || cwd === '')) {
    throw new InvalidOptionError({
      field: 'source.cwd',
      expected: 'a directory (a non-empty string)',
      value: cwd,
    });
  }
  return {
    command,
    ...(args === undefined ? {} : { args: [...(args as string[])] }),
    ...(env === undefined ? {} : { env: { ...(env as Record<string, string>) } }),
    ...(cwd === undefined ? {} : { cwd: cwd as string }),
  };
}

function checkHttp(
  source: Record<string, unknown>,
  keys: string[],
): { url: URL; headers: Record<string, string> | undefined } {
  refuseOtherKeys(keys, HTTP_KEYS, 'a Streamable HTTP source');
  const given = source.url;
  let url: URL | undefined;
  if (given instanceof URL) url = new URL(given.href);
  else if (typeof given === 'string' && URL.canParse(given)) url = new URL(given);
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new InvalidOptionError({
      field: 'source.url',
      expected: "the server's MCP endpoint, an http: or https: URL",
      value:
        url === undefined
          ? typeof given === 'string'
            ? '(a string that is not a URL)'
            : given
          : url.protocol,
    });
  }
  if (url.username !== '' || url.password !== '') {
    throw new InvalidOptionError({
      field: 'source.url',
      expected: 'a URL without user:password (fetch refuses them): send credentials in source.headers',
      value: `${url.protocol}//…@${url.host}${url.pathname}`,
    });
  }
  checkStringRecord('source.headers', source.headers);
  const headers = source.headers as Record<string, string> | undefined;
  return { url, headers: headers === undefined ? undefined : { ...headers } };
}

/** Throws unless `value` is undefined or an object of strings (the values are never shown). */
function checkStringRecord(field: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError({ field, expected: 'an object of strings', value: typeof value });
  }
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') {
      throw new InvalidOptionError({ field: `${field}.${key}`, expected: 'a string', value: typeof entry });
    }
  }
}

function refuseOtherKeys(keys: string[], allowed: string[], shape: string): void {
  for (const key of keys) {
    if (!allowed.includes(key)) {
      throw new InvalidOptionError({
        field: `source.${key}`,
        expected: `no such option: ${shape} takes ${allowed.join(', ')}`,
        value: '(not shown)',
      });
    }
  }
}

/** How long `close()` waits for the server to answer the session's `DELETE`, ms. */
const TERMINATE_MS = 3000;

/**
 * Closes a client this module opened. Over Streamable HTTP it first ends its session on the
 * server (`DELETE`, which the SDK's `close()` does not send, so the server can free it at once),
 * waiting at most {@link TERMINATE_MS}: `client.close()` then cancels a `DELETE` still in flight.
 */
async function closeOwned(client: Client): Promise<void> {
  const transport = client.transport;
  if (transport instanceof StreamableHTTPClientTransport && transport.sessionId !== undefined) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      transport.terminateSession().catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, TERMINATE_MS);
      }),
    ]);
    clearTimeout(timer);
  }
  await client.close();
}

/** Connects a new client on `transport`; on failure it is closed and the error names `where`. */
async function open(
  transport: StdioClientTransport | StreamableHTTPClientTransport,
  clientInfo: { name: string; version: string },
  where: string,
  check: string,
): Promise<Connection> {
  const client = new Client(clientInfo);
  try {
    await client.connect(transport);
  } catch (error) {
    await client.close().catch(() => undefined);
    throw new SiaError({
      code: 'MCP_CONNECTION_FAILED',
      message: `Could not connect to ${where}: ${reason(error)}. Nothing was registered; check that ${check}.`,
      cause: error,
    });
  }
  return { client, owned: true, where };
}
