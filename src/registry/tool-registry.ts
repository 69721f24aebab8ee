import { hashValue } from '../memory/hash-value.ts';
import { ToolNotFoundError, VersionNotFoundError } from '../storage/storage-errors.ts';
import type {
  AuditEntry,
  CompareAndSetResult,
  JsonObject,
  StorageAdapter,
  StoredTestCase,
  ToolRecord,
  ToolVersion,
  VersionAuthor,
} from '../storage/types.ts';
import {
  InvalidToolError,
  PromotionConflictError,
  RollbackUnavailableError,
  ToolPinnedError,
} from './registry-errors.ts';
import { sourceDiff } from './source-diff.ts';
import {
  checkJson,
  checkText,
  checkToolName,
  type ToolDefinition,
  toCapabilities,
  toExamples,
  toInputSchema,
} from './tool-definition.ts';

/** The audit entry types the registry writes. Stable strings. */
export const REGISTRY_AUDIT_TYPES = Object.freeze({
  created: 'tool:created',
  candidateAdded: 'tool:candidate-added',
  promoted: 'tool:promoted',
  rolledBack: 'tool:rolled-back',
  pinned: 'tool:pinned',
  unpinned: 'tool:unpinned',
} as const);

/** Options of {@link ToolRegistry}. */
export interface ToolRegistryOptions {
  /** Where tools, versions, cases and the audit log live. */
  readonly storage: StorageAdapter;
  /**
   * Who is recorded as the actor of changes when a call does not say.
   * @default 'registry'
   */
  readonly actor?: string;
}

/** Who did something and why; recorded in the audit log. */
export interface ChangeContext {
  /** Why, in words. Recorded in the audit log. */
  reason?: string;
  /** Who or what made the change, e.g. `agent`, `cli`, `human:alice`. @default options.actor */
  actor?: string;
}

/** A new candidate version derived from an existing one. */
export interface CandidateInput extends ChangeContext {
  /** The full new source. */
  source: string;
  /** The version it was derived from (its schema and capabilities are inherited). */
  parentVersion: number;
  /** Why it exists (e.g. the evaluation reasons that triggered the rewrite). */
  reason: string;
  /** Who wrote it. */
  author: VersionAuthor;
}

/** Options of {@link ToolRegistry.promote}. */
export interface PromoteOptions extends ChangeContext {
  /** The version the caller saw active when it decided; a different one fails the promotion. */
  expectedActive: number;
  /** Why it is promoted. */
  reason: string;
  /** Evidence kept in the audit log: evaluation, regression report, shadow results (JSON). */
  evidence?: JsonObject;
  /**
   * Whether the change is made by the library rather than by a person; pinned tools refuse
   * automatic changes.
   * @default true
   */
  automatic?: boolean;
}

/** Options of {@link ToolRegistry.rollback}. */
export interface RollbackOptions extends ChangeContext {
  /** The version to make active. @default the version that was active before the current one */
  to?: number;
  /** Why it is rolled back. */
  reason: string;
  /** The version the caller saw active; a different one fails with `PromotionConflictError`. @default the current one */
  expectedActive?: number;
  /** Evidence kept in the audit log (JSON). */
  evidence?: JsonObject;
  /** Whether the change is made by the library; pinned tools refuse automatic changes. @default true */
  automatic?: boolean;
}

/** The outcome of a promotion or rollback. */
export interface ActivationResult {
  /** The version that was active before. */
  fromVersion: number;
  /** The version that is active now. */
  toVersion: number;
  /** The audit entry that records the change. */
  audit: AuditEntry;
}

/**
 * Tools, their immutable versions, the active pointer, pins and the history of every change.
 * It never runs code: sources are stored as given (validate them with `CodeValidator` and gate
 * them with `RegressionRunner` before promoting).
 *
 * Promotion and rollback are compare-and-swap on the active version, so two processes that both
 * decide to promote from the same version cannot both succeed: the second gets
 * {@link PromotionConflictError}. Every change is an audit entry with its actor, reason,
 * evidence and a unified diff.
 * @example
 * const registry = new ToolRegistry({ storage: memoryStorage() });
 * await registry.create({
 *   name: 'add_numbers', description: 'Adds a and b',
 *   inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } } },
 *   source: 'function add_numbers({ a, b }) { return a + b; }',
 *   examples: [{ input: { a: 1, b: 2 }, output: 3 }],
 * });
 * const v2 = await registry.addCandidate('add_numbers', {
 *   source: 'function add_numbers({ a, b }) { return Number(a) + Number(b); }',
 *   parentVersion: 1, reason: 'coerce strings', author: 'human',
 * });
 * await registry.promote('add_numbers', v2.version, { expectedActive: 1, reason: 'gate passed' });
 */
