import { MockLanguageModelV4 } from 'ai/test';

type LanguageModelV4CallOptions = Parameters<MockLanguageModelV4['doGenerate']>[0];
type LanguageModelV4GenerateResult = Awaited<ReturnType<MockLanguageModelV4['doGenerate']>>;
type LanguageModelV4StreamPart =
  Awaited<ReturnType<MockLanguageModelV4['doStream']>>['stream'] extends ReadableStream<infer PART>
    ? PART
    : never;

/** What a scripted model is being asked to do, recognised from the library's own prompts. */
export type ScriptedCallKind = 'orchestrator' | 'generator' | 'rewriter';

/** One call to a scripted model. */
export interface ScriptedCall {
  /** `generator` for `ToolGenerator`, `rewriter` for `LlmRewriter`, `orchestrator` otherwise (`agent.run`). */
  readonly kind: ScriptedCallKind;
  /** The tool a generator or rewriter prompt is about (from "Write the tool `x`"), else null. */
  readonly toolName: string | null;
  /** The system prompt. */
  readonly system: string;
  /** All user and tool-result text of the prompt, joined. */
  readonly text: string;
  /** Results of tool calls in the prompt so far, oldest first. */
  readonly toolResults: { toolName: string; output: unknown }[];
  /** 0-based index of this call among the calls of the same kind. */
  readonly index: number;
}

/** A scripted answer: plain text (code for generators and rewriters), or tool calls. */
export type ScriptedReply = { text: string } | { toolCalls: { toolName: string; input: unknown }[] };

/**
 * A language model that answers from a script, for tests and offline demos: an AI SDK
 * `MockLanguageModelV4` whose every answer comes from `respond`, which is told whether the
 * library is orchestrating (`agent.run`, `agent.stream`), generating a tool or rewriting one. It
 * answers `doGenerate` and `doStream` alike (a stream sends the same answer as parts). Each
 * answer counts 1 input token per 4 prompt characters and 1 output token per 4 answer characters.
 * @example
 * const model = scriptedModel((call) =>
 *   call.kind === 'generator' ? { text: 'function add({ a, b }) { return a + b; }' } : { text: 'done' });
 */
export function scriptedModel(respond: (call: ScriptedCall) => ScriptedReply): MockLanguageModelV4 {
  const counters: Record<ScriptedCallKind, number> = { orchestrator: 0, generator: 0, rewriter: 0 };
  let callId = 0;
  const answer = async (options: LanguageModelV4CallOptions): Promise<LanguageModelV4GenerateResult> => {
    const call = describeCall(options, counters);
    const reply = respond(call);
    const promptChars = call.system.length + call.text.length;
    if ('toolCalls' in reply) {
      const content = reply.toolCalls.map((toolCall) => ({
        type: 'tool-call' as const,
        toolCallId: `call-${++callId}`,
        toolName: toolCall.toolName,
        input: JSON.stringify(toolCall.input),
      }));
      return result(content, 'tool-calls', promptChars, JSON.stringify(reply.toolCalls).length);
    }
    return result([{ type: 'text', text: reply.text }], 'stop', promptChars, reply.text.length);
  };
  return new MockLanguageModelV4({
    provider: 'scripted',
    modelId: 'scripted-model',
    doGenerate: answer,
    doStream: async (options) => {
      const { content, finishReason, usage } = await answer(options);
      const parts: LanguageModelV4StreamPart[] = [{ type: 'stream-start', warnings: [] }];
      content.forEach((part, index) => {
        if (part.type === 'text') {
          const id = `text-${index}`;
          parts.push(
            { type: 'text-start', id },
            { type: 'text-delta', id, delta: part.text },
            { type: 'text-end', id },
          );
        } else if (part.type === 'tool-call') {
          parts.push(part);
        }
      });
      parts.push({ type: 'finish', finishReason, usage });
      return {
        stream: new ReadableStream<LanguageModelV4StreamPart>({
          start(controller) {
            for (const part of parts) controller.enqueue(part);
            controller.close();
          },
        }),
      };
    },
  });
}

function describeCall(
  options: LanguageModelV4CallOptions,
  counters: Record<ScriptedCallKind, number>,
): ScriptedCall {
  let system = '';
  const texts: string[] = [];
  const toolResults: { toolName: string; output: unknown }[] = [];
  for (const message of options.prompt) {
    if (message.role === 'system') system += message.content;
    if (message.role === 'user') {
      for (const part of message.content) if (part.type === 'text') texts.push(part.text);
    }
    if (message.role === 'tool') {
      for (const part of message.content) {
        if (part.type !== 'tool-result') continue;
        const output = part.output as { type: string; value?: unknown };
        toolResults.push({ toolName: part.toolName, output: output.value });
        texts.push(JSON.stringify(output.value ?? null));
      }
    }
  }
  const kind: ScriptedCallKind = system.includes('you improve an EXISTING tool')
    ? 'rewriter'
    : system.startsWith('You write one JavaScript tool')
      ? 'generator'
      : 'orchestrator';
  const text = texts.join('\n');
  const named = /tool `([a-z][a-z0-9_]*)`/.exec(text);
  const index = counters[kind];
  counters[kind] += 1;
  return {
    kind,
    toolName: kind === 'orchestrator' ? null : (named?.[1] ?? null),
    system,
    text,
    toolResults,
    index,
  };
}

function result(
  content: LanguageModelV4GenerateResult['content'],
  finish: 'stop' | 'tool-calls',
  promptChars: number,
  answerChars: number,
): LanguageModelV4GenerateResult {
  const input = Math.ceil(promptChars / 4);
  const output = Math.ceil(answerChars / 4);
  return {
    content,
    finishReason: { unified: finish, raw: finish },
    usage: {
      inputTokens: { total: input, noCache: input, cacheRead: undefined, cacheWrite: undefined },
      outputTokens: { total: output, text: output, reasoning: undefined },
    },
    warnings: [],
  };
}
