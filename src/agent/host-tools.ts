import { AsyncLocalStorage } from 'node:async_hooks';
import { asSchema, type ToolSet } from 'ai';
import { errorInfo } from '../core/error-info.ts';
import { hashValue } from '../core/hash-value.ts';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import type { JsonObject } from '../core/json-value.ts';
import type { Logger } from '../core/logger.ts';
import type { TypedEmitter } from '../core/typed-emitter.ts';
import type { PerformanceMemory, RecordInput } from '../memory/performance-memory.ts';
import { TOOL_NAME_PATTERN } from '../registry/tool-definition.ts';
import type { CallOutcome } from '../regression/shadow-gate.ts';
import { newCallId } from '../runtime/call-id.ts';
import { ToolDisabledError } from '../runtime/runtime-errors.ts';
import type { RuntimeEvents, ToolInvokedEvent } from '../runtime/runtime-events.ts';
import type { ToolCatalog } from '../runtime/tool-catalog.ts';
import { resolveSecretValues, SecretScrubber, type SecretSource } from '../sandbox/sandbox-secrets.ts';
import type { ToolVersion } from '../storage/records.ts';
import { LABEL_EXPECTED, labelProblem } from '../storage/storage-input.ts';
import { AgentTracing, type ToolCallSpan } from '../telemetry/agent-tracing.ts';

/** Options of `agent.measureTools`. */
export interface MeasureToolsOptions {
  /**
   * The app's name for this release of the tools: a version number, a release name or a git
   * sha (1 to 128 characters, no control characters). Each new label becomes the tools' next
   * integer version in the registry (the label is kept beside it); a label seen before serves
   * the version it was given (so a restart, or a rollback of the app, adds nothing).
   */
  version: string;
  /**
   * Registry names for tools whose keys are not snake_case: `{ getWeather: 'weather' }`. A key
   * without an entry is stored as its snake_case form (`getWeather` → `get_weather`). Events,
   * the CLI and the report use the registry name; the returned `ToolSet` keeps your keys.
   * @default each key in snake_case
   */
  names?: Record<string, string>;
}

/** A host tool as {@link HostTools} measures it: its registry name and version. */
export interface MeasuredTool {
  /** The key in the app's `ToolSet`. */
  readonly key: string;
  /** The tool's name in the registry, the events, the CLI and the report. */
  readonly toolName: string;
  /** The registry version its calls are recorded under. */
  readonly version: ToolVersion;
  /** Whether this call created the tool (its version 1). */
  readonly created: boolean;
  /** Whether this call made `version` the active one (a new label, or an older one again). */
  readonly deployed: boolean;
}

/** The registry's part in measuring host tools: `ToolRegistry` fits. */
export interface HostToolRegistry {
  /** Registers a host tool's labelled version and makes it active (see `ToolRegistry.registerHostTool`). */
  registerHostTool(input: {
    name: string;
    description: string;
    inputSchema: JsonObject;
    label: string;
    actor?: string;
  }): Promise<{ version: ToolVersion; created: boolean; deployed: boolean }>;
}

/** What {@link HostTools} works with; the agent builds it. */
export interface HostToolsParts {
  /** Registers the tools and their labelled versions. */
  readonly registry: HostToolRegistry;
  /** Knows which tools are disabled, and serves the host tools' active versions to the loop. */
  readonly catalog: Pick<ToolCatalog, 'isDisabled' | 'setHost'>;
  /** Where every call is recorded. */
  readonly memory: Pick<PerformanceMemory, 'record'>;
  /** Where `tool:invoked` goes. */
  readonly events: Pick<TypedEmitter<RuntimeEvents>, 'emit'>;
  /** Called after every recorded call (the improvement loop evaluates it). */
  readonly afterCall: (
    toolName: string,
    version: number,
    input: object,
    outcome: CallOutcome,
  ) => Promise<void> | undefined;
  /** Await the work `afterCall` returns before the call returns (`improvement.mode: 'inline'`). */
  readonly inline: boolean;
  /** The app's secrets: their values are replaced by `[secret:NAME]` in recorded errors and captures. */
  readonly secrets: SecretSource | undefined;
  /** Names of secrets resolved when `secrets` is a function (it cannot be listed). */
  readonly secretNames: readonly string[];
  /** The actor of registrations in the audit log. */
  readonly actor: string;
  /** Starts each call's `sia.tool_call <tool>` span (kind `host`). @default new AgentTracing() */
  readonly tracing?: AgentTracing;
  /** Receives a warning when the secrets cannot be resolved for scrubbing. */
  readonly logger: Logger | undefined;
}

