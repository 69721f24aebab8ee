import type { TelemetryOptions } from 'ai';
import { compileSchema } from '../core/json-schema.ts';
import { outputSchemaProblem, outputViolation } from '../core/output-schema.ts';
import { checkProviderSchema } from '../core/provider-schema.ts';
import type { TypedEmitter } from '../core/typed-emitter.ts';
import { UnsupportedSchemaError } from '../core/unsupported-schema-error.ts';
import { AbortedError, GenerationFailedError } from '../generation/generation-errors.ts';
import type { TokenUsage } from '../generation/token-usage.ts';
import type { ToolGenerator } from '../generation/tool-generator.ts';
import type { ToolRegistry } from '../registry/tool-registry.ts';
import type { RegressionRunner } from '../regression/regression-runner.ts';
import type { ToolCatalog } from '../runtime/tool-catalog.ts';
import type { GrantedCapabilities } from '../runtime/tool-runtime.ts';
import type { JsonObject, JsonValue, ToolVersion } from '../storage/records.ts';
import type { AgentEvents } from './agent-events.ts';
import type { ResolvedCreationOptions, ToolCreationRequest } from './agent-options.ts';
import type { CreationGrant, CreationRefusalCode } from './creation-grant.ts';
import type { RequestNewToolInput } from './request-new-tool.ts';

/** What tool creation works with; the agent builds it. */
export interface ToolCreationParts {
  /** Where created tools are registered (and where "created by the model" is read back). */
  readonly registry: Pick<ToolRegistry, 'create' | 'list' | 'version'>;
  /** Builds the created tool's regression cases from its examples (`RegressionRunner` fits). */
  readonly cases: Pick<RegressionRunner, 'prepareCases'>;
  /** Serves a created tool from the next step on. */
  readonly catalog: Pick<ToolCatalog, 'get' | 'set'>;
  /** Writes the tool; without one, every request is refused with `GENERATION_UNAVAILABLE`. */
  readonly generator: Pick<ToolGenerator, 'generate'> | undefined;
  /** What the app lets the model create. */
  readonly creation: ResolvedCreationOptions;
  /** The network and secret grant, checked per request and per call. */
  readonly grant: CreationGrant;
  /** Where `tool:created` and `tool:refused` go. */
  readonly events: Pick<TypedEmitter<AgentEvents>, 'emit'>;
}

/**
 * Tools the model creates through `request_new_tool`, and what they may use: every request is
 * checked against the app's `creation` grant and limits before any generation; a tool the model
 * created keeps only what the current grant still covers each time it runs.
 */
export class ToolCreation {
  readonly #parts: ToolCreationParts;
  /** Whether each tool was created by the model (version 1 by the generator), once looked up. */
  readonly #byModel = new Map<string, boolean>();
  /** Creations past the limit check and not yet stored (so parallel requests respect maxTools). */
  #pending = 0;

  constructor(parts: ToolCreationParts) {
    this.#parts = parts;
  }

