import type { ModelMessage, StepResult, TelemetryOptions, ToolSet } from 'ai';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import type { Logger } from '../core/logger.ts';
import { addUsage, emptyUsage, type TokenUsage } from '../generation/token-usage.ts';
import type { ToolSelectionOptions } from './tool-selection.ts';

/**
 * What `run()` and `stream()` work on: a task (a non-empty string, sent as one user message) or
 * the conversation so far as AI SDK `ModelMessage`s (a chat route converts its UI messages with
 * the AI SDK's `convertToModelMessages`).
 */
export type AgentInput = string | ModelMessage[];

/** One tool call made during {@link SelfImprovingAgent.run} or `stream()`. */
export interface AgentToolCall {
  toolName: string;
  input: unknown;
  output: unknown;
  /** The AI SDK's id of the tool call (as in `steps`). */
  toolCallId: string;
  /**
   * The call's own id (as in `tool:invoked`), for `agent.feedback({ callId, … })`, of a managed
   * tool's call or of a measured host tool's (`hostTools` from `measureTools`); absent for
   * `request_new_tool`, for calls refused before they ran (unknown tool, invalid input, disabled
   * tool) and for unmeasured host tools.
   */
  callId?: string;
}

/** The result of {@link SelfImprovingAgent.run}. */
export interface AgentRunResult {
  /** The model's final text. */
  text: string;
  /** Every step of the tool loop, as the AI SDK reports it. */
  steps: StepResult<ToolSet>[];
  /** Every tool call with its input and output, in order. */
  toolCalls: AgentToolCall[];
  /**
   * Tokens used by the model across all steps, plus every attempt of the tools
   * `request_new_tool` generated during this run (failed attempts too). Improvement rewrites
   * run beside calls and are not included: they are counted in `tool:promoted`'s `loop.tokens`.
   */
  usage: TokenUsage;
}

/** Options of {@link SelfImprovingAgent.run} and `stream()`. */
export interface AgentRunOptions {
  /** Most model steps (each may call tools). @default 15 */
  maxSteps?: number;
  /**
   * Cancels this run: `run()` rejects at once with `AbortedError` (code `ABORTED`), also while
   * the model answers or `request_new_tool` is generating a tool (the generation is aborted
   * too); a stream ends the AI SDK's way (an `abort` part). Improvements running beside the run
   * belong to the agent and go on (they stop with `close()`).
   */
  abortSignal?: AbortSignal;
  /**
   * Called after each model step, in order, with the step as the AI SDK reports it (awaited
   * before the next step). Like the AI SDK, an error it throws does not fail the run: it is
   * reported to the agent's `logger` (warn) and the run goes on.
   */
  onStepFinish?: (step: StepResult<ToolSet>) => void | Promise<void>;
  /**
   * The AI SDK's telemetry settings for this run: passed as `telemetry` to the run's model calls
   * and to the generation of tools `request_new_tool` makes during it. Merged over the agent's
   * `telemetry` (these fields win); `functionId` is `sia.run` (`sia.generate-tool` for
   * generation) unless one of them names it.
   */
  telemetry?: TelemetryOptions;
  /**
   * Which tools the model is offered in this run (`include`, `exclude`, `requestNewTool`), as in
   * `agent.tools()`. The default system prompt drops its `request_new_tool` advice when the run
   * cannot create tools.
   * @default every managed tool, and request_new_tool when the agent can create tools
   */
  tools?: ToolSelectionOptions;
  /**
   * Your own AI SDK tools, offered to the model beside the managed ones in this run: typically
   * the set `agent.measureTools()` returned, so their calls are measured too (any AI SDK tools
   * work; unmeasured ones are just offered). They run as you wrote them. A key that is also a
   * managed tool's name, or `request_new_tool`, is refused (`InvalidOptionError` naming
   * `hostTools.<key>`).
   * @default none
   */
  hostTools?: ToolSet;
}

/** Options of `agent.stream()`: the same as {@link AgentRunOptions}. */
export type AgentStreamOptions = AgentRunOptions;

const ROLES = ['user', 'assistant', 'tool'] as const;

