import { type ErrorInfo, errorInfo } from '../core/error-info.ts';
import { hashValue } from '../core/hash-value.ts';
import type { CompiledSchema } from '../core/json-schema.ts';
import { INVALID_OUTPUT, outputViolation } from '../core/output-schema.ts';
import { plainJsonProblem } from '../core/plain-json.ts';
import type { TypedEmitter } from '../core/typed-emitter.ts';
import type { PerformanceMemory } from '../memory/performance-memory.ts';
import type { CallOutcome } from '../regression/shadow-gate.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';
import { SandboxError } from '../sandbox/sandbox-error.ts';
import type { SandboxDenial } from '../sandbox/sandbox-result.ts';
import { resolveSecretValues, type SecretSource } from '../sandbox/sandbox-secrets.ts';
import type { ToolCapabilities } from '../storage/records.ts';
import { ToolNotFoundError } from '../storage/storage-errors.ts';
import { AgentTracing, type ToolCallSpan } from '../telemetry/agent-tracing.ts';
import { newCallId } from './call-id.ts';
import {
  ToolDisabledError,
  ToolInputError,
  ToolInvocationError,
  ToolUnavailableError,
} from './runtime-errors.ts';
import type { RuntimeEvents } from './runtime-events.ts';
import type { ToolCatalog } from './tool-catalog.ts';

/** What a call may use after the app's grant narrowed the stored capabilities. */
export interface GrantedCapabilities {
  /** Network allow-list entries. */
  readonly network: string[];
  /** Secret names. */
  readonly secrets: string[];
}

/** What {@link ToolRuntime.run} runs: a source with the capabilities stored for it. */
export interface VersionToRun {
  /** The tool's source. */
  readonly source: string;
  /** The capabilities stored with the version; the app's grant narrows them. */
  readonly capabilities: ToolCapabilities;
  /** Pins the run to its own QuickJS instance (see `SandboxCall.isolationKey`). */
  readonly isolationKey?: string;
  /** The version's compiled output schema: a result it refuses fails the run with `INVALID_OUTPUT`. */
  readonly outputSchema?: CompiledSchema | undefined;
}

/** How one sandboxed run of a tool went ({@link ToolRuntime.run}). */
export interface SandboxOutcome {
  /** The tool's result (`undefined` on failure). */
  readonly value: unknown;
  /**
   * Why it failed (a sandbox code such as `TOOL_ERROR`, or `INVALID_OUTPUT` for a result the
   * version's output schema refuses, and its message), or `undefined`.
   */
  readonly failure: (Readonly<ErrorInfo> & { readonly error: unknown }) | undefined;
  /** Network requests the sandbox refused, also when the tool caught the error. */
  readonly denials: readonly SandboxDenial[];
  /** Sandbox start-up waited for, ms (not part of `latencyMs`). */
  readonly startupMs: number;
  /** The run's latency, ms, without start-up. */
  readonly latencyMs: number;
}

/** Everything the runtime works with; the agent builds it. */
export interface ToolRuntimeParts {
  /** The active version of every tool. */
  readonly catalog: Pick<ToolCatalog, 'get' | 'isDisabled'>;
  /** Where every tool version runs. Never the host. */
  readonly sandbox: Pick<Sandbox, 'runDetailed'>;
  /** Where every call is recorded. */
  readonly memory: Pick<PerformanceMemory, 'record'>;
  /** Where `tool:invoked` goes. */
  readonly events: Pick<TypedEmitter<RuntimeEvents>, 'emit'>;
  /** The app's secrets, resolved per call for the names a tool was granted. */
  readonly secrets?: SecretSource;
  /**
   * What a call of the tool may use, from its stored capabilities. @default the stored
   * capabilities as they are
   */
  readonly capabilities?: (toolName: string, stored: ToolCapabilities) => Promise<GrantedCapabilities>;
  /**
   * Called after every recorded call (the improvement loop counts it); the work it returns is
   * awaited when `inline` says so.
   */
  readonly afterCall?: (
    toolName: string,
    version: number,
    input: object,
    outcome: CallOutcome,
  ) => Promise<void> | undefined;
  /** Await the work `afterCall` returns before the call returns (`improvement.mode: 'inline'`). */
  readonly inline?: boolean;
  /**
   * Starts a `sia.tool_call <tool>` span per call; `afterCall` runs with it active.
   * @default new AgentTracing() (the global tracer provider; a no-op without an SDK)
   */
  readonly tracing?: AgentTracing;
}