  /**
   * What a call may use: the app's own tools get their stored capabilities; a tool the model
   * created (its version 1 was written by the generator, looked up once) gets only what the
   * current `creation` grant still covers, so narrowing the grant also narrows tools stored
   * earlier (for example under an older, wider grant).
   */
  async capabilities(
    toolName: string,
    capabilities: ToolVersion['capabilities'],
  ): Promise<GrantedCapabilities> {
    let byModel = this.#byModel.get(toolName);
    if (byModel === undefined) {
      byModel =
        (await this.#parts.registry.version(toolName, 1).catch(() => undefined))?.author === 'generator';
      this.#byModel.set(toolName, byModel);
    }
    const secrets = capabilities.secrets ?? [];
    if (!byModel) return { network: capabilities.network, secrets };
    const network: string[] = [];
    for (const entry of capabilities.network) {
      const decision = this.#parts.grant.check([entry], []);
      if (decision.ok) network.push(...decision.network);
    }
    return { network, secrets: secrets.filter((name) => this.#parts.creation.secrets.includes(name)) };
  }

  /** A refusal of `request_new_tool`, as the model sees it, also emitted as `tool:refused`. */
  #refuse(
    toolName: string,
    code: CreationRefusalCode,
    message: string,
    reasons?: readonly string[],
  ): JsonObject {
    this.#parts.events.emit('tool:refused', { toolName, via: 'request_new_tool', code, message });
    return { ok: false, error: { code, message, ...(reasons ? { reasons: [...reasons] } : {}) } };
  }

  /** Tools whose version 1 the generator wrote: the count `creation.maxTools` limits (kept in storage). */
  async #createdByModel(): Promise<number> {
    let count = 0;
    for (const record of await this.#parts.registry.list()) {
      const first = await this.#parts.registry.version(record.name, 1).catch(() => undefined);
      if (first?.author === 'generator') count += 1;
    }
    return count;
  }

  /**
   * Answers one `request_new_tool` call: checks the request against the grant and the limits,
   * generates the tool (every attempt's tokens go to `onUsage`), asks the app's approval,
   * registers it and serves it. A refusal is an answer for the model (`{ ok: false, error }`),
   * also emitted as `tool:refused`; only an abort rejects. `telemetry` (a run's) goes to the
   * generator's model calls.
   */
  async request(
    request: RequestNewToolInput,
    abortSignal?: AbortSignal,
    onUsage?: (usage: TokenUsage) => void,
    telemetry?: TelemetryOptions,
  ): Promise<JsonObject> {
    const name = typeof request?.name === 'string' ? request.name : '';
    if (!this.#parts.creation.enabled) {
      return this.#refuse(
        name,
        'CREATION_DISABLED',
        'This app does not let tools be created; use the available tools.',
      );
    }
    const grant = this.#parts.grant.check(request.network, request.secrets);
    if (!grant.ok) return this.#refuse(name, grant.code, grant.message);
    try {
      // Before any generation: a keyword providers reject would fail the creation at the end.
      checkProviderSchema(request.inputSchema);
    } catch (error) {
      if (!UnsupportedSchemaError.isInstance(error)) throw error;
      return this.#refuse(
        name,
        'UNSUPPORTED_SCHEMA_KEYWORD',
        `${error.message} Ask again with a changed inputSchema.`,
      );
    }
    const outputProblem = requestedOutputProblem(request);
    if (outputProblem !== null) {
      return this.#refuse(
        name,
        'INVALID_OUTPUT_SCHEMA',
        `The outputSchema cannot be used: ${outputProblem} Nothing was created. Ask again with a corrected outputSchema (or none).`,
      );
    }
    if (!this.#parts.generator) {
      return this.#refuse(
        name,
        'GENERATION_UNAVAILABLE',
        'No model is configured for writing tools; the app must add this tool with addTool().',
      );
    }
    if (this.#parts.catalog.get(request.name)) {
      return this.#refuse(
        name,
        'TOOL_EXISTS',
        `A tool named "${request.name}" already exists: call it instead.`,
      );
    }
    this.#pending += 1;
    try {
      const created = (await this.#createdByModel()) + this.#pending - 1;
      if (created >= this.#parts.creation.maxTools) {
        return this.#refuse(
          name,
          'TOOL_LIMIT_REACHED',
          `This app allows at most ${this.#parts.creation.maxTools} tools created by the model, and that many exist. Use the available tools.`,
        );
      }
      return await this.#generate(request, grant.network, grant.secrets, {
        abortSignal,
        onUsage,
        telemetry,
      });
    } finally {
      this.#pending -= 1;
    }
  }

  async #generate(
    request: RequestNewToolInput,
    network: string[],
    secrets: string[],
    run: {
      abortSignal: AbortSignal | undefined;
      onUsage: ((usage: TokenUsage) => void) | undefined;
      telemetry: TelemetryOptions | undefined;
    },
  ): Promise<JsonObject> {
    const { abortSignal, onUsage, telemetry } = run;
    const generator = this.#parts.generator as Pick<ToolGenerator, 'generate'>;
    const capabilities = secrets.length === 0 ? { network } : { network, secrets };
    const examples = (request.examples ?? []).map((example) => ({
      input: example.input as JsonObject,
      output: (example.output ?? null) as JsonValue,
    }));
    let generated: Awaited<ReturnType<ToolGenerator['generate']>>;
    try {
      generated = await generator.generate(
        {
          name: request.name,
          description: request.description,
          inputSchema: request.inputSchema,
          ...(request.outputSchema === undefined ? {} : { outputSchema: request.outputSchema }),
          returns: request.returns,
          examples,
          capabilities,
        },
        {
          ...(abortSignal === undefined ? {} : { abortSignal }),
          // Every attempt, failed ones too, so a run's usage counts what generation spent.
          ...(onUsage === undefined ? {} : { onAttempt: (attempt) => onUsage(attempt.usage) }),
          ...(telemetry === undefined ? {} : { telemetry }),
        },
      );
    } catch (error) {
      // An aborted run ends with the abort, not with an answer to a model nobody waits for.
      if (AbortedError.isInstance(error)) throw error;
      const message =
        GenerationFailedError.isInstance(error) || error instanceof Error ? error.message : String(error);
      return this.#refuse(
        request.name,
        'GENERATION_FAILED',
        `Could not create "${request.name}": ${message}`,
        GenerationFailedError.isInstance(error) ? [...error.codes] : undefined,
      );
    }
    const approve = this.#parts.creation.approve;
    if (approve) {
      const proposal: ToolCreationRequest = {
        name: request.name,
        description: request.description,
        inputSchema: structuredClone(request.inputSchema),
        ...(request.outputSchema === undefined
          ? {}
          : { outputSchema: structuredClone(request.outputSchema) }),
        returns: request.returns,
        examples: structuredClone(examples),
        capabilities: { network: [...network], secrets: [...secrets] },
      };
      let approved = false;
      try {
        approved = (await approve(proposal, generated.source)) === true;
      } catch {
        approved = false;
      }
      if (!approved) {
        return this.#refuse(
          request.name,
          'CREATION_NOT_APPROVED',
          `The app did not approve creating "${request.name}"; nothing was created. Use the available tools or explain what is missing.`,
        );
      }
    }
    try {
      const { version } = await this.#parts.registry.create(
        {
          name: request.name,
          description: request.description,
          inputSchema: request.inputSchema as JsonObject,
          ...(request.outputSchema === undefined ? {} : { outputSchema: request.outputSchema as JsonObject }),
          source: generated.source,
          capabilities,
          examples,
          author: 'generator',
        },
        {
          reason: `requested by the model: ${request.description}`,
          testCases: this.#parts.cases.prepareCases(request.name, [], {
            inputSchema: request.inputSchema as JsonObject,
            examples,
          }),
        },
      );
      this.#parts.catalog.set(request.description, version);
      this.#parts.events.emit('tool:created', {
        toolName: request.name,
        version: version.version,
        author: 'generator',
        via: 'request_new_tool',
        attempts: generated.attempts.length,
        usage: generated.usage,
      });
      return {
        ok: true,
        tool: request.name,
        version: version.version,
        message: `Tool "${request.name}" is ready. Call it next with input matching its schema.`,
      };
    } catch (error) {
      // An aborted run ends with the abort, not with an answer to a model nobody waits for.
      if (AbortedError.isInstance(error)) throw error;
      const message = error instanceof Error ? error.message : String(error);
      return this.#refuse(
        request.name,
        'GENERATION_FAILED',
        `Could not create "${request.name}": ${message}`,
      );
    }
  }
}

/**
 * Why the request's `outputSchema` cannot be used, in words for the model, or null (also when
 * there is none): the model's schema is hostile input, checked before any generation (see
 * `outputSchemaProblem`), and so are the example outputs it must accept.
 */
function requestedOutputProblem(request: RequestNewToolInput): string | null {
  const schema: unknown = request.outputSchema;
  if (schema === undefined) return null;
  const problem = outputSchemaProblem(schema);
  if (problem !== null) return clip(`"${problem.field}" must be ${problem.expected}.`);
  const compiled = compileSchema(schema as object);
  for (const [index, example] of (request.examples ?? []).entries()) {
    const violation = outputViolation(compiled, example.output ?? null);
    if (violation !== null) return clip(`examples[${index}].output does not match it (${violation}).`);
  }
  return null;
}

/** Refusals quote the validator, which may quote the model's schema: kept short. */
function clip(text: string, length = 800): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}
