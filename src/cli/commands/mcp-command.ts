import { Console } from 'node:console';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SelfImprovingAgentOptions } from '../../agent/agent-options.ts';
import { SelfImprovingAgent } from '../../agent/self-improving-agent.ts';
import type { Logger } from '../../core/logger.ts';
import type { CliCommand, CommandContext } from '../cli-command.ts';
import { CliFailure, CliUsageError } from '../cli-errors.ts';
import { terminalText } from '../text-table.ts';

/** The environment variable holding the HTTP endpoint's bearer token (never a flag: `ps` shows flags). */
export const MCP_TOKEN_ENV = 'SIA_MCP_TOKEN';

/** The port `sia mcp --http` listens on without `--port`. */
export const DEFAULT_MCP_PORT = 3333;

/**
 * `sia mcp`: serves the active version of every managed tool in the database to MCP clients,
 * on stdio (default) or Streamable HTTP, through an agent built from `--config`.
 */
export const mcpCommand: CliCommand = {
  name: 'mcp',
  summary: 'serve the tools to MCP clients (stdio, or Streamable HTTP with --http)',
  positionals: [],
  serve: true,
  options: {
    http: { type: 'boolean', description: 'serve Streamable HTTP instead of stdio' },
    host: {
      type: 'string',
      value: '<address>',
      description: `address to bind with --http (default 127.0.0.1; beyond loopback $${MCP_TOKEN_ENV} is required)`,
    },
    port: {
      type: 'string',
      value: '<n>',
      description: `port with --http (default ${DEFAULT_MCP_PORT}; 0 = any free port)`,
    },
    path: { type: 'string', value: '<path>', description: 'endpoint path with --http (default /mcp)' },
    config: {
      type: 'string',
      value: '<module>',
      description: "a module whose default export is the agent's options (or a function returning them)",
    },
    include: {
      type: 'string',
      multiple: true,
      value: '<tool>',
      description: 'serve only this tool (repeatable)',
    },
    exclude: {
      type: 'string',
      multiple: true,
      value: '<tool>',
      description: 'do not serve this tool (repeatable)',
    },
  },
  help: `Serves the active version of every managed tool to MCP clients, with each tool's input and
output schema. Calls run like agent.invoke: sandboxed, recorded, evaluated, improved and promoted;
connected clients are told when the tool list changes. Runs until stdin closes (stdio) or until
SIGINT/SIGTERM; the database is written as calls come in and on exit.

--config <module> gives the agent's options (model, secrets, creation grants, improvement, a
storage of its own): export default { model, secrets: { API_TOKEN: process.env.API_TOKEN } }.
Without it only the deterministic hardening rewriter runs, and tools that read secrets are not
served. Logs go to stderr (stdout carries the protocol on stdio).

With --http the endpoint listens on 127.0.0.1:${DEFAULT_MCP_PORT}/mcp. Binding any other address needs a
bearer token in $${MCP_TOKEN_ENV} (16+ characters); clients send Authorization: Bearer <token>.`,
  run: runMcp,
};

/** Loads `--config`: its default export, an options object or a (possibly async) function returning one. */
async function loadConfig(context: CommandContext): Promise<SelfImprovingAgentOptions> {
  const file = context.values.config;
  if (typeof file !== 'string') return {};
  const path = resolve(context.cwd, file);
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (error) {
    throw new CliFailure(
      `cannot load --config ${path}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const exported = module.default;
  const options = typeof exported === 'function' ? await (exported as () => unknown)() : exported;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new CliFailure(
      `--config ${path} must export default the agent's options (an object, or a function returning one); its default export is ${options === undefined ? 'missing' : typeof options}`,
    );
  }
  return options as SelfImprovingAgentOptions;
}

function portOption(value: unknown): number {
  if (value === undefined) return DEFAULT_MCP_PORT;
  const port = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || port > 65_535) {
    throw new CliUsageError(
      `--port must be a number from 0 to 65535, got "${terminalText(String(value))}"`,
      'mcp',
    );
  }
  return port;
}

/** Loads the MCP parts (the SDK is an optional peer dependency). */
async function loadMcp() {
  try {
    const [{ McpToolServer }, { StdioServerTransport }] = await Promise.all([
      import('../../mcp/index.ts'),
      import('@modelcontextprotocol/sdk/server/stdio.js'),
    ]);
    return { McpToolServer, StdioServerTransport };
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (
      code === 'ERR_MODULE_NOT_FOUND' &&
      String((error as Error).message).includes('@modelcontextprotocol/sdk')
    ) {
      throw new CliFailure('sia mcp needs the MCP SDK: run `npm install @modelcontextprotocol/sdk`');
    }
    throw error;
  }
}

function stderrLogger(context: CommandContext): Logger {
  const line = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    context.err(
      `sia mcp: ${level}: ${terminalText(message)}${fields ? ` ${terminalText(JSON.stringify(fields))}` : ''}`,
    );
  return { warn: line('warning'), error: line('error') };
}

/**
 * How the server is told to stop: SIGINT/SIGTERM, or on stdio the client going away (stdin
 * ends, the transport closes, stdout breaks). A signal before the server serves ends the process
 * at once (nothing to save yet; a lock left behind is taken over, its pid being dead). Once it
 * serves, the first signal starts the shutdown, or is ignored when the shutdown is already under
 * way (an MCP client closes stdin, then sends SIGTERM 2 s later); a second signal ends the
 * process at once.
 */
