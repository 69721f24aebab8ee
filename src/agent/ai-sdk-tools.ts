import { dynamicTool, jsonSchema, type ToolSet, tool } from 'ai';
import type { TokenUsage } from '../generation/token-usage.ts';
import { ToolInvocationError } from '../runtime/runtime-errors.ts';
import type { ManagedTool, ToolCatalog } from '../runtime/tool-catalog.ts';
import type { ToolCallOutcome } from '../runtime/tool-runtime.ts';
import type { CreationGrant } from './creation-grant.ts';
import {
  type RequestNewToolInput,
  requestNewToolDescription,
  requestNewToolInput,
} from './request-new-tool.ts';
import type { ToolCreation } from './tool-creation.ts';

/** What the AI SDK view works with; the agent builds it. */
export interface AiSdkToolsParts {
  /** The managed tools and their active versions. */
  readonly catalog: Pick<ToolCatalog, 'get' | 'list'>;
  /** Runs one call (the tool runtime). */
  readonly execute: (toolName: string, input: unknown) => Promise<ToolCallOutcome>;
  /** Answers `request_new_tool`. */
  readonly creation: Pick<ToolCreation, 'request'>;
  /** Whether `request_new_tool` is offered at all. */
  readonly creationEnabled: boolean;
  /** Describes what may be requested, in the tool's description. */
  readonly grant: Pick<CreationGrant, 'describeNetwork' | 'describeSecrets'>;
}

/**
 * The managed tools as AI SDK tools: a live `ToolSet` (a tool promoted or created appears in it
 * at once), fixed snapshots for one model step, and `request_new_tool`. Each AI SDK tool is built
 * once per active version; the model is given the schema view providers accept, and a failing
 * call answers `{ error: { code, message } }` so the run goes on.
 */
export class AiSdkTools {
  readonly #parts: AiSdkToolsParts;
  readonly #cache = new Map<string, { version: number; tool: ToolSet[string] }>();

  constructor(parts: AiSdkToolsParts) {
    this.#parts = parts;
  }

  /** The live tool set: a Proxy whose keys are the managed tools (and `request_new_tool`) now. */
  live(): ToolSet {
    const { catalog, creationEnabled } = this.#parts;
    const names = (): string[] => [
      ...catalog.list().map((managed) => managed.name),
      ...(creationEnabled ? ['request_new_tool'] : []),
    ];
    const lookup = (name: string): ToolSet[string] | undefined => {
      if (name === 'request_new_tool') return creationEnabled ? this.requestNewTool() : undefined;
      const managed = catalog.get(name);
      return managed ? this.#aiTool(managed) : undefined;
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

  /** A fixed copy of the live tool set, for one step of a run, with that run's `request_new_tool`. */
  snapshot(requestNewTool: ToolSet[string]): ToolSet {
    const live = this.live();
    return Object.fromEntries(
      Object.keys(live).map((name) => [name, name === 'request_new_tool' ? requestNewTool : live[name]]),
    ) as ToolSet;
  }

  /**
   * The `request_new_tool` AI SDK tool. With `onUsage` (one run), a tool of its own that reports
   * each generation attempt's tokens; without, the one cached for the live set.
   */
  requestNewTool(onUsage?: (usage: TokenUsage) => void): ToolSet[string] {
    const cached = onUsage ? undefined : this.#cache.get('request_new_tool');
    if (cached) return cached.tool;
    const { grant, creation } = this.#parts;
    const created = tool({
      description: requestNewToolDescription(grant.describeNetwork(), grant.describeSecrets()),
      inputSchema: requestNewToolInput,
      execute: async (request: RequestNewToolInput, { abortSignal }) =>
        creation.request(request, abortSignal, onUsage),
    });
    if (!onUsage) this.#cache.set('request_new_tool', { version: 0, tool: created as ToolSet[string] });
    return created as ToolSet[string];
  }

  #aiTool(managed: ManagedTool): ToolSet[string] {
    const cached = this.#cache.get(managed.name);
    if (cached && cached.version === managed.version.version) return cached.tool;
    const name = managed.name;
    const created = dynamicTool({
      description: managed.description,
      inputSchema: jsonSchema(managed.modelSchema.schema as Parameters<typeof jsonSchema>[0]),
      execute: async (input: unknown) => {
        const outcome = await this.#parts.execute(name, input);
        if (outcome.ok) return outcome.value;
        // A tool that ran and failed answers with the failure's own code (`INVALID_OUTPUT`,
        // `TIMEOUT`, `TOOL_ERROR`, …), which tells the model more than `TOOL_FAILED`.
        const code = ToolInvocationError.isInstance(outcome.error)
          ? outcome.error.errorCode
          : ((outcome.error as { code?: string }).code ?? 'ERROR');
        return { error: { code, message: outcome.error.message } };
      },
    });
    this.#cache.set(name, { version: managed.version.version, tool: created });
    return created;
  }
}
