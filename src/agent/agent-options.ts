import type { Tracer } from '@opentelemetry/api';
import type { LanguageModel, TelemetryOptions } from 'ai';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import type { Logger } from '../core/logger.ts';
import { integerOption, objectOption } from '../core/options.ts';
import type { Evaluator } from '../evaluation/evaluator.ts';
import { DEFAULT_MODEL_TIMEOUT_MS, modelTimeoutOption } from '../generation/model-deadline.ts';
import type { GenerationValidator, ToolGenerator } from '../generation/tool-generator.ts';
import type { ImprovementOptions, PromotionProposal } from '../improvement/improvement-options.ts';
import type { PerformanceMemoryOptions } from '../memory/performance-memory-options.ts';
import type { RegressionRunnerOptions } from '../regression/regression-runner-options.ts';
import type { Rewriter } from '../rewriting/rewriter.ts';
import { parseAllowEntry } from '../sandbox/network-policy.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';
import { SECRET_NAME_PATTERN, type SecretSource } from '../sandbox/sandbox-secrets.ts';
import type { StorageAdapter } from '../storage/storage-adapter.ts';

/** What `request_new_tool` asks for, as the `creation.approve` hook sees it (after generation). */
export interface ToolCreationRequest {
  /** The new tool's name. */
  name: string;
  /** What it does, in the model's words. */
  description: string;
  /** JSON Schema of its input. */
  inputSchema: Record<string, unknown>;
  /** What it returns, in the model's words. */
  returns: string;
  /** JSON Schema of its result, when the model gave one (every call's result is checked against it). */
  outputSchema?: Record<string, unknown>;
  /** The examples it passed. */
  examples: { input: unknown; output: unknown }[];
  /** The capabilities it will get: a subset of the app's grant, in canonical form. */
  capabilities: { network: string[]; secrets: string[] };
}

/**
 * What the model may create through `request_new_tool`. Capabilities come from the app: a new
 * tool can only get a subset of what is granted here, and nothing by default.
 */
export interface CreationOptions {
  /** Offer `request_new_tool` at all (`false` removes it from `tools()` and `run()`). @default true */
  enabled?: boolean;
  /**
   * Hosts new tools may ask for, in the sandbox's `network.allow` format (`api.example.com`,
   * `api.example.com:8443`, `*.example.com`, `127.0.0.1:8787`, `[::1]:8787`). The model's entry
   * must equal one of these (after normalisation), or be a subdomain of a port-less
   * `*.domain` entry; loopback, private, link-local and metadata addresses and names like
   * `localhost` are only granted when listed here as that exact `host:port`.
   * @default { allow: [] } (new tools get no network)
   */
  network?: { allow?: string[] };
  /** Names of the app's `secrets` new tools may ask for (never the values). @default [] */
  secrets?: string[];
  /**
   * Most tools the model may create, counted in storage (tools whose version 1 was written by
   * the generator), so a restart does not reset it. @default 50
   */
  maxTools?: number;
  /**
   * Called with the request and the generated source before the tool is registered; `false`
   * (or a throw) refuses it and nothing is stored. @default every valid request is accepted
   */
  approve?: (request: ToolCreationRequest, source: string) => boolean | Promise<boolean>;
}

/** {@link CreationOptions} with defaults applied. */
export interface ResolvedCreationOptions {
  readonly enabled: boolean;
  readonly network: { readonly allow: readonly string[] };
  readonly secrets: readonly string[];
  readonly maxTools: number;
  readonly approve: CreationOptions['approve'];
}

