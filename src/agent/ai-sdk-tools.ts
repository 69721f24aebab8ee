import { dynamicTool, type JSONValue, jsonSchema, type TelemetryOptions, type ToolSet, tool } from 'ai';
import type { TokenUsage } from '../generation/token-usage.ts';
import type { ManagedTool, ToolCatalog } from '../runtime/tool-catalog.ts';
import { toolErrorAnswer } from '../runtime/tool-error-answer.ts';
import type { CallContext, ToolCallOutcome } from '../runtime/tool-runtime.ts';
import type { CreationGrant } from './creation-grant.ts';
import { hostToolName, withCallListener } from './host-tools.ts';
import {
  type RequestNewToolInput,
  requestNewToolDescription,
  requestNewToolInput,
} from './request-new-tool.ts';
import type { ToolCreation } from './tool-creation.ts';
import type { ToolSelection, ToolSelectionOptions } from './tool-selection.ts';

/** What the AI SDK view works with; the agent builds it. */
export interface AiSdkToolsParts {
  /** The managed tools and their active versions. */
  readonly catalog: Pick<ToolCatalog, 'get' | 'list' | 'isDisabled'>;
  /** Runs one call (the tool runtime). */
  readonly execute: (toolName: string, input: unknown, context: CallContext) => Promise<ToolCallOutcome>;
  /** Answers `request_new_tool`. */
  readonly creation: Pick<ToolCreation, 'request'>;
  /** Describes what may be requested, in the tool's description. */
  readonly grant: Pick<CreationGrant, 'describeNetwork' | 'describeSecrets'>;
}

/**
 * The output of a managed tool in the AI SDK's tool results with `agent.tools({ details: true })`:
 * what the model was given (`output`, exactly what it gets without `details`) beside the call's
 * id, so an app reading `result.toolResults` or `result.steps` can pass it to `agent.feedback`.
 * The model never sees the id: the tools' `toModelOutput` gives it `output` alone.
 */
export interface DetailedToolOutput {
  /** What the model was given: the tool's value, or `{ error: { code, message } }` when the call failed. */
  readonly output: unknown;
  /** Whether the tool returned a value. */
  readonly ok: boolean;
  /** The call's id (as in `tool:invoked`); absent when the call was refused before it ran (unknown tool, invalid input). */
  readonly callId?: string;
  /** The version that ran; absent when none did. */
  readonly version?: number;
  /** The call's latency, ms, without sandbox start-up; absent when nothing ran. */
  readonly latencyMs?: number;
}

/** Options of `agent.tools()` and `agent.toolSet()`: which tools, and how results are reported. */
export interface AiSdkToolsOptions extends ToolSelectionOptions {
  /**
   * Each managed tool's result (the step's `toolResults[i].output`) is a {@link DetailedToolOutput}
   * carrying the call id, instead of the bare value; the model is given the same as without it.
   * @default false
   */
  details?: boolean;
}

/** Called with the AI SDK's tool call id and the call's own id (`callId`) when a call ran. */
export type CallIdListener = (toolCallId: string, callId: string) => void;

/** What one live tool set offers (see {@link AiSdkTools.live}). */
export interface LiveToolSetOptions {
  /** Report {@link DetailedToolOutput}s. @default false */
  readonly details?: boolean;
  /** The managed tools offered and whether `request_new_tool` is. @default every tool, no request_new_tool */
  readonly selection?: ToolSelection;
  /** The `request_new_tool` offered when the selection asks for it. @default the shared one */
  readonly requestNewTool?: ToolSet[string];
  /** Hears the call id of each managed tool call that ran (one run's). */
  readonly onCall?: CallIdListener;
  /**
   * The app's own AI SDK tools, offered beside the managed ones as they are (a run's
   * `hostTools`). Their names must not be managed tools' names (checked by the caller).
   */
  readonly hostTools?: ToolSet;
}

type CachedTool = { version: number; tool: ToolSet[string] };