/**
 * Marks a tool `measureTools` returned with its registry name (the `ToolSet` key may differ), so
 * a run can leave it out while it is disabled.
 */
export const HOST_TOOL_NAME: unique symbol = Symbol.for('self-improving-agent.hostToolName');

/** The registry name of a tool `measureTools` returned, or undefined for any other tool. */
export function hostToolName(tool: unknown): string | undefined {
  if (typeof tool !== 'object' || tool === null) return undefined;
  const name = (tool as { [HOST_TOOL_NAME]?: unknown })[HOST_TOOL_NAME];
  return typeof name === 'string' ? name : undefined;
}

/** The run a host call belongs to, when a run offered the tool: it hears the call's id. */
const runListener = new AsyncLocalStorage<(toolCallId: string, callId: string) => void>();

/**
 * Runs `work` (a measured host tool's `execute`) so that the call's id reaches `listener` with
 * the AI SDK's tool call id when the call is recorded: how `run()` and `stream()` fill
 * `toolCalls[i].callId` for host tools.
 */
export function withCallListener<T>(
  listener: (toolCallId: string, callId: string) => void,
  work: () => T,
): T {
  return runListener.run(listener, work);
}

/** A host call under way. */
interface PendingCall {
  readonly toolName: string;
  readonly version: number;
  readonly input: unknown;
  /** The AI SDK's id of the tool call, when the AI SDK made it. */
  readonly toolCallId: string | undefined;
  /** The call's span, ended when it is recorded. */
  readonly span: ToolCallSpan;
  /** The run that offered the tool, to hear the call's id (see {@link withCallListener}). */
  readonly listener?: (toolCallId: string, callId: string) => void;
  readonly startedAt: number;
  /** `performance.now()` at the start. */
  readonly started: number;
}

/** The input hash of a call whose input JSON cannot carry (a BigInt, a cycle). */
const UNHASHABLE = 'unhashable';

/** An error code kept as the app's error gave it; any other becomes `TOOL_ERROR`. */
const PLAIN_CODE = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Longest error message recorded for a failed host call (the rest is cut). */
const MAX_ERROR_MESSAGE = 2000;

/**
 * Measures the app's own AI SDK tools ("host tools"): each is registered under the label the app
 * names, and every call of the wrapped `execute` is recorded (latency, success, error code) under
 * that version, emitted as `tool:invoked` and handed to the improvement loop, which evaluates it
 * with the same decisions as a managed tool and raises `tool:degraded` when it needs a fix. The
 * function runs on the host as the app wrote it: never sandboxed, never rewritten.
 */
export class HostTools {
  readonly #parts: HostToolsParts;
  readonly #tracing: AgentTracing;
  #scrubber: SecretScrubber = new SecretScrubber({});

  constructor(parts: HostToolsParts) {
    this.#parts = parts;
    this.#tracing = parts.tracing ?? new AgentTracing();
  }

