/**
 * A small OpenAI-compatible chat-completions server on 127.0.0.1, for tests that drive the real
 * AI SDK provider path (`createOpenAI({ baseURL, apiKey: 'test' }).chat(id)`) without a network.
 * Each POST /v1/chat/completions is answered by `respond(request, index)`: a text answer or tool
 * calls (sent as a `chat.completion` JSON body, or as SSE chunks when the request asks for
 * `stream: true`) or an error reply with any status, headers and body.
 */
import { startTestServer } from './http-server.ts';

/** The parsed JSON body of a chat-completions request. */
export interface ChatRequest {
  readonly model?: string;
  readonly messages?: readonly { role: string; content: unknown }[];
  readonly stream?: boolean;
  readonly temperature?: number;
  readonly max_tokens?: number;
  readonly max_completion_tokens?: number;
  readonly [key: string]: unknown;
}

/** How the server answers one request: a completion, tool calls, or an error response. */
export type ChatReply =
  | { readonly content: string; readonly usage?: { prompt_tokens: number; completion_tokens: number } }
  | {
      readonly toolCalls: readonly { readonly name: string; readonly arguments: object }[];
      readonly usage?: { prompt_tokens: number; completion_tokens: number };
    }
  | { readonly status: number; readonly headers?: Record<string, string>; readonly body?: unknown };

/** A running fake provider. */
export interface OpenAiServer {
  /** `http://127.0.0.1:<port>/v1`, to pass as `createOpenAI({ baseURL })`. */
  readonly baseURL: string;
  /** Every chat-completions request body received, in order (errors included). */
  readonly requests: ChatRequest[];
  /** Stops the server. */
  close(): Promise<void>;
}

/** Starts the server; `index` counts requests from 0. */
export async function startOpenAiServer(
  respond: (request: ChatRequest, index: number) => ChatReply | Promise<ChatReply>,
): Promise<OpenAiServer> {
  const requests: ChatRequest[] = [];
  const server = await startTestServer((request, response) => {
    if (request.method !== 'POST' || request.url !== '/v1/chat/completions') {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { message: `no route ${request.method} ${request.url}` } }));
      return;
    }
    let body: ChatRequest;
    try {
      body = JSON.parse(request.body) as ChatRequest;
    } catch {
      response.writeHead(400, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { message: 'invalid JSON body' } }));
      return;
    }
    const index = requests.length;
    requests.push(body);
    Promise.resolve()
      .then(() => respond(body, index))
      .then(
        (reply) => send(response, body, reply, index),
        (error: unknown) => {
          response.writeHead(500, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ error: { message: String(error) } }));
        },
      );
  });
  return { baseURL: `${server.origin}/v1`, requests, close: () => server.close() };
}

function send(
  response: import('node:http').ServerResponse,
  request: ChatRequest,
  reply: ChatReply,
  index: number,
): void {
  if ('status' in reply) {
    response.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
    response.end(
      JSON.stringify(reply.body ?? { error: { message: `HTTP ${reply.status}`, type: 'test_error' } }),
    );
    return;
  }
  const id = `chatcmpl-test-${index}`;
  const created = Math.floor(Date.now() / 1000);
  const model = request.model ?? 'test-model';
  const usage =
    reply.usage === undefined
      ? undefined
      : { ...reply.usage, total_tokens: reply.usage.prompt_tokens + reply.usage.completion_tokens };
  const toolCalls =
    'toolCalls' in reply
      ? reply.toolCalls.map((call, position) => ({
          index: position,
          id: `call_${index}_${position}`,
          type: 'function',
          function: { name: call.name, arguments: JSON.stringify(call.arguments) },
        }))
      : undefined;
  const content = 'content' in reply ? reply.content : null;
  const finish = toolCalls === undefined ? 'stop' : 'tool_calls';
  if (request.stream === true) {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const chunk = (delta: object, finishReason: string | null, extra: object = {}) =>
      `data: ${JSON.stringify({
        id,
        object: 'chat.completion.chunk',
        created,
        model,
        choices: [{ index: 0, delta, finish_reason: finishReason }],
        ...extra,
      })}\n\n`;
    response.write(chunk({ role: 'assistant', content: '' }, null));
    if (toolCalls === undefined) response.write(chunk({ content }, null));
    else response.write(chunk({ tool_calls: toolCalls }, null));
    response.write(chunk({}, finish, usage === undefined ? {} : { usage }));
    response.end('data: [DONE]\n\n');
    return;
  }
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(
    JSON.stringify({
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content,
            refusal: null,
            ...(toolCalls === undefined
              ? {}
              : { tool_calls: toolCalls.map(({ index: _index, ...call }) => call) }),
          },
          finish_reason: finish,
        },
      ],
      ...(usage === undefined ? {} : { usage }),
    }),
  );
}