/** Options of {@link SelfImprovingAgent}. */
export interface SelfImprovingAgentOptions {
  /**
   * The AI SDK model used by `run()`, by the default generator and by the default LLM
   * rewriter. Optional when only `invoke()` and hand-written tools are used (then tools are
   * improved by the hardening rewriter alone).
   */
  model?: LanguageModel;
  /**
   * Where tools, versions, metrics and the audit log live. `close()` closes it only when the
   * agent created it or `closeStorage` is true. @default sqlJsStorage() (in memory)
   */
  storage?: StorageAdapter;
  /**
   * Whether `close()` also closes `storage` (a sql.js file is then written and its
   * `<path>.lock` removed). Set it when the storage is the agent's alone, as when it is
   * created inline (`storage: sqlJsStorage({ path }), closeStorage: true`). Leave it false
   * when the storage is shared (several agents, or the app keeps reading it after `close()`);
   * then close it yourself after the last user.
   * @default false for storage passed in (the agent closes the default storage it created)
   */
  closeStorage?: boolean;
  /**
   * Where every tool runs: any {@link Sandbox} (`QuickJsSandbox` is the one that isolates
   * untrusted code). `close()` closes it only when the agent created it or `closeSandbox` is
   * true. @default new QuickJsSandbox()
   */
  sandbox?: Sandbox;
  /**
   * Whether `close()` also closes `sandbox` (its worker threads). Like `closeStorage`.
   * @default false for a sandbox passed in (the agent closes the default sandbox it created)
   */
  closeSandbox?: boolean;
  /**
   * Writes new tools for `request_new_tool`: anything with `ToolGenerator`'s `generate`. A
   * generator passed in is never closed by the agent.
   * @default new ToolGenerator({ model, sandbox }) when a model is given
   */
  generator?: Pick<ToolGenerator, 'generate'>;
  /** Proposes better versions. @default chainRewriters([new HardeningRewriter(), new LlmRewriter({ model })]) (hardening only without a model) */
  rewriter?: Rewriter;
  /** Checks every generated or rewritten source before it is gated (anything with `validate`). @default new CodeValidator() */
  validator?: GenerationValidator;
  /**
   * Scores tool versions (anything with `Evaluator`'s `evaluate`). The post-promotion watch uses
   * an `Evaluator` with this evaluator's `options` (the defaults when it has none) over
   * `improvement.watchCalls` calls. @default new Evaluator()
   */
  evaluator?: Pick<Evaluator, 'evaluate'>;
  /**
   * Options of the promotion gate the agent builds on its storage and sandbox (`runs`,
   * `heldOutFraction`, thresholds, …; see `RegressionRunnerOptions`). @default {}
   */
  regression?: Omit<RegressionRunnerOptions, 'storage' | 'sandbox'>;
  /** When and how tools are improved. */
  improvement?: ImprovementOptions;
  /** Human-in-the-loop: called before each promotion; `false` keeps the current version. */
  approve?: (proposal: PromotionProposal) => boolean | Promise<boolean>;
  /** Whether call inputs/outputs are stored (they become regression cases). @default off */
  capture?: PerformanceMemoryOptions['capture'];
  /** Batching, retention and buffering of the call records. */
  memory?: Omit<PerformanceMemoryOptions, 'storage' | 'capture' | 'logger'>;
  /** The system prompt of `run()`. @default a short prompt about using and requesting tools */
  system?: string;
  /** Names this agent in audit entries and leases. @default `agent:<pid>:<random>` */
  instanceId?: string;
  /** Receives warnings (failed improvements, listener errors). */
  logger?: Logger;
  /**
   * Deadline of every model call the agent makes (each step of `run()`, each call of the
   * default generator and of the default LLM rewriter), ms. A call past it is aborted and fails
   * with `ModelTimeoutError` (code `MODEL_TIMEOUT`), even when the provider ignores the abort.
   * A generator or rewriter passed in keeps its own setting.
   * @default min(120_000, improvement.leaseMs / 2)
   */
  modelTimeoutMs?: number;
  /**
   * The most `close()` waits for improvement work after aborting it, ms. Work that ignores the
   * abort (a storage call that hangs) is then left behind and `close()` goes on releasing.
   * @default 10_000
   */
  closeTimeoutMs?: number;
  /** What the model may create through `request_new_tool` (capabilities, limit, approval). */
  creation?: CreationOptions;
  /**
   * Credentials tools may read with `secrets.get(name)`: a record `{ NAME: value }` or a
   * resolver `(name) => value | undefined` called at call time. A tool only gets the names its
   * capabilities list; values never reach storage, prompts, events or logs, and are replaced by
   * `[secret:NAME]` in everything a tool returns, logs or throws. @default none
   */
  secrets?: SecretSource;
  /**
   * The OpenTelemetry tracer of the agent's spans: one per tool call (`sia.tool_call <tool>`),
   * evaluation, improvement attempt and its stages, promotion, keep and rollback (see the
   * README's "Tracing with OpenTelemetry"). They nest under the active span, such as the AI
   * SDK's `execute_tool` span when `@ai-sdk/otel` is registered. Spans carry names, versions,
   * codes and numbers: never inputs, outputs, error messages or secrets. Without an SDK
   * registered every span is a no-op.
   * @default trace.getTracer('self-improving-agent', <package version>), resolved when each span
   * starts (so an SDK registered after the agent is built is used)
   */
  tracer?: Tracer;
  /**
   * The AI SDK's telemetry settings (`integrations`, `recordInputs`, `functionId`, …) of every
   * model call the agent makes: `run()`/`stream()` (a run's own `telemetry` fields win), the
   * default generator's calls and the default LLM rewriter's. When no `functionId` is given, the
   * calls are named `sia.run`, `sia.generate-tool` and `sia.rewrite-tool`. A generator or
   * rewriter passed in keeps its own setting.
   * @default none (the AI SDK's registered integrations, if any, see `registerTelemetry`)
   */
  telemetry?: TelemetryOptions;
}

