import type { AsyncIterableStream, StepResult, streamText, TextStreamPart, ToolSet } from 'ai';
import { type TokenUsage, usageFromModel } from '../generation/token-usage.ts';
import type { AgentToolCall, RunTally } from './agent-run.ts';

/** The AI SDK's `streamText` result the agent's stream is built on. */
type StreamTextRun = ReturnType<typeof streamText<ToolSet>>;

/** Options of {@link AgentStreamResult.toUIMessageStream}: the AI SDK's own. */
export type AgentUIMessageStreamOptions = Parameters<StreamTextRun['toUIMessageStream']>[0];
/** Options of {@link AgentStreamResult.toUIMessageStreamResponse}: the AI SDK's own (plus `ResponseInit`). */
export type AgentUIMessageStreamResponseOptions = Parameters<StreamTextRun['toUIMessageStreamResponse']>[0];

/**
 * What `agent.stream()` returns: the surface of the AI SDK's `streamText` result (the streams
 * and the response helpers delegate to it), with `usage` and `toolCalls` in this library's
 * shape, as `run()` reports them. The promises settle when the stream has been read (reading
 * one of them reads it); an error mid-stream arrives the AI SDK's way, as an `error` part.
 */
export interface AgentStreamResult {
  /** The model's text, delta by delta, across steps. */
  readonly textStream: AsyncIterableStream<string>;
  /** Every part (text, tool calls and results, steps, errors, `abort`), as `streamText` gives it. */
  readonly fullStream: AsyncIterableStream<TextStreamPart<ToolSet>>;
  /** The final step's text. */
  readonly text: Promise<string>;
  /** Every step of the tool loop, as the AI SDK reports it. */
  readonly steps: Promise<StepResult<ToolSet>[]>;
  /**
   * Tokens of every step plus every attempt of the tools `request_new_tool` generated during
   * this stream (as `run().usage`).
   */
  readonly usage: Promise<TokenUsage>;
  /** Every tool call with its input, output and call id, in order (as `run().toolCalls`). */
  readonly toolCalls: Promise<AgentToolCall[]>;
  /** The AI SDK's UI-message chunk stream (for `createUIMessageStream` and the like). */
  toUIMessageStream(options?: AgentUIMessageStreamOptions): ReturnType<StreamTextRun['toUIMessageStream']>;
  /** A `Response` streaming UI-message chunks (SSE), for a chat route's `POST` handler. */
  toUIMessageStreamResponse(options?: AgentUIMessageStreamResponseOptions): Response;
  /** Reads the stream to its end without a consumer (so the promises settle). */
  consumeStream(options?: { onError?: (error: unknown) => void }): Promise<void>;
}

/** Wraps the `streamText` result of one agent stream; the promises are made on first read. */
export function agentStreamResult(result: StreamTextRun, tally: RunTally): AgentStreamResult {
  let steps: Promise<StepResult<ToolSet>[]> | undefined;
  const readSteps = () => {
    steps ??= Promise.resolve(result.steps).then((all) => [...all] as StepResult<ToolSet>[]);
    return steps;
  };
  let usage: Promise<TokenUsage> | undefined;
  let toolCalls: Promise<AgentToolCall[]> | undefined;
  return {
    get textStream() {
      return result.textStream;
    },
    get fullStream() {
      return result.fullStream as AsyncIterableStream<TextStreamPart<ToolSet>>;
    },
    get text() {
      return Promise.resolve(result.text);
    },
    get steps() {
      return readSteps();
    },
    get usage() {
      usage ??= Promise.resolve(result.totalUsage).then((total) => tally.usage(usageFromModel(total)));
      return usage;
    },
    get toolCalls() {
      toolCalls ??= readSteps().then((all) => tally.toolCalls(all));
      return toolCalls;
    },
    toUIMessageStream: (options) => result.toUIMessageStream(options),
    toUIMessageStreamResponse: (options) => result.toUIMessageStreamResponse(options),
    consumeStream: (options) => Promise.resolve(result.consumeStream(options)),
  };
}
