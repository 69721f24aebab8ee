import {
  generateText,
  isStepCount,
  type LanguageModel,
  type StepResult,
  streamText,
  type TelemetryOptions,
  type ToolSet,
} from 'ai';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { SchemaCache } from '../core/json-schema.ts';
import type { Logger } from '../core/logger.ts';
import { booleanOption, integerOption } from '../core/options.ts';
import { TypedEmitter } from '../core/typed-emitter.ts';
import { Evaluator } from '../evaluation/evaluator.ts';
import { CodeValidator, formatIssue } from '../generation/code-validator.ts';
import { AbortedError } from '../generation/generation-errors.ts';
import { modelWithDeadline, withDeadline } from '../generation/model-deadline.ts';
import { checkLanguageModel } from '../generation/model-text.ts';
import {
  TELEMETRY_FUNCTION_IDS,
  telemetryOption,
  telemetrySettings,
} from '../generation/telemetry-settings.ts';
import { emptyUsage, usageFromModel } from '../generation/token-usage.ts';
import { type GenerationValidator, ToolGenerator } from '../generation/tool-generator.ts';
import { ImprovementBudget } from '../improvement/improvement-budget.ts';
import { ImprovementLease } from '../improvement/improvement-lease.ts';
import {
  type PromotionProposal,
  type ResolvedImprovementOptions,
  resolveImprovementOptions,
} from '../improvement/improvement-options.ts';
import { PromotionWatch, watchEvaluatorOptions } from '../improvement/promotion-watch.ts';
import { ToolImprover } from '../improvement/tool-improver.ts';
import { PerformanceMemory } from '../memory/performance-memory.ts';
import { InvalidToolError } from '../registry/registry-errors.ts';
import { checkToolName, type ToolDefinition, toInputSchema } from '../registry/tool-definition.ts';
import { ToolRegistry } from '../registry/tool-registry.ts';
import { type RegressionCaseInput, RegressionRunner } from '../regression/regression-runner.ts';
import { chainRewriters } from '../rewriting/chain-rewriters.ts';
import { HardeningRewriter } from '../rewriting/hardening-rewriter.ts';
import { LlmRewriter } from '../rewriting/llm-rewriter.ts';
import type { Rewriter } from '../rewriting/rewriter.ts';
import { type ManagedTool, ToolCatalog } from '../runtime/tool-catalog.ts';
import { ToolRuntime } from '../runtime/tool-runtime.ts';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';
import { resolveSecretValues, type SecretSource } from '../sandbox/sandbox-secrets.ts';
import type { ToolVersion } from '../storage/records.ts';
import { sqlJsStorage } from '../storage/sqlite/sql-js-storage.ts';
import type { StorageAdapter } from '../storage/storage-adapter.ts';
import { tracingOption } from '../telemetry/agent-tracing.ts';
import { AgentClosedError, AgentNotReadyError } from './agent-errors.ts';
import type { AgentEvents } from './agent-events.ts';
import { AgentFeedback, type FeedbackInput, type FeedbackResult } from './agent-feedback.ts';
import {
  checkAgentRoles,
  type ResolvedAgentTimeouts,
  type ResolvedCreationOptions,
  resolveAgentTimeouts,
  resolveCreationOptions,
  resolveSecretsOption,
  type SelfImprovingAgentOptions,
} from './agent-options.ts';
import {
  type AgentInput,
  type AgentRunOptions,
  type AgentRunResult,
  type AgentStreamOptions,
  RunTally,
  runMessages,
} from './agent-run.ts';
import { type AgentStreamResult, agentStreamResult } from './agent-stream-result.ts';
import { AiSdkTools, type AiSdkToolsOptions } from './ai-sdk-tools.ts';
import { CreationGrant } from './creation-grant.ts';
import { HostTools, hostToolsOption, type MeasureToolsOptions } from './host-tools.ts';
import { ToolCreation } from './tool-creation.ts';
import {
  type CreationUnavailable,
  resolveToolSelection,
  type ToolSelectionOptions,
} from './tool-selection.ts';

/** Why a managed tool cannot serve calls now (see {@link SelfImprovingAgent.toolAvailability}). */
export interface ToolUnavailability {
  /** `disabled`, `invalid` (its active source failed validation) or `secrets-missing`. */
  readonly reason: 'disabled' | 'invalid' | 'secrets-missing';
  /** One line saying why and what to do. */
  readonly message: string;
  /** With `secrets-missing`: the names the app does not supply. */
  readonly missingSecrets?: readonly string[];
}

/** A managed tool and whether calls can use it now ({@link SelfImprovingAgent.toolAvailability}). */
export interface ToolAvailability {
  /** The tool with its active version. */
  readonly tool: ManagedTool;
  /** Why it cannot serve calls; absent when it can. */
  readonly unavailable?: ToolUnavailability;
}

/** A hand-written tool for {@link SelfImprovingAgent.addTool}. */
export interface AgentToolDefinition extends ToolDefinition {
  /** Regression cases to store with the tool (in addition to `examples`). */
  tests?: RegressionCaseInput[];
}

/** Options of {@link SelfImprovingAgent.invoke}. */
export interface InvokeOptions {
  /**
   * Resolve with {@link InvokeDetails} (the value with the call's id, version and latency)
   * instead of the bare value.
   * @default false
   */
  details?: boolean;
}