/** The agent's deadlines with defaults applied. */
export interface ResolvedAgentTimeouts {
  /** See {@link SelfImprovingAgentOptions.modelTimeoutMs}. */
  readonly modelTimeoutMs: number;
  /** See {@link SelfImprovingAgentOptions.closeTimeoutMs}. */
  readonly closeTimeoutMs: number;
}

/**
 * Validates `modelTimeoutMs` and `closeTimeoutMs`. An unset `modelTimeoutMs` derives from a set
 * `improvement.leaseMs` (half of it, at most 120 000) so the two never conflict.
 */
export function resolveAgentTimeouts(options: SelfImprovingAgentOptions): ResolvedAgentTimeouts {
  const leaseMs = (options.improvement as { leaseMs?: unknown } | undefined)?.leaseMs;
  const modelTimeoutMs =
    options.modelTimeoutMs !== undefined
      ? modelTimeoutOption('modelTimeoutMs', options.modelTimeoutMs)
      : typeof leaseMs === 'number' && Number.isFinite(leaseMs)
        ? Math.max(1, Math.min(DEFAULT_MODEL_TIMEOUT_MS, Math.floor(leaseMs / 2)))
        : DEFAULT_MODEL_TIMEOUT_MS;
  return Object.freeze({
    modelTimeoutMs,
    closeTimeoutMs: integerOption('closeTimeoutMs', options.closeTimeoutMs ?? 10_000, 0, 600_000),
  });
}

/** Validates the `secrets` option: a record of non-empty strings or a function. Values are never quoted. */
export function resolveSecretsOption(value: unknown): SecretSource | undefined {
  if (value === undefined || typeof value === 'function') return value as SecretSource | undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError({
      field: 'secrets',
      expected: 'a record { NAME: value } or a function (name) => value',
      value: '(hidden)',
    });
  }
  const copy: Record<string, string> = {};
  for (const [name, secret] of Object.entries(value)) {
    if (!SECRET_NAME_PATTERN.test(name)) {
      throw new InvalidOptionError({
        field: 'secrets',
        expected: 'secret names like API_TOKEN (letters, digits, _; 1 to 64)',
        value: name,
      });
    }
    if (typeof secret !== 'string' || secret === '') {
      throw new InvalidOptionError({
        field: `secrets.${name}`,
        expected: 'a non-empty string',
        value: '(hidden)',
      });
    }
    copy[name] = secret;
  }
  return Object.freeze(copy);
}