/**
 * The managed tools as AI SDK tools: live `ToolSet`s (a tool promoted or created appears in them
 * at once, so a loop that reads its tools each step offers it in the next step) and
 * `request_new_tool`. Each AI SDK tool is built once per active version; the model is given the
 * schema view providers accept, and a failing call answers `{ error: { code, message } }` so the
 * run goes on.
 */
export class AiSdkTools {
  readonly #parts: AiSdkToolsParts;
  readonly #cache = new Map<string, CachedTool>();
  readonly #detailedCache = new Map<string, CachedTool>();

  constructor(parts: AiSdkToolsParts) {
    this.#parts = parts;
  }

  /**
   * A live tool set: a Proxy whose keys are, at each read, the managed tools the selection
   * allows (and `request_new_tool` when it asks for it). With `include`, a tool this set's
   * `request_new_tool` creates joins the set.
   */
  live(options: LiveToolSetOptions = {}): ToolSet {
    const detailed = options.details === true;
    const { catalog } = this.#parts;
    const selection = options.selection ?? { include: undefined, exclude: [], requestNewTool: false };
    const included = selection.include === undefined ? undefined : new Set(selection.include);
    const excluded = new Set(selection.exclude);
    const onCall = options.onCall;
    // One run's tools report their call ids, so they are built for this set alone.
    const ownCache = onCall === undefined ? undefined : new Map<string, CachedTool>();
    const hostCache = new Map<string, ToolSet[string]>();
    let requestNewTool: ToolSet[string] | undefined;
    if (selection.requestNewTool) {
      const shared = options.requestNewTool ?? this.requestNewTool();
      requestNewTool =
        included === undefined ? shared : joinCreatedTools(shared, (name) => included.add(name));
    }
    const hostTools = options.hostTools ?? {};
    // A measured host tool is left out while disabled, under its registry name.
    const hostOffered = (key: string) => {
      const name = hostToolName(hostTools[key]);
      return name === undefined || !catalog.isDisabled(name);
    };
    // A disabled tool is not offered (a call that names it anyway is refused by the runtime).
    const offered = (name: string) =>
      (included === undefined || included.has(name)) && !excluded.has(name) && !catalog.isDisabled(name);
    const names = (): string[] => [
      ...catalog
        .list()
        .map((managed) => managed.name)
        .filter(offered),
      ...Object.keys(hostTools).filter(hostOffered),
      ...(requestNewTool === undefined ? [] : ['request_new_tool']),
    ];
    const lookup = (name: string): ToolSet[string] | undefined => {
      if (name === 'request_new_tool') return requestNewTool;
      if (Object.hasOwn(hostTools, name)) {
        if (!hostOffered(name)) return undefined;
        return onCall === undefined ? hostTools[name] : this.#reporting(hostTools, name, onCall, hostCache);
      }
      if (!offered(name)) return undefined;
      const managed = catalog.get(name);
      return managed ? this.#aiTool(managed, detailed, ownCache, onCall) : undefined;
    };
    return new Proxy({} as ToolSet, {
      ownKeys: () => names(),
      has: (_target, key) => typeof key === 'string' && lookup(key) !== undefined,
      get: (_target, key) => (typeof key === 'string' ? lookup(key) : undefined),
      getOwnPropertyDescriptor: (_target, key) => {
        const value = typeof key === 'string' ? lookup(key) : undefined;
        return value ? { value, enumerable: true, configurable: true, writable: false } : undefined;
      },
    });
  }

  /**
   * The `request_new_tool` AI SDK tool. With `run` (one run), a tool of its own that reports each
   * generation attempt's tokens to `onUsage` and gives the generation the run's `telemetry`;
   * without, the one cached for the shared sets.
   */
  requestNewTool(run?: {
    onUsage: (usage: TokenUsage) => void;
    telemetry?: TelemetryOptions | undefined;
  }): ToolSet[string] {
    const cached = run ? undefined : this.#cache.get('request_new_tool');
    if (cached) return cached.tool;
    const { grant, creation } = this.#parts;
    const created = tool({
      description: requestNewToolDescription(grant.describeNetwork(), grant.describeSecrets()),
      inputSchema: requestNewToolInput,
      execute: async (request: RequestNewToolInput, { abortSignal }) =>
        creation.request(request, abortSignal, run?.onUsage, run?.telemetry),
    });
    if (!run) this.#cache.set('request_new_tool', { version: 0, tool: created as ToolSet[string] });
    return created as ToolSet[string];
  }