/** Where a call came from, for `tool:invoked`. */
export interface CallContext {
  /** The AI SDK's id of the tool call, when the call came through an AI SDK tool. */
  readonly toolCallId?: string;
}

/**
 * How a call ended: the value, or the error the caller gets (the call was recorded unless the
 * input was refused). A call that ran has its `callId` (see `newCallId`) and latency; a call
 * refused before it ran (unknown tool, unavailable version, invalid input) has neither.
 */
export type ToolCallOutcome =
  | {
      readonly ok: true;
      readonly value: unknown;
      readonly version: number;
      readonly callId: string;
      readonly latencyMs: number;
    }
  | {
      readonly ok: false;
      readonly error: Error;
      readonly version?: number;
      readonly callId?: string;
      readonly latencyMs?: number;
    };

/**
 * Runs one call of a managed tool: picks the version the catalog serves (kept to the end of the
 * call, so a promotion never interrupts it), refuses calls of a disabled tool, refuses input that is not plain JSON or does not
 * match the tool's schema (nothing runs, nothing is recorded), runs the version in the sandbox
 * with the capabilities the app grants, records the call with its version, emits
 * `tool:invoked`, and hands the outcome to the improvement loop.
 */
export class ToolRuntime {
  readonly #parts: ToolRuntimeParts;
  readonly #tracing: AgentTracing;

  constructor(parts: ToolRuntimeParts) {
    this.#parts = parts;
    this.#tracing = parts.tracing ?? new AgentTracing();
  }

  /**
   * Runs the active version and records the call; never throws for tool failures. Each call,
   * refused ones too, has a `sia.tool_call <tool>` span (ended before this resolves).
   */
  async execute(toolName: string, input: unknown, context: CallContext = {}): Promise<ToolCallOutcome> {
    const span = this.#tracing.startToolCall({ toolName, toolCallId: context.toolCallId });
    try {
      // Every path that returns ends the span with its outcome.
      return await this.#execute(toolName, input, context, span);
    } catch (error) {
      span.end({ outcome: 'failure', errorCode: errorInfo(error).code });
      throw error;
    }
  }