function stopSignals(stdio: boolean) {
  let stop: (why: string) => void = () => undefined;
  const stopped = new Promise<string>((resolve) => {
    stop = resolve;
  });
  let serving = false;
  let signals = 0;
  const onSignal = (name: 'SIGINT' | 'SIGTERM') => () => {
    signals += 1;
    if (!serving || signals > 1) process.exit(name === 'SIGINT' ? 130 : 143);
    stop(name);
  };
  const onInt = onSignal('SIGINT');
  const onTerm = onSignal('SIGTERM');
  const onEnd = () => stop('stdin closed');
  const onBrokenOut = () => stop('stdout closed');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  if (stdio) {
    process.stdin.once('end', onEnd);
    process.stdin.once('close', onEnd);
    process.stdout.on('error', onBrokenOut);
  }
  return {
    stopped,
    stop: (why: string) => stop(why),
    /** The server serves from now on: a first signal shuts it down cleanly. */
    serving: () => {
      serving = true;
    },
    release: () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      process.stdin.off('end', onEnd);
      process.stdin.off('close', onEnd);
      process.stdout.off('error', onBrokenOut);
    },
  };
}

/** The console methods that write to stdout. */
const STDOUT_METHODS = [
  'log',
  'info',
  'debug',
  'dir',
  'dirxml',
  'table',
  'group',
  'groupCollapsed',
  'count',
  'timeLog',
  'timeEnd',
] as const;

/**
 * On stdio, stdout carries the protocol: what a --config module (or a library it loads) writes
 * through the console goes to stderr instead. Returns the function that puts the console back.
 * Direct writes to `process.stdout` are not caught: a config must not make them.
 */
function keepStdoutForProtocol(): () => void {
  const toStderr = new Console({ stdout: process.stderr, stderr: process.stderr });
  const saved = STDOUT_METHODS.map((name) => [name, console[name]] as const);
  for (const name of STDOUT_METHODS) Object.assign(console, { [name]: toStderr[name].bind(toStderr) });
  return () => {
    for (const [name, method] of saved) Object.assign(console, { [name]: method });
  };
}

async function runMcp(context: CommandContext): Promise<void> {
  const { values } = context;
  const http = values.http === true;
  if (!http) {
    for (const flag of ['host', 'port', 'path'] as const) {
      if (values[flag] !== undefined) throw new CliUsageError(`--${flag} applies to --http only`, 'mcp');
    }
  }
  const port = portOption(values.port);
  const signals = stopSignals(!http);
  const restoreConsole = http ? () => undefined : keepStdoutForProtocol();
  try {
    await serve(context, http, port, signals);
  } finally {
    restoreConsole();
    signals.release();
  }
}

async function serve(
  context: CommandContext,
  http: boolean,
  port: number,
  signals: ReturnType<typeof stopSignals>,
): Promise<void> {
  const { values } = context;
  const config = await loadConfig(context);
  if (config.storage !== undefined && (values.db !== undefined || values.postgres !== undefined)) {
    throw new CliUsageError('--config gives a storage of its own: leave out --db / --postgres', 'mcp');
  }
  const { McpToolServer, StdioServerTransport } = await loadMcp();
  const storage = config.storage ?? (await context.storage());
  const agent = new SelfImprovingAgent({
    logger: stderrLogger(context),
    instanceId: `sia-mcp:${process.pid}`,
    // An MCP client that closes stdin sends SIGTERM 2 s later: stop improvement work sooner.
    ...(http ? {} : { closeTimeoutMs: 1000 }),
    ...config,
    storage,
    // This process ends with the command: a storage from --config is closed with the agent.
    ...(config.storage === undefined ? {} : { closeStorage: true }),
  });
  const include = Array.isArray(values.include) ? values.include : undefined;
  const server = new McpToolServer(agent, {
    ...(include ? { include } : {}),
    ...(Array.isArray(values.exclude) ? { exclude: values.exclude } : {}),
  });
  try {
    await agent.ready();
    const tools = await server.tools();
    for (const { tool, unavailable } of tools) {
      context.err(
        unavailable
          ? `sia mcp: not serving ${terminalText(tool.name)}: ${terminalText(unavailable.message)}`
          : `sia mcp: serving ${terminalText(tool.name)} v${tool.version.version}`,
      );
    }
    for (const name of include ?? []) {
      if (!tools.some((entry) => entry.tool.name === name))
        context.err(`sia mcp: warning: --include ${terminalText(name)}: the database has no such tool`);
    }
    if (http) {
      const token = context.env[MCP_TOKEN_ENV];
      const endpoint = await server.listen({
        port,
        ...(typeof values.host === 'string' ? { host: values.host } : {}),
        ...(typeof values.path === 'string' ? { path: values.path } : {}),
        ...(token === undefined || token === '' ? {} : { token }),
      });
      context.err(`sia mcp: listening on ${endpoint.url}${token ? ' (bearer token required)' : ''}`);
    } else {
      const transport = new StdioServerTransport();
      // Set before connecting: the SDK chains it, and calls it when the stream closes or fails.
      transport.onclose = () => signals.stop('stdio closed');
      await server.connect(transport);
      context.err('sia mcp: serving on stdio');
    }
    signals.serving();
    context.err(`sia mcp: stopping (${await signals.stopped})`);
  } finally {
    await server.close();
    await agent.close();
  }
}
