import {
  type Attributes,
  type Context,
  context,
  isSpanContextValid,
  type Span,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { errorInfo } from '../core/error-info.ts';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import type { DecisionEvidence, Evaluation } from '../evaluation/evaluation.ts';
import { SIA_SPAN_ATTRIBUTES as A, SIA_SPAN_NAMES } from './span-attributes.ts';

/** The instrumentation scope of the agent's spans: `trace.getTracer(TRACER_NAME, TRACER_VERSION)`. */
export const TRACER_NAME = 'self-improving-agent';

/** The package version the default tracer reports (kept equal to package.json by a test). */
export const TRACER_VERSION = '0.1.0';

/** How a tool call ended, as `sia.call.outcome` says. */
export type ToolCallSpanOutcome = 'success' | 'failure' | 'refused';

/** What is known when a tool call starts ({@link AgentTracing.startToolCall}). */
export interface ToolCallSpanStart {
  /** The tool's name. */
  readonly toolName: string;
  /** The AI SDK's id of the tool call, when the call came through an AI SDK tool. */
  readonly toolCallId?: string | undefined;
  /** `managed` (sandboxed source) or `host` (the app's own measured tool). @default 'managed' */
  readonly kind?: 'managed' | 'host';
}

/** How a tool call ended ({@link ToolCallSpan.end}): codes and numbers only. */
export interface ToolCallSpanEnd {
  /** `success`, `failure` (the call ran and failed) or `refused` (nothing ran). */
  readonly outcome: ToolCallSpanOutcome;
  /** The version that ran (or was refused). */
  readonly version?: number | undefined;
  /** The call's own id. */
  readonly callId?: string | undefined;
  /** The call's latency, ms, without start-up. */
  readonly latencyMs?: number | undefined;
  /** Sandbox start-up waited for, ms. */
  readonly startupMs?: number | undefined;
  /** The failure's or refusal's code (`TOOL_ERROR`, `TOOL_INPUT_INVALID`, …); never its message. */
  readonly errorCode?: string | undefined;
}

/**
 * A span of the agent ({@link AgentTracing.start}): set attributes while it runs,
 * {@link TracedSpan.fail} it with a code, run its work in {@link TracedSpan.with}, and
 * {@link TracedSpan.end end} it once (later calls are ignored).
 */
export class TracedSpan {
  readonly #span: Span;
  readonly #parent: Context;
  /** The context with this span active; undefined without an SDK (nothing to propagate). */
  readonly #context: Context | undefined;
  #ended = false;

  /** Wraps a started span; use {@link AgentTracing.start}. */
  constructor(span: Span, parent: Context) {
    this.#span = span;
    this.#parent = parent;
    // Without an SDK (an invalid span context) there is nothing to propagate: no context switch.
    this.#context = isSpanContextValid(span.spanContext()) ? trace.setSpan(parent, span) : undefined;
  }

  /** The context with this span active: the parent of spans started for its work. */
  get context(): Context {
    return this.#context ?? this.#parent;
  }

  /** Whether the span records (an SDK is registered and sampled it). */
  get recording(): boolean {
    return this.#span.isRecording();
  }

  /** Adds attributes (names, versions, codes and numbers only; `undefined` values are left out). */
  set(attributes: Attributes): void {
    if (!this.#ended && this.#span.isRecording()) this.#span.setAttributes(attributes);
  }

  /** Marks the span failed with `code` alone (`error.type`, status ERROR): never a message. */
  fail(code: string): void {
    if (this.#ended || !this.#span.isRecording()) return;
    this.#span.setAttribute(A.errorType, code);
    this.#span.setAttribute(A.errorCode, code);
    this.#span.setStatus({ code: SpanStatusCode.ERROR, message: code });
  }

  /** Runs `work` with this span active: spans it starts (also later, asynchronously) nest under it. */
  with<T>(work: () => T): T {
    return this.#context === undefined ? work() : context.with(this.#context, work);
  }

  /** Ends the span; later calls are ignored. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#span.end();
  }
}

/**
 * The span of one tool call (`sia.tool_call <tool>`), started by {@link AgentTracing.startToolCall}
 * under the active context (the AI SDK's `execute_tool` span when `@ai-sdk/otel` is registered).
 * Run the work the call triggers inside {@link ToolCallSpan.with} so it nests under the call, and
 * {@link ToolCallSpan.end end} it exactly once with how the call ended (later calls are ignored).
 */
export class ToolCallSpan extends TracedSpan {
  /** Records how the call ended and ends the span; status ERROR with the code alone on failure or refusal. */
  override end(end?: ToolCallSpanEnd): void {
    if (end !== undefined && this.recording) {
      this.set({
        [A.callOutcome]: end.outcome,
        [A.toolVersion]: end.version,
        [A.callId]: end.callId,
        [A.latencyMs]: end.latencyMs,
        [A.startupMs]: end.startupMs !== undefined && end.startupMs > 0 ? end.startupMs : undefined,
      });
      if (end.outcome !== 'success') this.fail(end.errorCode ?? end.outcome);
    }
    super.end();
  }
}

/**
 * Starts the agent's OpenTelemetry spans with consistent names ({@link SIA_SPAN_NAMES}) and
 * attributes ({@link SIA_SPAN_ATTRIBUTES}), under the active context. Without a tracer it
 * resolves `trace.getTracer('self-improving-agent', version)` when a span starts (so an SDK
 * registered after the agent was built is used); without any SDK every span is a no-op.
 */
export class AgentTracing {
  readonly #tracer: Tracer | undefined;
  #provider: TracerProvider | undefined;
  #resolved: Tracer | undefined;

  /** `tracer`: the tracer to use. @default the global tracer provider's, resolved per span */
  constructor(tracer?: Tracer) {
    this.#tracer = tracer;
  }

  /** The tracer spans start from now. */
  get tracer(): Tracer {
    if (this.#tracer !== undefined) return this.#tracer;
    // The global provider object changes only when tracing is registered anew (`trace.disable()`).
    const provider = trace.getTracerProvider();
    if (provider !== this.#provider || this.#resolved === undefined) {
      this.#provider = provider;
      this.#resolved = provider.getTracer(TRACER_NAME, TRACER_VERSION);
    }
    return this.#resolved;
  }

  /**
   * Starts the span of one tool call (`sia.tool_call <tool>`) under the active context: run
   * the work it triggers in `span.with(…)`, and call `span.end(…)` when it ended (also when it
   * was refused or threw).
   * @example
   * const span = tracing.startToolCall({ toolName: 'lookup', toolCallId, kind: 'host' });
   * try { … ; span.end({ outcome: 'success', version, callId, latencyMs }); }
   * catch (error) { span.end({ outcome: 'failure', errorCode: 'TOOL_ERROR' }); throw error; }
   */
  startToolCall(start: ToolCallSpanStart): ToolCallSpan {
    const parent = context.active();
    const span = this.tracer.startSpan(`${SIA_SPAN_NAMES.toolCall} ${start.toolName}`, undefined, parent);
    if (span.isRecording()) {
      span.setAttribute(A.operationName, 'execute_tool');
      span.setAttribute(A.toolName, start.toolName);
      span.setAttribute(A.toolType, 'function');
      span.setAttribute(A.toolKind, start.kind ?? 'managed');
      if (start.toolCallId !== undefined) span.setAttribute(A.toolCallId, start.toolCallId);
    }
    return new ToolCallSpan(span, parent);
  }

  /**
   * Starts `<name> <toolName>` (a {@link SIA_SPAN_NAMES} value) with `gen_ai.tool.name` and
   * `attributes`, under `parent` (default: the active context).
   */
  start(name: string, toolName: string, attributes: Attributes = {}, parent?: Context): TracedSpan {
    const parentContext = parent ?? context.active();
    const span = this.tracer.startSpan(
      `${name} ${toolName}`,
      { attributes: { [A.toolName]: toolName, ...attributes } },
      parentContext,
    );
    return new TracedSpan(span, parentContext);
  }

  /** {@link AgentTracing.span} for synchronous work. */
  spanSync<T>(name: string, toolName: string, attributes: Attributes, work: (span: TracedSpan) => T): T {
    const span = this.start(name, toolName, attributes);
    try {
      return span.with(() => work(span));
    } catch (error) {
      span.fail(errorInfo(error).code);
      throw error;
    } finally {
      span.end();
    }
  }

  /**
   * Runs an evaluation of `version` inside a `sia.evaluate <tool>` span that records its
   * result ({@link evaluationAttributes}).
   */
  evaluate(toolName: string, version: number, work: () => Promise<Evaluation>): Promise<Evaluation> {
    return this.span(SIA_SPAN_NAMES.evaluate, toolName, { [A.toolVersion]: version }, async (span) => {
      const evaluation = await work();
      if (span.recording) span.set(evaluationAttributes(evaluation));
      return evaluation;
    });
  }

  /**
   * Runs `work` inside a new span ({@link AgentTracing.start}) and ends it when the work
   * settles; a throw marks it failed with the error's code (never its message) and is rethrown.
   */
  async span<T>(
    name: string,
    toolName: string,
    attributes: Attributes,
    work: (span: TracedSpan) => Promise<T>,
    parent?: Context,
  ): Promise<T> {
    const span = this.start(name, toolName, attributes, parent);
    try {
      return await span.with(() => work(span));
    } catch (error) {
      span.fail(errorInfo(error).code);
      throw error;
    } finally {
      span.end();
    }
  }
}

/** The attributes of an evaluation's result: version, policy, verdict, reason codes, score, calls. */
export function evaluationAttributes(evaluation: Evaluation): Attributes {
  return {
    [A.toolVersion]: evaluation.version,
    [A.evaluationPolicy]: evaluation.policy,
    [A.needsRewrite]: evaluation.needsRewrite,
    [A.evaluationReasons]: evaluation.reasons.map((reason) => reason.code),
    [A.evaluationScore]: evaluation.score,
    [A.evaluationCalls]: evaluation.summary.invocations,
    [A.evaluationFailures]: evaluation.summary.failures,
  };
}

/** The numbers of a watch decision's evidence (never its sentence). */
export function decisionAttributes(evidence: DecisionEvidence): Attributes {
  return {
    [A.decisionTest]: evidence.test,
    [A.decisionStatistic]: evidence.statistic,
    [A.decisionBound]: evidence.bound,
    [A.decisionCalls]: evidence.calls,
    [A.decisionFailures]: evidence.events,
  };
}

/**
 * The agent's `tracer` option as an {@link AgentTracing}: `undefined` resolves the global
 * tracer per span; anything else must be an OpenTelemetry `Tracer` (`startSpan`).
 * @throws InvalidOptionError naming `tracer` and the value otherwise.
 */
export function tracingOption(tracer: unknown, field = 'tracer'): AgentTracing {
  if (tracer === undefined) return new AgentTracing();
  if (typeof tracer !== 'object' || tracer === null || typeof (tracer as Tracer).startSpan !== 'function') {
    throw new InvalidOptionError({
      field,
      expected: "an OpenTelemetry Tracer (trace.getTracer('my-app') from @opentelemetry/api)",
      value: tracer,
    });
  }
  return new AgentTracing(tracer as Tracer);
}