  async #execute(
    toolName: string,
    input: unknown,
    context: CallContext,
    span: ToolCallSpan,
  ): Promise<ToolCallOutcome> {
    const refuse = (error: Error & { code: string }, version?: number): ToolCallOutcome => {
      span.end({ outcome: 'refused', version, errorCode: error.code });
      return { ok: false, error };
    };
    const managed = this.#parts.catalog.get(toolName);
    if (!managed) return refuse(new ToolNotFoundError(toolName));
    if (this.#parts.catalog.isDisabled(toolName)) return refuse(new ToolDisabledError(toolName));
    const version = managed.version;
    if (managed.problem !== null) {
      return refuse(
        new ToolUnavailableError({ toolName, version: version.version, problem: managed.problem }),
        version.version,
      );
    }
    // Before the schema: the validator recurses (a RangeError on deep input) and accepts what
    // JSON cannot carry (Infinity passes `type: "integer"`, then reaches the tool as null).
    const notJson = plainJsonProblem(input, 'input');
    if (notJson !== null) {
      return refuse(
        new ToolInputError(toolName, [`${notJson.path}: ${notJson.message}`], 'is not plain JSON'),
        version.version,
      );
    }
    const problems = managed.inputSchema.validate(input);
    if (typeof input !== 'object' || input === null || Array.isArray(input) || problems.length > 0) {
      const details =
        problems.length > 0
          ? problems.slice(0, 5).map((problem) => `${problem.path || '(input)'}: ${problem.message}`)
          : ['the input must be a JSON object'];
      return refuse(new ToolInputError(toolName, details), version.version);
    }
    // Made on the host when the call starts: nothing the tool or the model says can choose it.
    const callId = newCallId(toolName, version.version);
    const startedAt = Date.now();
    const { value, failure, denials, startupMs, latencyMs } = await this.run(toolName, input, {
      source: version.source,
      capabilities: version.capabilities,
      // Each tool version runs in its own QuickJS instance (added to the derived key).
      isolationKey: `${toolName}@${version.version}`,
      outputSchema: managed.outputSchema,
    });
    this.#parts.memory.record({
      toolName,
      version: version.version,
      startedAt,
      latencyMs,
      success: failure === undefined,
      inputHash: hashValue(input),
      input,
      callId,
      ...(failure
        ? { errorCode: failure.code, errorMessage: failure.message }
        : { outputHash: hashValue(value), output: value }),
    });
    this.#parts.events.emit('tool:invoked', {
      toolName,
      version: version.version,
      callId,
      ...(context.toolCallId === undefined ? {} : { toolCallId: context.toolCallId }),
      latencyMs,
      ...(startupMs > 0 ? { startupMs } : {}),
      success: failure === undefined,
      ...(failure ? { error: { code: failure.code, message: failure.message } } : {}),
      // Observable even when the tool caught the error: the call still tried an ungranted host.
      ...(denials.length > 0 ? { denials: [...denials] } : {}),
    });
    // With the call's span active: the evaluation and improvement it starts (now or later) nest under it.
    const afterCall = this.#parts.afterCall;
    const work = afterCall
      ? span.with(() =>
          afterCall(toolName, version.version, input, { success: failure === undefined, latencyMs }),
        )
      : undefined;
    if (work && this.#parts.inline === true) await work;
    span.end({
      outcome: failure ? 'failure' : 'success',
      version: version.version,
      callId,
      latencyMs,
      startupMs,
      errorCode: failure?.code,
    });
    if (failure) {
      return {
        ok: false,
        version: version.version,
        callId,
        latencyMs,
        error: new ToolInvocationError({
          toolName,
          version: version.version,
          callId,
          errorCode: failure.code,
          message: failure.message,
          cause: failure.error,
        }),
      };
    }
    return { ok: true, value, version: version.version, callId, latencyMs };
  }

  /**
   * Runs `source` as the tool `toolName` on `input` in the sandbox, with the capabilities the app
   * grants from `capabilities` and the secrets they name; records nothing and never throws. The
   * latency leaves out sandbox start-up. `execute` uses it for served calls; the shadow phase
   * for a candidate beside them.
   */
  async run(toolName: string, input: object, version: VersionToRun): Promise<SandboxOutcome> {
    const started = performance.now();
    let outcome: Omit<SandboxOutcome, 'latencyMs'>;
    try {
      const granted = await this.#granted(toolName, version.capabilities);
      const result = await this.#parts.sandbox.runDetailed(
        {
          source: version.source,
          entry: toolName,
          network: { allow: granted.network },
          ...(granted.secrets.length > 0
            ? { secrets: await resolveSecretValues(granted.secrets, this.#parts.secrets) }
            : {}),
          ...(version.isolationKey === undefined ? {} : { isolationKey: version.isolationKey }),
        },
        input,
      );
      const invalid = version.outputSchema ? outputViolation(version.outputSchema, result.value) : null;
      outcome =
        invalid === null
          ? { value: result.value, failure: undefined, denials: result.denials, startupMs: result.startupMs }
          : {
              value: undefined,
              failure: { code: INVALID_OUTPUT, message: invalid, error: undefined },
              denials: result.denials,
              startupMs: result.startupMs,
            };
    } catch (error) {
      const sandboxError = SandboxError.isInstance(error) ? error : undefined;
      outcome = {
        value: undefined,
        failure: { ...errorInfo(error), error },
        denials: sandboxError?.denials ?? [],
        startupMs: sandboxError?.startupMs ?? 0,
      };
    }
    // Sandbox start-up (a new pool's WebAssembly, a tool's first QuickJS instance) is not the call.
    return { ...outcome, latencyMs: Math.max(0, performance.now() - started - outcome.startupMs) };
  }

  async #granted(toolName: string, stored: ToolCapabilities): Promise<GrantedCapabilities> {
    if (this.#parts.capabilities) return this.#parts.capabilities(toolName, stored);
    return { network: stored.network, secrets: stored.secrets ?? [] };
  }
}