/** What `invoke(name, input, { details: true })` resolves with. */
export interface InvokeDetails<T = unknown> {
  /** The tool's value. */
  value: T;
  /** The call's id (as in `tool:invoked`): pass it to `agent.feedback` to say whether `value` was right. */
  callId: string;
  /** The version that answered. */
  version: number;
  /** The call's latency, ms, without sandbox start-up (as recorded). */
  latencyMs: number;
}

const DEFAULT_SYSTEM_WITHOUT_CREATION =
  'You are a helpful assistant that completes tasks with tools. Use the available tools. ' +
  'When a tool returns an error, read it and decide: retry with other input, use another tool, or explain.';

const DEFAULT_SYSTEM =
  'You are a helpful assistant that completes tasks with tools. Use the available tools. When no ' +
  'tool can do what the task needs, call request_new_tool to create one, then call the new tool. ' +
  'When a tool returns an error, read it and decide: retry with other input, use another tool, or explain.';

/**
 * An agent whose tools get better by themselves. It composes the parts of this library: tools
 * live in a {@link ToolRegistry}, run in a {@link QuickJsSandbox}, every call is recorded in a
 * {@link PerformanceMemory} with the version that ran, an {@link Evaluator} scores each version
 * every `evaluateEvery` calls, and a version that needs it is rewritten (hardening first, then
 * the LLM), validated, gated by the {@link RegressionRunner} against the active version,
 * optionally shadowed and approved, promoted with compare-and-swap, watched, and rolled back if
 * it does worse. In `background` mode none of this adds latency to calls.
 * @example
 * const agent = new SelfImprovingAgent({ model: openai.chat('gpt-4o-mini'), storage: sqlJsStorage({ path: '.sia/agent.sqlite' }), closeStorage: true });
 * agent.on('tool:promoted', ({ toolName, fromVersion, toVersion }) => notify(`${toolName} v${fromVersion} → v${toVersion}`));
 * const { text } = await agent.run('Convert 5000 USD to ILS');
 * await agent.close();
 */