  /**
   * A run's copy of a measured host tool whose calls report their call id to the run (the
   * tool's own `execute` runs unchanged); other host tools as they are.
   */
  #reporting(
    hostTools: ToolSet,
    name: string,
    onCall: CallIdListener,
    cache: Map<string, ToolSet[string]>,
  ): ToolSet[string] | undefined {
    const tool = hostTools[name];
    if (tool === undefined || hostToolName(tool) === undefined || typeof tool.execute !== 'function')
      return tool;
    let copy = cache.get(name);
    if (copy === undefined) {
      const execute = tool.execute;
      copy = {
        ...tool,
        execute: (input: unknown, options: Parameters<typeof execute>[1]) =>
          withCallListener(onCall, () => execute.call(tool, input as never, options)),
      } as ToolSet[string];
      cache.set(name, copy);
    }
    return copy;
  }

  #aiTool(
    managed: ManagedTool,
    detailed: boolean,
    ownCache: Map<string, CachedTool> | undefined,
    onCall: CallIdListener | undefined,
  ): ToolSet[string] {
    const cache = ownCache ?? (detailed ? this.#detailedCache : this.#cache);
    const cached = cache.get(managed.name);
    if (cached && cached.version === managed.version.version) return cached.tool;
    const name = managed.name;
    const inputSchema = jsonSchema(managed.modelSchema.schema as Parameters<typeof jsonSchema>[0]);
    const created = detailed
      ? dynamicTool({
          description: managed.description,
          inputSchema,
          execute: async (input: unknown, { toolCallId }) => this.#call(name, input, toolCallId, onCall),
          // The model gets what it gets without details (the AI SDK's default conversion of
          // the bare output); the call id stays with the app.
          toModelOutput: ({ output }) => modelOutputOf((output as DetailedToolOutput).output),
        })
      : dynamicTool({
          description: managed.description,
          inputSchema,
          execute: async (input: unknown, { toolCallId }) =>
            (await this.#call(name, input, toolCallId, onCall)).output,
        });
    cache.set(name, { version: managed.version.version, tool: created });
    return created;
  }

  async #call(
    name: string,
    input: unknown,
    toolCallId: string,
    onCall?: CallIdListener,
  ): Promise<DetailedToolOutput> {
    const outcome = await this.#parts.execute(name, input, { toolCallId });
    if (outcome.callId !== undefined) onCall?.(toolCallId, outcome.callId);
    const ran =
      outcome.callId === undefined
        ? {}
        : { callId: outcome.callId, version: outcome.version, latencyMs: outcome.latencyMs };
    if (outcome.ok) return { output: outcome.value, ok: true, ...ran };
    return { output: { error: toolErrorAnswer(outcome.error) }, ok: false, ...ran };
  }
}

/** `request_new_tool` that tells `onCreated` the name of each tool it created. */
function joinCreatedTools(inner: ToolSet[string], onCreated: (name: string) => void): ToolSet[string] {
  const execute = inner.execute as (input: unknown, options: unknown) => Promise<unknown>;
  return {
    ...inner,
    execute: async (input: unknown, options: unknown) => {
      const answer = (await execute(input, options)) as { ok?: unknown; tool?: unknown } | undefined;
      if (answer?.ok === true && typeof answer.tool === 'string') onCreated(answer.tool);
      return answer;
    },
  } as ToolSet[string];
}

/** The AI SDK's default conversion of a tool output for the model (text for a string, else JSON). */
function modelOutputOf(
  output: unknown,
): { type: 'text'; value: string } | { type: 'json'; value: JSONValue } {
  if (typeof output === 'string') return { type: 'text', value: output };
  return { type: 'json', value: (output === undefined ? null : output) as JSONValue };
}