  /**
   * Registers every tool of `tools` that has an `execute` and returns the same `ToolSet` with
   * measured `execute`s (other tools, such as provider-defined ones or tools without `execute`,
   * are passed through unchanged), and what was registered.
   */
  async measure(
    tools: ToolSet,
    options: MeasureToolsOptions,
  ): Promise<{ tools: ToolSet; measured: MeasuredTool[] }> {
    const { label, names } = checkMeasureOptions(tools, options);
    await this.#refreshScrubber();
    const plan = planNames(tools, names);
    // Every schema first: a tool that cannot be registered leaves none of them deployed.
    const schemas = new Map<string, JsonObject>();
    for (const [key, tool] of Object.entries(tools)) {
      if (plan.has(key)) schemas.set(key, await jsonSchemaOf(tool, key));
    }
    const wrapped: Record<string, ToolSet[string]> = {};
    const measured: MeasuredTool[] = [];
    for (const [key, tool] of Object.entries(tools)) {
      const toolName = plan.get(key);
      const inputSchema = schemas.get(key);
      if (toolName === undefined || inputSchema === undefined) {
        wrapped[key] = tool;
        continue;
      }
      const registration = await this.#parts.registry.registerHostTool({
        name: toolName,
        description: describe(tool, key),
        inputSchema,
        label,
        actor: this.#parts.actor,
      });
      this.#parts.catalog.setHost(registration.version);
      measured.push({ key, toolName, ...registration });
      const measuredTool = {
        ...tool,
        execute: this.#measured(toolName, registration.version.version, tool),
      } as ToolSet[string];
      // Lets a run leave the tool out while it is disabled (the key may differ from the name).
      Object.defineProperty(measuredTool, HOST_TOOL_NAME, { value: toolName, enumerable: false });
      wrapped[key] = measuredTool;
    }
    return { tools: wrapped as ToolSet, measured };
  }

  #measured(
    toolName: string,
    version: number,
    tool: ToolSet[string],
  ): NonNullable<ToolSet[string]['execute']> {
    const execute = tool.execute as (input: unknown, options: unknown) => unknown;
    // Not async itself: a tool that streams preliminary results returns an async iterable,
    // which must reach the AI SDK as one (not wrapped in a promise).
    return (input: unknown, options: unknown) => {
      const given = (options as { toolCallId?: unknown } | undefined)?.toolCallId;
      const toolCallId = typeof given === 'string' ? given : undefined;
      const span = this.#tracing.startToolCall({ toolName, toolCallId, kind: 'host' });
      if (this.#parts.catalog.isDisabled(toolName)) {
        span.end({ outcome: 'refused', version, errorCode: 'TOOL_DISABLED' });
        return Promise.reject(new ToolDisabledError(toolName));
      }
      const listener = runListener.getStore();
      const call: PendingCall = {
        toolName,
        version,
        input,
        toolCallId,
        span,
        ...(listener === undefined ? {} : { listener }),
        startedAt: Date.now(),
        started: performance.now(),
      };
      let result: unknown;
      try {
        // The app's own spans (its database client's, …) nest under the call's.
        result = span.with(() => execute.call(tool, input, options));
      } catch (error) {
        const work = this.#record(call, false, undefined, error);
        return work ? work.then(() => Promise.reject(error)) : Promise.reject(error);
      }
      if (isAsyncIterable(result)) return this.#measuredStream(call, result);
      return this.#awaited(call, result);
    };
  }

  async #awaited(call: PendingCall, pending: unknown): Promise<unknown> {
    let value: unknown;
    try {
      value = await pending;
    } catch (error) {
      const work = this.#record(call, false, undefined, error);
      if (work) await work;
      throw error;
    }
    const work = this.#record(call, true, value, undefined);
    if (work) await work;
    return value;
  }

  /**
   * A tool that streams preliminary results: the call ends when its iteration does. A consumer
   * that stops reading early (the AI SDK does when the response it streams into is gone) ends
   * the call's span as `ABORTED`; nothing is recorded, as the tool neither finished nor failed.
   */
  async *#measuredStream(call: PendingCall, stream: AsyncIterable<unknown>): AsyncGenerator<unknown> {
    let last: unknown;
    let ended = false;
    try {
      for await (const value of stream) {
        last = value;
        yield value;
      }
      ended = true;
    } catch (error) {
      ended = true;
      const work = this.#record(call, false, undefined, error);
      if (work) await work;
      throw error;
    } finally {
      // The consumer returned early (at a `yield`): the code after this block does not run.
      if (!ended) call.span.end({ outcome: 'failure', version: call.version, errorCode: 'ABORTED' });
    }
    const work = this.#record(call, true, last, undefined);
    if (work) await work;
  }

  /**
   * Records the call, emits `tool:invoked` and hands it to the improvement loop; returns the
   * loop's work when the caller must wait for it (`inline`), else undefined.
   */
  #record(call: PendingCall, success: boolean, value: unknown, error: unknown): Promise<void> | undefined {
    const latencyMs = Math.max(0, performance.now() - call.started);
    const { toolName, version } = call;
    const callId = newCallId(toolName, version);
    const input = this.#scrubbed(call.input);
    const record: RecordInput = {
      toolName,
      version,
      startedAt: call.startedAt,
      latencyMs,
      success,
      inputHash: safeHash(input) ?? UNHASHABLE,
      callId,
    };
    if (input !== undefined) record.input = input;
    const failure = success ? undefined : this.#failure(error);
    if (failure) {
      record.errorCode = failure.code;
      record.errorMessage = failure.message;
    } else {
      const output = this.#scrubbed(value);
      if (output !== undefined) {
        record.output = output;
        const outputHash = safeHash(output);
        if (outputHash !== undefined) record.outputHash = outputHash;
      }
    }
    this.#parts.memory.record(record);
    const event: ToolInvokedEvent = { toolName, version, callId, latencyMs, success };
    if (call.toolCallId !== undefined) {
      event.toolCallId = call.toolCallId;
      call.listener?.(call.toolCallId, callId);
    }
    if (failure) event.error = failure;
    this.#parts.events.emit('tool:invoked', event);
    call.span.end({
      outcome: success ? 'success' : 'failure',
      version,
      callId,
      latencyMs,
      ...(failure ? { errorCode: failure.code } : {}),
    });
    const input_ = typeof call.input === 'object' && call.input !== null ? call.input : {};
    // The evaluation and improvement the call triggers nest under its span.
    const work = call.span.with(() =>
      this.#parts.afterCall(toolName, version, input_, { success, latencyMs }),
    );
    return work && this.#parts.inline ? work : undefined;
  }

  /** The error as a record keeps it: its own code when it has a plain one, secrets replaced. */
  #failure(error: unknown): { code: string; message: string } {
    const { code, message } = errorInfo(error);
    // The code goes to spans and events as it is: a code that holds a secret is not kept.
    const plain = code !== 'ERROR' && PLAIN_CODE.test(code) && this.#scrubber.text(code) === code;
    return {
      code: plain ? code : 'TOOL_ERROR',
      message: this.#scrubber.text(message).slice(0, MAX_ERROR_MESSAGE),
    };
  }

  /**
   * `value` as the memory may capture it: as it is without secrets to hide (the memory stores a
   * JSON copy), else a JSON copy with every secret value replaced (`undefined` when JSON cannot
   * carry it).
   */
  #scrubbed(value: unknown): unknown {
    if (value === undefined || this.#scrubber.empty) return value;
    try {
      return this.#scrubber.json(JSON.stringify(value));
    } catch {
      return undefined;
    }
  }

  async #refreshScrubber(): Promise<void> {
    const { secrets, secretNames } = this.#parts;
    if (secrets === undefined) return;
    try {
      this.#scrubber = new SecretScrubber(
        typeof secrets === 'object' ? secrets : await resolveSecretValues([...secretNames], secrets),
      );
    } catch (error) {
      this.#parts.logger?.warn?.('could not resolve the secrets to scrub host tool records', {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
}