export class SelfImprovingAgent extends TypedEmitter<AgentEvents> {
  /** The storage everything lives in. */
  readonly storage: StorageAdapter;
  /** Tools, versions, pins and history. */
  readonly registry: ToolRegistry;
  /** Every call, per version. */
  readonly memory: PerformanceMemory;
  /** The promotion gate and the tools' regression cases. */
  readonly regression: RegressionRunner;
  /** The sandbox every tool runs in. */
  readonly sandbox: Sandbox;
  /** The improvement settings in force. */
  readonly improvement: ResolvedImprovementOptions;
  /** This agent's name in audit entries and leases. */
  readonly instanceId: string;
  readonly #model: LanguageModel | undefined;
  readonly #generator: Pick<ToolGenerator, 'generate'> | undefined;
  readonly #ownedGenerator: ToolGenerator | undefined;
  readonly #validator: GenerationValidator;
  readonly #catalog: ToolCatalog;
  readonly #runtime: ToolRuntime;
  readonly #improver: ToolImprover;
  readonly #sideEffects = new Set<string>();
  /** The app's system prompt, if it gave one. */
  readonly #system: string | undefined;
  readonly #telemetry: TelemetryOptions | undefined;
  /** Why `request_new_tool` cannot be offered, or undefined when it can. */
  readonly #creationUnavailable: CreationUnavailable;
  /** Whether the stored tools are loaded (or why they could not be). */
  #loading: { state: 'pending' } | { state: 'ready' } | { state: 'failed'; error: unknown } = {
    state: 'pending',
  };
  readonly #owned: { storage: boolean; sandbox: boolean };
  readonly #unwatch: (() => void) | undefined;
  readonly #ready: Promise<void>;
  readonly #aiTools: AiSdkTools;
  readonly #timeouts: ResolvedAgentTimeouts;
  readonly #logger: Logger | undefined;
  /** Aborted by `close()`: ends runs (and their tool generations) in flight. */
  readonly #closing = new AbortController();
  /** What the model may create through `request_new_tool` (validated, frozen). */
  readonly creation: ResolvedCreationOptions;
  readonly #grant: CreationGrant;
  readonly #secrets: SecretSource | undefined;
  readonly #creation: ToolCreation;
  readonly #feedback: AgentFeedback;
  readonly #hostTools: HostTools;
  #closed = false;

  constructor(options: SelfImprovingAgentOptions = {}) {
    super({ logger: options.logger });
    if (typeof options !== 'object' || options === null) {
      throw new InvalidOptionError({ field: 'options', expected: 'an object', value: options });
    }
    if (options.approve !== undefined && typeof options.approve !== 'function') {
      throw new InvalidOptionError({
        field: 'approve',
        expected: 'a function (proposal) => boolean | Promise<boolean>',
        value: options.approve,
      });
    }
    if (options.model !== undefined) checkLanguageModel(options.model);
    checkAgentRoles(options);
    this.#timeouts = resolveAgentTimeouts(options);
    this.#logger = options.logger;
    this.improvement = resolveImprovementOptions(options.improvement, {
      ms: this.#timeouts.modelTimeoutMs,
      set: options.modelTimeoutMs !== undefined,
    });
    this.instanceId = options.instanceId ?? `agent:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
    this.#model = options.model;
    this.#secrets = resolveSecretsOption(options.secrets);
    this.creation = resolveCreationOptions(options.creation, this.#secrets);
    this.#grant = new CreationGrant(this.creation);
    this.#system = options.system;
    this.#telemetry = telemetryOption('telemetry', options.telemetry);
    const closeStorage =
      options.closeStorage === undefined ? false : booleanOption('closeStorage', options.closeStorage);
    const closeSandbox =
      options.closeSandbox === undefined ? false : booleanOption('closeSandbox', options.closeSandbox);
    this.#owned = { storage: !options.storage || closeStorage, sandbox: !options.sandbox || closeSandbox };

    // --- the parts ----------------------------------------------------------------------------
    const storage = options.storage ?? sqlJsStorage();
    const sandbox = options.sandbox ?? new QuickJsSandbox({ logger: options.logger });
    const secrets = this.#secrets === undefined ? {} : { secrets: this.#secrets };
    const capabilities = (toolName: string, stored: ToolVersion['capabilities']) =>
      this.#creation.capabilities(toolName, stored);
    const tracing = tracingOption(options.tracer);
    this.storage = storage;
    this.sandbox = sandbox;
    this.memory = new PerformanceMemory({
      ...options.memory,
      storage,
      capture: options.capture,
      logger: options.logger,
    });
    this.memory.on('storage:error', (event) => this.emit('storage:error', event));
    this.registry = new ToolRegistry({ storage, actor: this.instanceId });
    this.#validator = options.validator ?? new CodeValidator();
    const evaluator = options.evaluator ?? new Evaluator();
    this.regression = new RegressionRunner({
      ...options.regression,
      storage,
      sandbox,
      ...secrets,
      capabilities,
    });
    if (options.generator) {
      this.#generator = options.generator;
    } else if (options.model) {
      this.#ownedGenerator = new ToolGenerator({
        model: options.model,
        sandbox,
        logger: options.logger,
        modelTimeoutMs: this.#timeouts.modelTimeoutMs,
        ...secrets,
        ...(this.#telemetry === undefined ? {} : { telemetry: this.#telemetry }),
      });
      this.#generator = this.#ownedGenerator;
    }
    this.#creationUnavailable = !this.creation.enabled
      ? 'disabled'
      : this.#generator === undefined
        ? 'no-generator'
        : undefined;
    const rewriter: Rewriter =
      options.rewriter ??
      (options.model
        ? chainRewriters(
            [
              new HardeningRewriter(),
              new LlmRewriter({
                model: options.model,
                modelTimeoutMs: this.#timeouts.modelTimeoutMs,
                ...(this.#telemetry === undefined ? {} : { telemetry: this.#telemetry }),
              }),
            ],
            { logger: options.logger, tracer: options.tracer },
          )
        : new HardeningRewriter());
    this.#catalog = new ToolCatalog(this.registry, this.#validator, new SchemaCache(), {
      onRefreshError: (error) =>
        options.logger?.warn?.('could not read the tools’ disabled state again', { error: String(error) }),
      // What the catalog took in from storage: another process's promotion, rollback, creation,
      // disabling (`sia disable`), … Said once, by whichever read saw it first.
      onChange: (toolName, change) => this.emit('tool:refreshed', { toolName, ...change }),
    });
    this.#creation = new ToolCreation({
      registry: this.registry,
      catalog: this.#catalog,
      generator: this.#generator,
      cases: this.regression,
      creation: this.creation,
      grant: this.#grant,
      events: this,
    });

    // --- the runtime: every call runs here and is handed to the loop -------------------------------
    this.#runtime = new ToolRuntime({
      catalog: this.#catalog,
      sandbox,
      memory: this.memory,
      events: this,
      ...secrets,
      capabilities,
      afterCall: (toolName, version, input, outcome) =>
        this.#improver.afterCall(toolName, version, input, outcome),
      inline: this.improvement.mode === 'inline',
      tracing,
    });

    // --- the improvement loop: evaluation, policy, lease, rewrite → validate → gate, shadow,
    // approval, promotion, watch and rollback, budget ----------------------------------------------
    this.#improver = new ToolImprover({
      registry: this.registry,
      memory: this.memory,
      evaluator,
      gate: this.regression,
      rewriter,
      validator: this.#validator,
      runtime: this.#runtime,
      catalog: this.#catalog,
      events: this,
      lease: new ImprovementLease({
        store: storage,
        holder: this.instanceId,
        ttlMs: this.improvement.leaseMs,
      }),
      budget: new ImprovementBudget({
        ledger: this.registry,
        maxTokensPerDay: this.improvement.maxTokensPerDay,
      }),
      watch: new PromotionWatch({
        evaluator: new Evaluator(watchEvaluatorOptions(evaluator, this.improvement.watchCalls)),
        memory: this.memory,
        registry: this.registry,
        catalog: this.#catalog,
        events: this,
        options: this.improvement,
        actor: this.instanceId,
        tracing,
      }),
      options: this.improvement,
      approve: options.approve as ((proposal: PromotionProposal) => boolean | Promise<boolean>) | undefined,
      sideEffects: this.#sideEffects,
      captureEnabled: options.capture?.inputs === true && options.capture?.outputs === true,
      instanceId: this.instanceId,
      logger: options.logger,
      tracing,
    });

    this.#aiTools = new AiSdkTools({
      catalog: this.#catalog,
      execute: (toolName, input, context) => this.#runtime.execute(toolName, input, context),
      creation: this.#creation,
      grant: this.#grant,
    });

    this.#feedback = new AgentFeedback({
      registry: this.registry,
      catalog: this.#catalog,
      memory: this.memory,
      cases: this.regression,
      store: storage,
      events: this,
      secrets: this.#secrets,
      secretNames: this.creation.secrets,
      actor: this.instanceId,
      onWrong: (toolName, version) => {
        const work = this.#improver.afterFeedback(toolName, version);
        return this.improvement.mode === 'inline' ? work : undefined;
      },
    });

    this.#hostTools = new HostTools({
      registry: this.registry,
      catalog: this.#catalog,
      memory: this.memory,
      events: this,
      afterCall: (toolName, version, input, outcome) =>
        this.#improver.afterCall(toolName, version, input, outcome),
      inline: this.improvement.mode === 'inline',
      secrets: this.#secrets,
      secretNames: this.creation.secrets,
      actor: this.instanceId,
      logger: options.logger,
      tracing,
    });

    // Another process promoted or rolled back: serve the new active version from the next call.
    this.#unwatch = storage.watchActive?.((change) => {
      const known = this.#catalog.get(change.toolName);
      if (known?.version.version === change.activeVersion) return;
      void this.#catalog.refresh(change.toolName).catch((error: unknown) => {
        options.logger?.warn?.('could not refresh a tool after a change notice', { error: String(error) });
      });
    });
    const catalog = this.#catalog;
    const registry = this.registry;
    const sideEffects = this.#sideEffects;
    this.#ready = (async () => {
      await storage.ready?.();
      await catalog.load();
      for (const managed of catalog.list()) {
        if (await registry.hasSideEffects(managed.name)) sideEffects.add(managed.name);
      }
    })();
    // Surfaced by the first call that awaits readiness; never an unhandled rejection.
    this.#ready.then(
      () => {
        this.#loading = { state: 'ready' };
      },
      (error: unknown) => {
        this.#loading = { state: 'failed', error };
      },
    );
  }

  /** Resolves when stored tools are loaded (and their sources re-validated). Rejects if storage cannot open. */
  async ready(): Promise<void> {
    await this.#ready;
  }

  /** The tools the agent serves, with their active versions. */
  async listTools(): Promise<ManagedTool[]> {
    await this.#open('listTools');
    return this.#catalog.list();
  }

  /**
   * Every managed tool with whether a call can use it now, and why not: `disabled`
   * (`disableTool`, `sia disable`), `invalid` (its active source failed validation when loaded:
   * roll it back), or `secrets-missing` (its version reads secrets that the app's `secrets`
   * does not supply, or, for a tool the model created, that `creation.secrets` no longer
   * grants: its calls would fail). What the MCP server serves (`McpToolServer`, `sia mcp`): the
   * tools without `unavailable`. With `toolName`, only that tool (an empty list when the agent
   * does not have it), without resolving the other tools' secrets.
   * @example
   * for (const { tool, unavailable } of await agent.toolAvailability())
   *   if (unavailable) log(`${tool.name}: ${unavailable.message}`);
   */
  async toolAvailability(toolName?: string): Promise<ToolAvailability[]> {
    await this.#open('toolAvailability');
    if (toolName !== undefined && typeof toolName !== 'string') {
      throw new InvalidOptionError({ field: 'toolName', expected: 'a tool name', value: toolName });
    }
    const one = toolName === undefined ? undefined : this.#catalog.get(toolName);
    const tools = toolName === undefined ? this.#catalog.list() : one === undefined ? [] : [one];
    const availability: ToolAvailability[] = [];
    for (const tool of tools) {
      availability.push({ tool, ...(await this.#unavailable(tool)) });
    }
    return availability;
  }

  /**
   * Reads every tool's disabled state from storage now, so a tool another process disabled or
   * enabled (`sia disable`, another agent's `disableTool`) is refused or served from the next
   * call; each change is emitted as `tool:refreshed`. Calls start such a read by themselves when
   * the last is 5 s old; the MCP server calls this while clients are connected, so they are told.
   */
  async readToolStates(): Promise<void> {
    await this.#open('readToolStates');
    await this.#catalog.readStates();
  }

  async #unavailable(tool: ManagedTool): Promise<{ unavailable?: ToolUnavailability }> {
    if (this.#catalog.isDisabled(tool.name)) {
      return {
        unavailable: { reason: 'disabled', message: `disabled (enable it with sia enable ${tool.name})` },
      };
    }
    if (tool.problem !== null) {
      return {
        unavailable: {
          reason: 'invalid',
          message: `its active version ${tool.version.version} failed validation (${tool.problem})`,
        },
      };
    }
    const declared = tool.version.capabilities.secrets ?? [];
    if (declared.length === 0) return {};
    const granted = (await this.#creation.capabilities(tool.name, tool.version.capabilities)).secrets;
    const supplied = await resolveSecretValues(granted, this.#secrets);
    const missing = declared.filter((name) => !Object.hasOwn(supplied, name));
    if (missing.length === 0) return {};
    return {
      unavailable: {
        reason: 'secrets-missing',
        message: `it reads secrets the app does not supply: ${missing.join(', ')} (give them in the agent's secrets option${granted.length < declared.length ? ' and creation.secrets' : ''})`,
        missingSecrets: missing,
      },
    };
  }

  /**
   * Calls a managed tool without any model: validates the input against the tool's schema, runs
   * the active version in the sandbox, records the call, and returns the value. Throws
   * {@link ToolInvocationError} when the tool fails (the failure is recorded),
   * {@link ToolInputError} for input that does not match the schema or is not plain JSON
   * (a cycle, BigInt, NaN/Infinity, `undefined`, a Date or class instance, a getter, deeper
   * than 100 levels: see `plainJsonProblem`), naming the path; then nothing ran or was recorded.
   *
   * With `{ details: true }` it resolves with {@link InvokeDetails}: the value with the call's
   * id (for `agent.feedback`), the version that answered and the latency. A failed call's id is
   * on the error (`ToolInvocationError.callId`).
   * @example
   * const { value, callId } = await agent.invoke('add_numbers', { a: 2, b: 3 }, { details: true });
   * if (value !== 5) await agent.feedback({ callId, correct: false, expected: 5 });
   */
  async invoke<T = unknown>(toolName: string, input?: object): Promise<T>;
  async invoke<T = unknown>(
    toolName: string,
    input: object,
    options: InvokeOptions & { details: true },
  ): Promise<InvokeDetails<T>>;
  async invoke<T = unknown>(
    toolName: string,
    input?: object,
    options?: InvokeOptions,
  ): Promise<T | InvokeDetails<T>>;
  async invoke<T = unknown>(
    toolName: string,
    input: object = {},
    options: InvokeOptions = {},
  ): Promise<T | InvokeDetails<T>> {
    await this.#open('invoke');
    const details = invokeDetailsOption(options);
    const outcome = await this.#runtime.execute(toolName, input);
    if (!outcome.ok) throw outcome.error;
    if (!details) return outcome.value as T;
    return {
      value: outcome.value as T,
      callId: outcome.callId,
      version: outcome.version,
      latencyMs: outcome.latencyMs,
    };
  }

  /**
   * Tells the agent whether an answer was right: by the call's id (`{ callId, correct }`, from
   * `tool:invoked`, `invoke(…, { details: true })`, `ToolInvocationError.callId` or
   * `tools({ details: true })`), or by tool, version (default: the active one) and input
   * (`{ toolName, version, input, correct }`: the newest call of the version with that input).
   *
   * A wrong answer counts as a failure in the version's evaluation (its entry in the memory's
   * window gets `feedback: 'wrong'`; `memory.statistics()` counts `feedback`) and makes the
   * improvement loop evaluate the version now. Every verdict is written to the audit log
   * (`tool:feedback`, shown per version by the report and `sia tools`) and emitted as
   * `tool:feedback`. With `expected` and a known input (captured with `capture.inputs`, or given
   * as `input`), it becomes a regression case of the tool (origin `feedback`,
   * `{ equals: expected }`, one per input) that every candidate must then pass. The app's secret
   * values in `note`, `expected` and `input` are replaced by `[secret:NAME]` before anything is
   * written. Throws `InvalidFeedbackError` (code `INVALID_FEEDBACK`) naming a bad field,
   * `UnknownCallError` (`UNKNOWN_CALL`) for a call id of a tool or version the store does not
   * have, `AgentClosedError` after `close()`.
   * @example
   * try {
   *   await agent.invoke('convert', { amount: 5, from: 'USD', to: 'EUR' });
   * } catch (error) {
   *   if (ToolInvocationError.isInstance(error))
   *     await agent.feedback({ callId: error.callId, correct: false, expected: 4.6, note: 'should not throw' });
   * }
   */
  async feedback(feedback: FeedbackInput): Promise<FeedbackResult> {
    await this.#open('feedback');
    return this.#feedback.give(feedback);
  }

  /**
   * Registers a hand-written tool (version 1, author `human`). Its source is validated;
   * `examples` and `tests` become regression cases.
   */
  async addTool(definition: AgentToolDefinition): Promise<ToolVersion> {
    await this.#open('addTool');
    const validation = this.#validator.validate(definition?.source, { name: definition?.name });
    if (!validation.ok) {
      throw new InvalidToolError({
        field: 'source',
        expected: `a valid tool source (${validation.issues.map((issue) => formatIssue(issue)).join('; ')})`,
        value: definition.source,
      });
    }
    const { tests = [], ...rest } = definition;
    // Every test is checked (against the schema of the tool about to exist) before anything is
    // written, and stored in the creation's own transaction: an invalid test leaves no tool
    // behind, so the corrected call can simply be made again.
    const testCases = this.regression.prepareCases(checkToolName(rest.name), tests, {
      inputSchema: toInputSchema(rest.inputSchema),
      field: 'tests',
      ...(rest.examples === undefined ? {} : { examples: rest.examples }),
    });
    const { version } = await this.registry.create(
      { ...rest, source: validation.source },
      { reason: 'added by the app', testCases },
    );
    if (rest.sideEffects === true) this.#sideEffects.add(version.toolName);
    this.#catalog.set(rest.description, version);
    this.emit('tool:created', {
      toolName: version.toolName,
      version: version.version,
      author: version.author,
      via: 'addTool',
      attempts: 1,
      usage: emptyUsage(),
    });
    return version;
  }

  /**
   * Disables a tool of either kind: its calls are refused with `ToolDisabledError` (code
   * `TOOL_DISABLED`; through `tools()` and `run` the model gets `{ error: { code: 'TOOL_DISABLED',
   * … } }`) without running or being recorded, `tools()` and `run` stop offering it, and no
   * improvement starts for it. Its versions, calls and history are kept. Recorded in the audit
   * log (`tool:disabled`, with `reason` and `actor`) and emitted as `tool:disabled`. Other
   * processes sharing the storage see it at their next read of the tools' state (a call starts
   * one, without waiting for it, when the last is 5 s old). Same as `sia disable <tool>`.
   * Resolves whether anything changed (false when it was already disabled).
   */
  async disableTool(toolName: string, options: { reason?: string; actor?: string } = {}): Promise<boolean> {
    return this.#setDisabled('disableTool', toolName, true, options);
  }

  /**
   * Enables a disabled tool again (audit entry and event `tool:enabled`); the reverse of
   * {@link SelfImprovingAgent.disableTool}. Resolves whether anything changed.
   */
  async enableTool(toolName: string, options: { reason?: string; actor?: string } = {}): Promise<boolean> {
    return this.#setDisabled('enableTool', toolName, false, options);
  }

  async #setDisabled(
    operation: string,
    toolName: string,
    disabled: boolean,
    options: { reason?: string; actor?: string },
  ): Promise<boolean> {
    await this.#open(operation);
    if (typeof options !== 'object' || options === null) {
      throw new InvalidOptionError({
        field: 'options',
        expected: 'an object { reason?, actor? }',
        value: options,
      });
    }
    const change = {
      reason: options.reason ?? (disabled ? 'disabled by the app' : 'enabled by the app'),
      actor: options.actor ?? this.instanceId,
    };
    const changed = await this.registry.setDisabled(toolName, disabled, change);
    this.#catalog.setDisabled(toolName, disabled);
    if (changed) this.emit(disabled ? 'tool:disabled' : 'tool:enabled', { toolName, ...change });
    return changed;
  }

  /**
   * Measures your own AI SDK tools (host tools: functions that call your database or your APIs):
   * returns the same `ToolSet` with each `execute` wrapped, so every call is recorded under the
   * release you name (`version`: a release or a git sha, mapped to the registry's next integer
   * version the first time it is seen), emitted as `tool:invoked`, evaluated with the same
   * decisions as managed tools (`tool:evaluated`), and shown by the CLI and the report. A tool
   * whose evaluation asks for a rewrite raises `tool:degraded` ({ toolName, version, kind:
   * 'host', label, evaluation }) for you to alert on.
   *
   * What differs from managed tools: host tools run on the host as you wrote them (never in the
   * sandbox: they get your process's full power), are never rewritten, promoted or rolled back by
   * the library (a new `version` label is your deploy; an older label again is your rollback),
   * are not offered by `tools()` (pass the returned set to the AI SDK yourself), and their errors
   * are thrown on to the AI SDK as they are (recorded with the error's `code` when it has one,
   * else `TOOL_ERROR`, with the app's secret values replaced). A disabled one
   * (`disableTool`) throws `ToolDisabledError` without running. Tools without `execute` and
   * provider-defined tools are passed through unmeasured. Registry names are the keys in
   * snake_case unless `names` says otherwise.
   * @example
   * const tools = await agent.measureTools({ getOrder: tool({ description: 'Reads an order', inputSchema: z.object({ id: z.string() }), execute: ({ id }) => db.order(id) }) }, { version: process.env.GIT_SHA ?? 'dev' });
   * const result = streamText({ model, tools: { ...tools, ...(await agent.toolSet()) }, messages });
   */
  async measureTools<T extends ToolSet>(tools: T, options: MeasureToolsOptions): Promise<T> {
    await this.#open('measureTools');
    const { tools: measured, measured: registered } = await this.#hostTools.measure(tools, options);
    for (const entry of registered) {
      if (entry.created) {
        this.emit('tool:created', {
          toolName: entry.toolName,
          version: entry.version.version,
          author: entry.version.author,
          via: 'measureTools',
          attempts: 1,
          usage: emptyUsage(),
        });
      }
    }
    return measured as T;
  }

  /**
   * The managed tools plus `request_new_tool`, as an AI SDK `ToolSet` for your own
   * `generateText`/`streamText`. The object is live: a tool created through `request_new_tool`
   * or promoted appears in it (a loop reading its tools each step offers it in the next step).
   * Calls are validated against each tool's real input schema; the model is given the view
   * providers accept (`ManagedTool.modelSchema`). A tool that fails answers the model with
   * `{ error: { code, message } }` instead of throwing, so the run goes on.
   *
   * Pick tools with `include` / `exclude` (names; checked for form only here, since the set is
   * live: use {@link SelfImprovingAgent.toolSet} to have unknown names refused).
   * `request_new_tool` is offered only when the agent can create tools (a `model` or a
   * `generator`, and `creation.enabled`); `requestNewTool: false` removes it, `true` on an agent
   * that cannot create tools throws `InvalidOptionError` naming `requestNewTool`.
   *
   * Throws `AgentNotReadyError` (code `AGENT_NOT_READY`) while the stored tools are loading
   * (a set built then would lack them): call `await agent.ready()` first, or use
   * `await agent.toolSet()`. Throws `AgentClosedError` after `close()`.
   *
   * With `{ details: true }` each managed tool's result in the steps (`toolResults[i].output`)
   * is a `DetailedToolOutput` `{ output, ok, callId, version, latencyMs }` instead of the bare
   * value, so the app can pass `callId` to `agent.feedback`; the model is given exactly what it
   * gets without `details` (`output`). Without it, join the steps' `toolCallId` with
   * `tool:invoked`'s `toolCallId` to find a call's `callId`.
   * @example
   * await agent.ready();
   * const result = streamText({ model, tools: { ...agent.tools({ exclude: ['send_email'] }), lookupOrder }, prompt });
   */
  tools(options: AiSdkToolsOptions = {}): ToolSet {
    if (this.#closed) throw new AgentClosedError('build tools');
    const loading = this.#loading;
    if (loading.state === 'pending') throw new AgentNotReadyError('build tools with agent.tools()');
    if (loading.state === 'failed') throw loading.error;
    return this.#toolSet(options);
  }

  /**
   * {@link SelfImprovingAgent.tools} after `await ready()`, so it can never be a stale set; also
   * checks that every name in `include` / `exclude` is a tool the agent has (else
   * `InvalidOptionError` naming the entry, e.g. `include[1]`, and the known names).
   * @example
   * const tools = await agent.toolSet({ include: ['convert_currency'], requestNewTool: false });
   * const result = streamText({ model, tools, stopWhen: isStepCount(5), prompt: 'Convert 5 USD to EUR' });
   */
  async toolSet(options: AiSdkToolsOptions = {}): Promise<ToolSet> {
    await this.#open('toolSet');
    const set = this.#toolSet(options);
    const known = new Set(this.#catalog.list().map((managed) => managed.name));
    for (const field of ['include', 'exclude'] as const) {
      (options[field] ?? []).forEach((name, index) => {
        if (known.has(name)) return;
        throw new InvalidOptionError({
          field: `${field}[${index}]`,
          expected: `the name of a tool this agent has (${known.size === 0 ? 'it has none yet' : [...known].sort().join(', ')})`,
          value: name,
        });
      });
    }
    return set;
  }

  #toolSet(options: AiSdkToolsOptions): ToolSet {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidOptionError({
        field: 'options',
        expected: 'an object { include?, exclude?, requestNewTool?, details? }',
        value: options,
      });
    }
    return this.#aiTools.live({
      details: options.details === undefined ? false : booleanOption('details', options.details),
      selection: resolveToolSelection(options, this.#creationUnavailable),
    });
  }

  /**
   * Runs a task, or continues a conversation, with the model and the managed tools (plus
   * `request_new_tool`). Each step sees the tools as they are at that moment, so a tool created
   * in one step is callable in the next. Improvement of the tools happens beside the run
   * (`background`) or inside the calls that trigger it (`inline`).
   *
   * `input` is a task string or the conversation so far as AI SDK `ModelMessage`s (roles
   * `user`, `assistant`, `tool`; the system prompt is the agent's `system` option): an invalid
   * one throws `InvalidOptionError` naming it (`task`, `messages[2].role`, …). Options:
   * `maxSteps`, `abortSignal` (ends this run and its tool generations, not the agent's
   * improvements), `onStepFinish`, `telemetry` (the AI SDK's settings, over the agent's), and
   * `tools` (`include`, `exclude`, `requestNewTool`, as in {@link SelfImprovingAgent.tools}).
   * @example
   * const progress: string[][] = [];
   * const { text, toolCalls, usage } = await agent.run('Convert 5000 USD to ILS', {
   *   onStepFinish: (step) => progress.push(step.toolCalls.map((call) => call.toolName)),
   *   telemetry: { functionId: 'convert', recordInputs: false },
   * });
   * @example
   * // a conversation: the chat UI's messages, converted with the AI SDK
   * import { convertToModelMessages } from 'ai';
   * const { text } = await agent.run(await convertToModelMessages(uiMessages));
   */
  async run(input: AgentInput, options: AgentRunOptions = {}): Promise<AgentRunResult> {
    await this.#open('run');
    const plan = this.#plan(input, options, 'run');
    const result = await withDeadline(
      (signal) =>
        generateText({
          ...plan.settings,
          abortSignal: signal,
          onStepFinish: plan.tally.onStepFinish,
        }),
      { abortSignal: plan.abortSignal, operation: 'the run' },
    );
    const steps = [...result.steps] as StepResult<ToolSet>[];
    return {
      text: result.text,
      steps,
      toolCalls: plan.tally.toolCalls(steps),
      usage: plan.tally.usage(usageFromModel(result.totalUsage)),
    };
  }

  /**
   * {@link SelfImprovingAgent.run} as a stream: returns at once (like the AI SDK's `streamText`)
   * an {@link AgentStreamResult} with `textStream`, `fullStream`, `toUIMessageStreamResponse()`,
   * `toUIMessageStream()`, `consumeStream()`, and the promises `text`, `steps`, `usage` and
   * `toolCalls` (as `run()` reports them). It takes the same input and options as `run()`. Bad
   * arguments, an agent without a model, or a closed agent throw at once; the first step waits
   * for the stored tools to load. Errors mid-stream arrive as the AI SDK's `error` parts;
   * `abortSignal` and `close()` end the stream (an `abort` part) and its tool generations.
   * @example
   * // app/api/chat/route.ts
   * import { convertToModelMessages, type UIMessage } from 'ai';
   * export async function POST(request: Request): Promise<Response> {
   *   const { messages } = (await request.json()) as { messages: UIMessage[] };
   *   const result = agent.stream(await convertToModelMessages(messages), { abortSignal: request.signal });
   *   return result.toUIMessageStreamResponse();
   * }
   */
  stream(input: AgentInput, options: AgentStreamOptions = {}): AgentStreamResult {
    if (this.#closed) throw new AgentClosedError('stream');
    const plan = this.#plan(input, options, 'stream');
    const ready = this.#ready;
    const result = streamText({
      ...plan.settings,
      abortSignal: plan.abortSignal,
      onStepFinish: plan.tally.onStepFinish,
      // stream() returns at once: the first step waits for the stored tools.
      prepareStep: async ({ stepNumber }) => {
        if (stepNumber === 0) {
          await ready;
          // Checked again now that the stored tools are known (a clash fails the stream).
          hostToolsOption(options.hostTools, this.#catalog);
        }
        return undefined;
      },
    });
    return agentStreamResult(result, plan.tally);
  }

  /** What run() and stream() share: checked input and options, the run's live tools and tally. */
  #plan(input: AgentInput, options: AgentRunOptions, operation: 'run' | 'stream') {
    if (!this.#model) {
      throw new InvalidOptionError({
        field: 'model',
        expected: `an AI SDK LanguageModel (${operation}() needs a model; invoke() does not)`,
        value: undefined,
      });
    }
    if (typeof options !== 'object' || options === null) {
      throw new InvalidOptionError({
        field: 'options',
        expected: 'an object { maxSteps?, abortSignal?, onStepFinish?, telemetry?, tools?, hostTools? }',
        value: options,
      });
    }
    const messages = runMessages(input);
    const maxSteps = integerOption('maxSteps', options.maxSteps ?? 15, 1, 1000);
    if (options.abortSignal !== undefined && !(options.abortSignal instanceof AbortSignal)) {
      throw new InvalidOptionError({
        field: 'abortSignal',
        expected: 'an AbortSignal',
        value: options.abortSignal,
      });
    }
    const runTelemetry = telemetryOption('telemetry', options.telemetry);
    const selection = resolveToolSelection(
      selectionOption(options.tools),
      this.#creationUnavailable,
      'tools.',
    );
    const tally = new RunTally(options.onStepFinish, this.#logger);
    // The caller's signal and close() both end the run; each model call has its own deadline.
    const abortSignal =
      options.abortSignal === undefined
        ? this.#closing.signal
        : AbortSignal.any([options.abortSignal, this.#closing.signal]);
    const tools = this.#aiTools.live({
      selection,
      hostTools: hostToolsOption(options.hostTools, this.#catalog),
      onCall: tally.onCall,
      // request_new_tool of this run adds its generation attempts' tokens to the run's usage
      // and gives the generation the run's telemetry.
      requestNewTool: this.#aiTools.requestNewTool({
        onUsage: tally.addGenerationUsage,
        telemetry: runTelemetry,
      }),
    });
    const settings = {
      model: modelWithDeadline(this.#model, this.#timeouts.modelTimeoutMs),
      instructions:
        this.#system ?? (selection.requestNewTool ? DEFAULT_SYSTEM : DEFAULT_SYSTEM_WITHOUT_CREATION),
      messages,
      tools,
      stopWhen: isStepCount(maxSteps),
      telemetry: telemetrySettings(TELEMETRY_FUNCTION_IDS.run, this.#telemetry, runTelemetry),
    };
    return { settings, tally, abortSignal };
  }

  /** Resolves when every background evaluation, improvement and watch started so far has settled. */
  async idle(): Promise<void> {
    await this.#improver.idle();
    await this.memory.flush();
  }

  /**
   * Sets how many of a tool's automatic improvements count against
   * `improvement.maxRewritesPerTool` to `to` (default 0: the full allowance again), for a tool
   * the cap stopped. Recorded in the audit log (`tool:improvements-reset`) with `actor`.
   * Same as `registry.resetImprovements` and `sia improvements reset <tool>`.
   */
  async resetImprovements(
    toolName: string,
    options: { to?: number; reason?: string; actor?: string } = {},
  ): Promise<void> {
    await this.#open('resetImprovements');
    await this.registry.resetImprovements(toolName, options);
  }

  /**
   * Stops the agent within a bounded time: aborts what is in flight (model calls of
   * improvements and of `run()`, tool generations, gates, a pending `approve` hook: each ends
   * with `AbortedError`, code `ABORTED`), waits for the improvement work to settle but at most
   * `closeTimeoutMs` (default 10 s), writes every record, and releases what the agent created
   * (sandbox, generator, storage), plus storage passed with `closeStorage: true` and a sandbox
   * passed with `closeSandbox: true`; other storage or a sandbox passed in stays open (close it
   * after its last user). So `close()`
   * resolves within `closeTimeoutMs` plus the time to flush records and close what it owns,
   * even when a provider never answers and ignores the abort.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort(new AbortedError('the run', new Error('the agent is closing')));
    this.#improver.close();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const settled = await Promise.race([
      this.#improver.idle().then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), this.#timeouts.closeTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (!settled) {
      this.#logger?.warn?.(
        `close(): improvement work still running after closeTimeoutMs (${this.#timeouts.closeTimeoutMs} ms); closing anyway`,
      );
    }
    this.#unwatch?.();
    // Release everything even when one step fails; report the first failure.
    const failures: unknown[] = [];
    const attempt = async (step: () => Promise<void> | undefined) => {
      try {
        await step();
      } catch (error) {
        failures.push(error);
      }
    };
    await attempt(() => this.memory.close());
    await attempt(() => this.#ownedGenerator?.close());
    if (this.#owned.sandbox) await attempt(() => this.sandbox.close?.());
    if (this.#owned.storage) await attempt(() => this.storage.close());
    if (failures.length > 0) throw failures[0];
  }

  async #open(operation: string): Promise<void> {
    if (this.#closed) throw new AgentClosedError(operation);
    await this.#ready;
  }
}

function selectionOption(value: unknown): ToolSelectionOptions {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError({
      field: 'tools',
      expected: 'an object { include?, exclude?, requestNewTool? }',
      value,
    });
  }
  return value as ToolSelectionOptions;
}

function invokeDetailsOption(options: InvokeOptions): boolean {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError({ field: 'options', expected: 'an object { details? }', value: options });
  }
  return options.details === undefined ? false : booleanOption('details', options.details);
}