/** Validates and freezes the creation options (`secrets` is the resolved `secrets` option). */
export function resolveCreationOptions(
  value: unknown,
  secrets: SecretSource | undefined,
): ResolvedCreationOptions {
  const options = value === undefined ? {} : (objectOption('creation', value) as CreationOptions);
  const enabled = options.enabled ?? true;
  if (typeof enabled !== 'boolean')
    throw new InvalidOptionError({ field: 'creation.enabled', expected: 'true or false', value: enabled });
  const network = options.network === undefined ? {} : objectOption('creation.network', options.network);
  const allow = (network as { allow?: unknown }).allow ?? [];
  if (!Array.isArray(allow)) {
    throw new InvalidOptionError({
      field: 'creation.network.allow',
      expected: 'an array of "host[:port]" entries',
      value: allow,
    });
  }
  const canonical = allow.map((entry: unknown, index) => {
    const path = `creation.network.allow[${index}]`;
    const parsed = parseAllowEntry(entry, path);
    if (parsed.host === '*' || parsed.host.replace(/\.+$/, '') === '') {
      throw new InvalidOptionError({
        field: path,
        expected: 'a host name, "*.domain" or an IP (a bare "*" grants nothing)',
        value: entry,
      });
    }
    return formatGrantEntry(parsed.host, parsed.port, parsed.wildcard);
  });
  const names = options.secrets ?? [];
  if (!Array.isArray(names))
    throw new InvalidOptionError({
      field: 'creation.secrets',
      expected: 'an array of secret names',
      value: names,
    });
  names.forEach((name: unknown, index) => {
    if (typeof name !== 'string' || !SECRET_NAME_PATTERN.test(name)) {
      throw new InvalidOptionError({
        field: `creation.secrets[${index}]`,
        expected: 'a secret name like API_TOKEN',
        value: name,
      });
    }
    if (secrets === undefined) {
      throw new InvalidOptionError({
        field: `creation.secrets[${index}]`,
        expected: 'a name the `secrets` option supplies (no `secrets` option is given)',
        value: name,
      });
    }
    if (typeof secrets === 'object' && !Object.hasOwn(secrets, name)) {
      throw new InvalidOptionError({
        field: `creation.secrets[${index}]`,
        expected: 'a name listed in the `secrets` record',
        value: name,
      });
    }
  });
  if (options.approve !== undefined && typeof options.approve !== 'function') {
    throw new InvalidOptionError({
      field: 'creation.approve',
      expected: 'a function (request, source) => boolean',
      value: options.approve,
    });
  }
  return Object.freeze({
    enabled,
    network: Object.freeze({ allow: Object.freeze([...new Set(canonical)]) }),
    secrets: Object.freeze([...new Set(names as string[])]),
    maxTools: integerOption('creation.maxTools', options.maxTools ?? 50, 0),
    approve: options.approve,
  });
}

/** The canonical text of a grant entry: lower case, no trailing dot, IPv6 in brackets. */
export function formatGrantEntry(host: string, port: number | undefined, wildcard: boolean): string {
  const bare = host.replace(/\.+$/, '');
  const shown = bare.includes(':') ? `[${bare}]` : bare;
  return `${wildcard ? '*.' : ''}${shown}${port === undefined ? '' : `:${port}`}`;
}

/**
 * Checks the collaborators passed in by role (each needs the methods the agent calls) and that
 * `regression` holds the runner's options, not a runner, so a wrong object fails at construction
 * with the option's name instead of deep inside the first improvement.
 */
export function checkAgentRoles(options: SelfImprovingAgentOptions): void {
  checkRole('sandbox', options.sandbox, ['run', 'runDetailed'], 'a Sandbox (QuickJsSandbox fits)');
  checkRole('validator', options.validator, ['validate'], 'a validator with validate() (CodeValidator fits)');
  checkRole('evaluator', options.evaluator, ['evaluate'], 'an evaluator with evaluate() (Evaluator fits)');
  checkRole('rewriter', options.rewriter, ['rewrite'], 'a Rewriter ({ name, rewrite() })');
  checkRole('generator', options.generator, ['generate'], 'a generator with generate() (ToolGenerator fits)');
  if (typeof (options.regression as { run?: unknown } | undefined)?.run === 'function') {
    throw new InvalidOptionError({
      field: 'regression',
      expected:
        "the RegressionRunner's options ({ runs, heldOutFraction, … }); the agent builds its runner on its own storage and sandbox",
      value: options.regression,
    });
  }
}

/** Throws unless `value` is undefined or an object with every method in `methods`. */
function checkRole(option: string, value: unknown, methods: readonly string[], expected: string): void {
  if (value === undefined) return;
  const target = value as Record<string, unknown> | null;
  if (
    (typeof value !== 'object' && typeof value !== 'function') ||
    target === null ||
    methods.some((method) => typeof target[method] !== 'function')
  ) {
    throw new InvalidOptionError({ field: option, expected, value });
  }
}