export class ToolRegistry {
  readonly #storage: StorageAdapter;
  readonly #actor: string;

  constructor(options: ToolRegistryOptions) {
    if (typeof options !== 'object' || options === null || typeof options.storage !== 'object') {
      throw new InvalidToolError(
        'options.storage',
        'a StorageAdapter, e.g. memoryStorage()',
        options?.storage,
      );
    }
    this.#storage = options.storage;
    this.#actor = options.actor === undefined ? 'registry' : checkText(options.actor, 'options.actor');
  }

  /** The storage this registry writes to. */
  get storage(): StorageAdapter {
    return this.#storage;
  }

  /**
   * Registers a new tool with version 1 active. `examples` become regression cases (origin
   * `example`, expectation `{ equals: output }`). Throws `ToolExistsError` for a taken name and
   * {@link InvalidToolError} for an invalid definition (before anything is written).
   */
  async create(
    definition: ToolDefinition,
    context: ChangeContext = {},
  ): Promise<{ tool: ToolRecord; version: ToolVersion; testCases: StoredTestCase[] }> {
    if (typeof definition !== 'object' || definition === null) {
      throw new InvalidToolError(
        'definition',
        'an object { name, description, inputSchema, source }',
        definition,
      );
    }
    const name = checkToolName(definition.name);
    const description = checkText(definition.description, 'description');
    const source = checkText(definition.source, 'source');
    const inputSchema = toInputSchema(definition.inputSchema);
    const capabilities = toCapabilities(definition.capabilities);
    const examples = toExamples(definition.examples);
    const actor = this.#actorOf(context);
    const reason = context.reason ?? 'created';
    const author = definition.author === undefined ? 'human' : checkAuthor(definition.author, 'author');
    if (definition.sideEffects !== undefined && typeof definition.sideEffects !== 'boolean') {
      throw new InvalidToolError('sideEffects', 'true or false', definition.sideEffects);
    }
    const sideEffects = definition.sideEffects === true;

    const created = await this.#storage.createTool({
      name,
      description,
      firstVersion: { source, inputSchema, capabilities, parentVersion: null, reason, author },
    });
    const testCases: StoredTestCase[] = [];
    for (const [index, example] of examples.entries()) {
      testCases.push(
        await this.#storage.addTestCase(name, {
          input: example.input,
          expect: { equals: example.output },
          description: `example ${index + 1}`,
          origin: 'example',
          inputHash: hashValue(example.input),
          heldOut: false,
        }),
      );
    }
    await this.#storage.appendAudit({
      type: REGISTRY_AUDIT_TYPES.created,
      toolName: name,
      actor,
      reason,
      toVersion: 1,
      evidence: {
        examples: examples.length,
        capabilities: {
          network: capabilities.network,
          ...(capabilities.secrets ? { secrets: capabilities.secrets } : {}),
        },
        sideEffects,
      },
    });
    return { tool: created.tool, version: created.version, testCases };
  }

  /** The tool's record (active version, pin, counters). Throws `ToolNotFoundError`. */
  async tool(name: string): Promise<ToolRecord> {
    const tool = await this.#storage.getTool(checkToolName(name));
    if (!tool) throw new ToolNotFoundError(name);
    return tool;
  }

  /** Every tool, by name. */
  async list(): Promise<ToolRecord[]> {
    return this.#storage.listTools();
  }

  /** The active version of a tool. Throws `ToolNotFoundError`. */
  async active(name: string): Promise<ToolVersion> {
    const version = await this.#storage.getActiveVersion(checkToolName(name));
    if (!version) throw new ToolNotFoundError(name);
    return version;
  }

  /** One version of a tool. Throws `ToolNotFoundError` / `VersionNotFoundError`. */
  async version(name: string, version: number): Promise<ToolVersion> {
    checkToolName(name);
    checkVersionNumber(version, 'version');
    const found = await this.#storage.getVersion(name, version);
    if (found) return found;
    if (!(await this.#storage.getTool(name))) throw new ToolNotFoundError(name);
    throw new VersionNotFoundError(name, version);
  }

  /** Every version of a tool, oldest first. Throws `ToolNotFoundError`. */
  async versions(name: string): Promise<ToolVersion[]> {
    await this.tool(name);
    return this.#storage.listVersions(name);
  }

  /**
   * Stores a new immutable version derived from `parentVersion` (inheriting its input schema and
   * capabilities, which a rewrite may not change). It is not active until promoted.
   */
  async addCandidate(name: string, candidate: CandidateInput): Promise<ToolVersion> {
    if (typeof candidate !== 'object' || candidate === null) {
      throw new InvalidToolError(
        'candidate',
        'an object { source, parentVersion, reason, author }',
        candidate,
      );
    }
    const source = checkText(candidate.source, 'candidate.source');
    const reason = checkText(candidate.reason, 'candidate.reason');
    const author = checkAuthor(candidate.author, 'candidate.author');
    const parent = await this.version(name, candidate.parentVersion);
    const actor = this.#actorOf(candidate);
    const version = await this.#storage.addVersion(name, {
      source,
      inputSchema: parent.inputSchema,
      capabilities: parent.capabilities,
      parentVersion: parent.version,
      reason,
      author,
    });
    await this.#storage.appendAudit({
      type: REGISTRY_AUDIT_TYPES.candidateAdded,
      toolName: name,
      actor,
      reason,
      fromVersion: parent.version,
      toVersion: version.version,
      evidence: { author, diff: unifiedDiff(name, parent, version) },
    });
    return version;
  }

  /**
   * Makes `version` active if `expectedActive` is still active (compare-and-swap). Throws
   * {@link PromotionConflictError} when it is not, {@link ToolPinnedError} for an automatic
   * promotion of a pinned tool, `VersionNotFoundError` for an unknown version.
   */
  async promote(name: string, version: number, options: PromoteOptions): Promise<ActivationResult> {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidToolError('options', 'an object { expectedActive, reason }', options);
    }
    const expectedActive = checkVersionNumber(options.expectedActive, 'options.expectedActive');
    const reason = checkText(options.reason, 'options.reason');
    const evidence = options.evidence === undefined ? {} : checkJson(options.evidence, 'options.evidence');
    const tool = await this.tool(name);
    if (tool.pinned && options.automatic !== false) throw new ToolPinnedError(name, 'promote');
    const candidate = await this.version(name, version);
    if (version === expectedActive) {
      throw new InvalidToolError(
        'version',
        `a version other than the expected active one (${expectedActive})`,
        version,
      );
    }
    const from = await this.version(name, expectedActive);
    return this.#activate(name, from, candidate, {
      type: REGISTRY_AUDIT_TYPES.promoted,
      actor: this.#actorOf(options),
      reason,
      evidence: evidence as JsonObject,
    });
  }

  /**
   * Makes an earlier version active again: `to`, or by default the version that was active
   * before the current one (from the audit log, else the current version's parent). Same
   * compare-and-swap and pin rules as {@link ToolRegistry.promote}.
   */
  async rollback(name: string, options: RollbackOptions): Promise<ActivationResult> {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidToolError('options', 'an object { reason, to? }', options);
    }
    const reason = checkText(options.reason, 'options.reason');
    const evidence = options.evidence === undefined ? {} : checkJson(options.evidence, 'options.evidence');
    const tool = await this.tool(name);
    if (tool.pinned && options.automatic !== false) throw new ToolPinnedError(name, 'rollback');
    const current =
      options.expectedActive === undefined
        ? tool.activeVersion
        : checkVersionNumber(options.expectedActive, 'options.expectedActive');
    const targetNumber =
      options.to === undefined
        ? await this.#previousActive(name, current)
        : checkVersionNumber(options.to, 'options.to');
    if (targetNumber === current) {
      throw new RollbackUnavailableError(name, `version ${current} is already the active version`);
    }
    const [from, target] = await Promise.all([this.version(name, current), this.version(name, targetNumber)]);
    return this.#activate(name, from, target, {
      type: REGISTRY_AUDIT_TYPES.rolledBack,
      actor: this.#actorOf(options),
      reason,
      evidence: evidence as JsonObject,
    });
  }

  /** Pins a tool: automatic promotions and rollbacks are refused until it is unpinned. */
  async pin(name: string, context: ChangeContext = {}): Promise<AuditEntry> {
    return this.#setPinned(name, true, context);
  }

  /** Unpins a tool so the library may change it again. */
  async unpin(name: string, context: ChangeContext = {}): Promise<AuditEntry> {
    return this.#setPinned(name, false, context);
  }

  /** The audit entries about a tool, oldest first; `type` filters (see {@link REGISTRY_AUDIT_TYPES}). */
  async history(name: string, filter: { type?: string; since?: number } = {}): Promise<AuditEntry[]> {
    checkToolName(name);
    return this.#storage.listAudit({ toolName: name, type: filter.type, since: filter.since });
  }

  /** Whether the tool was registered with `sideEffects: true` (never run in shadow). */
  async hasSideEffects(name: string): Promise<boolean> {
    const [created] = await this.history(name, { type: REGISTRY_AUDIT_TYPES.created });
    return (created?.evidence as { sideEffects?: unknown } | null | undefined)?.sideEffects === true;
  }

  /** A unified diff of the sources of versions `a` and `b` (empty hunks when identical). */
  async diff(name: string, a: number, b: number): Promise<string> {
    const [left, right] = await Promise.all([this.version(name, a), this.version(name, b)]);
    return unifiedDiff(name, left, right);
  }

  async #activate(
    name: string,
    from: ToolVersion,
    to: ToolVersion,
    entry: { type: string; actor: string; reason: string; evidence: JsonObject },
  ): Promise<ActivationResult> {
    const swapped = await this.#compareAndSet(name, from.version, to.version);
    if (!swapped.swapped) throw new PromotionConflictError(name, from.version, swapped.actual, to.version);
    const audit = await this.#storage.appendAudit({
      type: entry.type,
      toolName: name,
      actor: entry.actor,
      reason: entry.reason,
      fromVersion: from.version,
      toVersion: to.version,
      evidence: { ...entry.evidence, diff: unifiedDiff(name, from, to) },
    });
    return { fromVersion: from.version, toVersion: to.version, audit };
  }

  /**
   * Compare-and-swap that survives an unknown outcome: when the store fails (for example a
   * connection lost during COMMIT), the active version is read back. Already `next`: the swap
   * committed. Still `expected`: it did not, and is tried once more. Anything else: a conflict.
   */
  async #compareAndSet(name: string, expected: number, next: number): Promise<CompareAndSetResult> {
    try {
      return await this.#storage.compareAndSetActive(name, expected, next);
    } catch (error) {
      const tool = await this.#storage.getTool(name).catch(() => undefined);
      if (!tool) throw error;
      if (tool.activeVersion === next) return { swapped: true };
      if (tool.activeVersion !== expected) return { swapped: false, actual: tool.activeVersion };
      return this.#storage.compareAndSetActive(name, expected, next);
    }
  }

  /** The version that was active before `current`: the last activation into it, else its parent. */
  async #previousActive(name: string, current: number): Promise<number> {
    const entries = await this.#storage.listAudit({ toolName: name });
    for (let index = entries.length - 1; index >= 0; index -= 1) {
      const entry = entries[index] as AuditEntry;
      const activation =
        entry.type === REGISTRY_AUDIT_TYPES.promoted || entry.type === REGISTRY_AUDIT_TYPES.rolledBack;
      if (activation && entry.toVersion === current && entry.fromVersion !== undefined)
        return entry.fromVersion;
    }
    const version = await this.version(name, current);
    if (version.parentVersion === null) {
      throw new RollbackUnavailableError(
        name,
        `version ${current} is the first version and nothing was active before it`,
      );
    }
    return version.parentVersion;
  }

  async #setPinned(name: string, pinned: boolean, context: ChangeContext): Promise<AuditEntry> {
    const tool = await this.tool(name);
    await this.#storage.setPinned(name, pinned);
    return this.#storage.appendAudit({
      type: pinned ? REGISTRY_AUDIT_TYPES.pinned : REGISTRY_AUDIT_TYPES.unpinned,
      toolName: name,
      actor: this.#actorOf(context),
      reason: context.reason ?? (pinned ? 'pinned' : 'unpinned'),
      fromVersion: tool.activeVersion,
      toVersion: tool.activeVersion,
    });
  }

  #actorOf(context: ChangeContext | undefined): string {
    return context?.actor === undefined ? this.#actor : checkText(context.actor, 'actor');
  }
}

function checkVersionNumber(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidToolError(field, 'a version number (an integer ≥ 1)', value);
  }
  return value;
}

const authors: ReadonlySet<unknown> = new Set<VersionAuthor>([
  'generator',
  'llm-rewriter',
  'hardening',
  'human',
]);

function checkAuthor(value: unknown, field: string): VersionAuthor {
  if (!authors.has(value)) {
    throw new InvalidToolError(
      field,
      `one of ${[...authors].map((author) => `"${author}"`).join(', ')}`,
      value,
    );
  }
  return value as VersionAuthor;
}

function unifiedDiff(name: string, from: ToolVersion, to: ToolVersion): string {
  return sourceDiff(
    name,
    { label: `v${from.version}`, source: from.source },
    { label: `v${to.version}`, source: to.source },
  );
}