function checkMeasureOptions(
  tools: ToolSet,
  options: MeasureToolsOptions,
): { label: string; names: Record<string, string> } {
  if (typeof tools !== 'object' || tools === null || Array.isArray(tools)) {
    throw new InvalidOptionError({
      field: 'tools',
      expected: 'an AI SDK ToolSet (an object of tools)',
      value: tools,
    });
  }
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError({
      field: 'options',
      expected: 'an object { version, names? }',
      value: options,
    });
  }
  const label = options.version;
  // Checked here too (the registry does), so that a bad label fails before anything is registered.
  if (labelProblem(label) !== undefined || (label as string).trim() === '') {
    throw new InvalidOptionError({
      field: 'version',
      expected: `the release of these tools: ${LABEL_EXPECTED}, e.g. "2026.12.1" or a git sha`,
      value: label,
    });
  }
  const names = options.names ?? {};
  if (typeof names !== 'object' || names === null || Array.isArray(names)) {
    throw new InvalidOptionError({
      field: 'names',
      expected: 'a record { toolKey: registry_name }',
      value: names,
    });
  }
  for (const key of Object.keys(names)) {
    if (!Object.hasOwn(tools, key)) {
      throw new InvalidOptionError({ field: `names.${key}`, expected: 'a key of the ToolSet', value: key });
    }
  }
  return { label, names };
}