/**
 * The run's messages from its input: a task string becomes one user message; an array is
 * checked shallowly (each entry an object with a known `role` and a `content` of the right
 * kind) and copied. Throws {@link InvalidOptionError} naming `task` or `messages[i].field`.
 */
export function runMessages(input: unknown): ModelMessage[] {
  if (typeof input === 'string') {
    if (input.trim() === '') {
      throw new InvalidOptionError({
        field: 'task',
        expected: 'a non-empty string or a non-empty array of AI SDK ModelMessages',
        value: input,
      });
    }
    return [{ role: 'user', content: input }];
  }
  if (!Array.isArray(input) || input.length === 0) {
    throw new InvalidOptionError({
      field: Array.isArray(input) ? 'messages' : 'task',
      expected: 'a non-empty string or a non-empty array of AI SDK ModelMessages',
      value: input,
    });
  }
  input.forEach((message: unknown, index) => {
    const field = `messages[${index}]`;
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      throw new InvalidOptionError({
        field,
        expected:
          'an AI SDK ModelMessage { role, content } (convert UI messages with convertToModelMessages)',
        value: message,
      });
    }
    const { role, content } = message as { role?: unknown; content?: unknown };
    if (!ROLES.includes(role as (typeof ROLES)[number])) {
      throw new InvalidOptionError({
        field: `${field}.role`,
        expected:
          role === 'system'
            ? '"user", "assistant" or "tool" (the system prompt is the agent\'s `system` option)'
            : '"user", "assistant" or "tool"',
        value: role,
      });
    }
    const valid =
      role === 'tool' ? Array.isArray(content) : typeof content === 'string' || Array.isArray(content);
    if (!valid) {
      throw new InvalidOptionError({
        field: `${field}.content`,
        expected: role === 'tool' ? 'an array of tool result parts' : 'a string or an array of parts',
        value: content,
      });
    }
  });
  return [...(input as ModelMessage[])];
}

/**
 * What one run keeps besides the AI SDK's result: the tokens of its tool generations, the call
 * id of each managed tool call, and the app's step callback made safe.
 */
export class RunTally {
  #generationUsage = emptyUsage();
  readonly #callIds = new Map<string, string>();
  readonly #onStepFinish: AgentRunOptions['onStepFinish'];
  readonly #logger: Logger | undefined;

  constructor(onStepFinish: AgentRunOptions['onStepFinish'], logger: Logger | undefined) {
    if (onStepFinish !== undefined && typeof onStepFinish !== 'function') {
      throw new InvalidOptionError({
        field: 'onStepFinish',
        expected: 'a function (step) => void | Promise<void>',
        value: onStepFinish,
      });
    }
    this.#onStepFinish = onStepFinish;
    this.#logger = logger;
  }

  /** Adds one generation attempt's tokens (request_new_tool of this run). */
  readonly addGenerationUsage = (usage: TokenUsage): void => {
    this.#generationUsage = addUsage(this.#generationUsage, usage);
  };

  /** Notes the call id of a managed tool call. */
  readonly onCall = (toolCallId: string, callId: string): void => {
    this.#callIds.set(toolCallId, callId);
  };

  /** The step callback the AI SDK gets: the app's, whose errors are logged, not thrown. */
  readonly onStepFinish = async (step: StepResult<ToolSet>): Promise<void> => {
    if (this.#onStepFinish === undefined) return;
    try {
      await this.#onStepFinish(step);
    } catch (error) {
      this.#logger?.warn?.('onStepFinish threw; the run goes on', {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  };

  /** The model's total plus the generations'. */
  usage(modelUsage: TokenUsage): TokenUsage {
    return addUsage(modelUsage, this.#generationUsage);
  }

  /** Every tool call of `steps` with its output and call id, in order. */
  toolCalls(steps: readonly StepResult<ToolSet>[]): AgentToolCall[] {
    return steps.flatMap((step) =>
      step.toolResults.map((call) => {
        const callId = this.#callIds.get(call.toolCallId);
        return {
          toolName: call.toolName,
          input: call.input,
          output: call.output,
          toolCallId: call.toolCallId,
          ...(callId === undefined ? {} : { callId }),
        };
      }),
    );
  }
}