/** The registry name of every measurable tool (keys without an `execute` are left out). */
function planNames(tools: ToolSet, names: Record<string, string>): Map<string, string> {
  const plan = new Map<string, string>();
  const owners = new Map<string, string>();
  for (const [key, tool] of Object.entries(tools)) {
    if (typeof tool !== 'object' || tool === null) {
      throw new InvalidOptionError({ field: `tools.${key}`, expected: 'an AI SDK tool', value: tool });
    }
    if (typeof tool.execute !== 'function' || (tool as { type?: string }).type === 'provider') continue;
    const name = names[key] ?? snakeCase(key);
    if (!TOOL_NAME_PATTERN.test(name)) {
      throw new InvalidOptionError({
        field: names[key] === undefined ? `tools.${key}` : `names.${key}`,
        expected: `a registry name in snake_case (a-z, 0-9, _), starting with a letter, 1 to 64 characters${names[key] === undefined ? `; the key's snake_case form is "${name}": name it in options.names` : ''}`,
        value: name,
      });
    }
    const owner = owners.get(name);
    if (owner !== undefined) {
      throw new InvalidOptionError({
        field: `names.${key}`,
        expected: `a registry name of its own ("${name}" is also the name of "${owner}")`,
        value: name,
      });
    }
    owners.set(name, key);
    plan.set(key, name);
  }
  return plan;
}

/** `getWeather` → `get_weather`, `fetch-page` → `fetch_page`, `HTTPGet` → `http_get`. */
export function snakeCase(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
}

async function jsonSchemaOf(tool: ToolSet[string], key: string): Promise<JsonObject> {
  try {
    const schema = await asSchema(tool.inputSchema as Parameters<typeof asSchema>[0]).jsonSchema;
    const json = JSON.parse(JSON.stringify(schema ?? {})) as unknown;
    if (typeof json === 'object' && json !== null && !Array.isArray(json)) return json as JsonObject;
  } catch {
    // Reported below with the key.
  }
  throw new InvalidOptionError({
    field: `tools.${key}.inputSchema`,
    expected: 'a schema the AI SDK can turn into a JSON Schema object (zod, jsonSchema(), …)',
    value: '(not convertible)',
  });
}

function describe(tool: ToolSet[string], key: string): string {
  const description = (tool as { description?: unknown }).description;
  return typeof description === 'string' && description.trim() !== ''
    ? description
    : `The app's tool "${key}".`;
}

function safeHash(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  try {
    return hashValue(value);
  } catch {
    return undefined;
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/**
 * Checks a run's `hostTools` option: an object of AI SDK tools whose keys no managed tool (nor
 * `request_new_tool`) uses, so the model's call of a name reaches one tool only.
 */
export function hostToolsOption(value: unknown, catalog: Pick<ToolCatalog, 'get'>): ToolSet | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError({
      field: 'hostTools',
      expected: 'an AI SDK ToolSet (the set agent.measureTools() returned)',
      value,
    });
  }
  for (const [key, tool] of Object.entries(value)) {
    if (typeof tool !== 'object' || tool === null) {
      throw new InvalidOptionError({ field: `hostTools.${key}`, expected: 'an AI SDK tool', value: tool });
    }
    if (key === 'request_new_tool' || catalog.get(key) !== undefined) {
      throw new InvalidOptionError({
        field: `hostTools.${key}`,
        expected: 'a name no managed tool (nor request_new_tool) uses: rename the key',
        value: key,
      });
    }
  }
  return value as ToolSet;
}
