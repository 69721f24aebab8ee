import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { compileSchema } from '../core/json-schema.ts';
import { outputViolation } from '../core/output-schema.ts';
import {
  DEGRADED_AUDIT_TYPE,
  IMPROVEMENT_AUDIT_TYPE,
  type ImprovementEvidence,
  REGISTRY_AUDIT_TYPES,
} from '../storage/audit-evidence.ts';
import type {
  AuditEntry,
  JsonObject,
  NewTestCase,
  StoredTestCase,
  ToolAuditEntry,
  ToolCounters,
  ToolRecord,
  ToolVersion,
  VersionAuthor,
} from '../storage/records.ts';
import type { StorageAdapter } from '../storage/storage-adapter.ts';
import { ToolExistsError, ToolNotFoundError, VersionNotFoundError } from '../storage/storage-errors.ts';
import { LABEL_EXPECTED, labelProblem } from '../storage/storage-input.ts';
import { isDisabled, toolKind } from '../storage/tool-state.ts';
import type { CompareAndSetOptions, CompareAndSetResult } from '../storage/tool-store.ts';
import {
  InvalidToolError,
  PromotionConflictError,
  RollbackUnavailableError,
  StorageCapabilityMissingError,
  ToolKindMismatchError,
  ToolPinnedError,
} from './registry-errors.ts';
import { sourceDiff } from './source-diff.ts';
import {
  checkJson,
  checkText,
  checkToolName,
  type ToolDefinition,
  type ToolExample,
  toCapabilities,
  toExamples,
  toInputSchema,
  toOutputSchema,
} from './tool-definition.ts';

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

/** Options of {@link ToolRegistry.create}. */
export interface CreateContext extends ChangeContext {
  /**
   * Further regression cases, stored after the example cases in the same transaction as the
   * tool, so a failure leaves neither. They are stored as given: check them first with
   * `RegressionRunner.prepareCases`. @default []
   */
  testCases?: readonly NewTestCase[];
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
  /**
   * Evidence kept in the audit log, e.g. `{ evaluation, regression: report }` (an `Evaluation`
   * and a `RegressionReport` as they are: `sia history` and the HTML report read those two keys).
   * Must be plain JSON, checked here (`undefined` properties are dropped); anything else fails
   * with `InvalidToolError` naming the path.
   */
  evidence?: { readonly [key: string]: unknown };
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
  /** Evidence kept in the audit log; plain JSON, checked as for {@link PromoteOptions.evidence}. */
  evidence?: { readonly [key: string]: unknown };
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

/** Input of {@link ToolRegistry.registerHostTool}: one of the app's own tools, at one release. */
export interface HostToolInput {
  /** The tool's name (snake_case, as for every stored tool). */
  name: string;
  /** What the tool does; stored with the tool when it is created. */
  description: string;
  /** The JSON Schema (object) of the tool's input, as the app's tool declares it. */
  inputSchema: JsonObject;
  /**
   * The app's name for this version of the tool: a release, a git sha. 1 to 128 characters, no
   * control characters. Each new label becomes a new integer version of the tool.
   */
  label: string;
  /** Who is recorded as the actor of the change. @default options.actor */
  actor?: string;
}

/** What {@link ToolRegistry.registerHostTool} did. */
export interface HostToolRegistration {
  /** The active version now: the one with the given label. */
  version: ToolVersion;
  /** True when the tool did not exist and was created (version 1). */
  created: boolean;
  /**
   * True when an existing tool's active version changed: a new version was added for a new
   * label, or an earlier version with this label was made active again (a rollback of the app).
   */
  deployed: boolean;
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

  /** @throws InvalidOptionError naming the invalid option (`options.storage`, `options.actor`) and the value received. */
  constructor(options: ToolRegistryOptions) {
    if (
      typeof options !== 'object' ||
      options === null ||
      typeof options.storage !== 'object' ||
      options.storage === null
    ) {
      throw new InvalidOptionError({
        field: 'options.storage',
        expected: 'a StorageAdapter, e.g. memoryStorage()',
        value: options?.storage,
      });
    }
    this.#storage = options.storage;
    if (options.actor !== undefined && (typeof options.actor !== 'string' || options.actor.trim() === '')) {
      throw new InvalidOptionError({
        field: 'options.actor',
        expected: 'a non-empty string',
        value: options.actor,
      });
    }
    this.#actor = options.actor ?? 'registry';
  }

  /** The storage this registry writes to. */
  get storage(): StorageAdapter {
    return this.#storage;
  }

  /**
   * Registers a new tool with version 1 active. Its regression cases are `context.testCases`,
   * built by `RegressionRunner.prepareCases` (which turns `examples` into cases too: pass them
   * there); the tool, its cases and its audit entry are written in one transaction. `examples`
   * themselves are checked and counted in the audit entry. Throws `ToolExistsError` for a
   * taken name and {@link InvalidToolError} for an invalid definition (before anything is written).
   */
  async create(
    definition: ToolDefinition,
    context: CreateContext = {},
  ): Promise<{ tool: ToolRecord; version: ToolVersion; testCases: StoredTestCase[] }> {
    if (typeof definition !== 'object' || definition === null) {
      throw new InvalidToolError({
        field: 'definition',
        expected: 'an object { name, description, inputSchema, source }',
        value: definition,
      });
    }
    const name = checkToolName(definition.name);
    const description = checkText(definition.description, 'description');
    const source = checkText(definition.source, 'source');
    const inputSchema = toInputSchema(definition.inputSchema);
    const outputSchema = toOutputSchema(definition.outputSchema);
    const capabilities = toCapabilities(definition.capabilities);
    const examples = toExamples(definition.examples);
    if (outputSchema !== undefined) checkExampleOutputs(examples, outputSchema);
    const actor = this.#actorOf(context);
    const reason = context.reason ?? 'created';
    const author = definition.author === undefined ? 'human' : checkAuthor(definition.author, 'author');
    if (definition.sideEffects !== undefined && typeof definition.sideEffects !== 'boolean') {
      throw new InvalidToolError({
        field: 'sideEffects',
        expected: 'true or false',
        value: definition.sideEffects,
      });
    }
    const sideEffects = definition.sideEffects === true;
    const extraCases = context.testCases ?? [];
    if (
      !Array.isArray(extraCases) ||
      extraCases.some((testCase) => typeof testCase !== 'object' || testCase === null)
    ) {
      throw new InvalidToolError({
        field: 'context.testCases',
        expected: 'an array of test cases (from RegressionRunner.prepareCases)',
        value: extraCases,
      });
    }

    // One transaction: the tool, its cases and the audit entry that holds `sideEffects` exist
    // together or not at all, so a failed creation can simply be retried.
    const testCases: NewTestCase[] = [...extraCases];
    const audit: ToolAuditEntry = {
      type: REGISTRY_AUDIT_TYPES.created,
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
    };
    const created = await this.#storage.createTool({
      name,
      description,
      firstVersion: {
        source,
        inputSchema,
        ...(outputSchema === undefined ? {} : { outputSchema }),
        capabilities,
        parentVersion: null,
        reason,
        author,
      },
      testCases,
      audit,
    });
    if (created.audit !== undefined) {
      return { tool: created.tool, version: created.version, testCases: created.testCases };
    }
    // An adapter written for the older contract ignores cases and entry: write them as before.
    const stored: StoredTestCase[] = [];
    for (const testCase of testCases) stored.push(await this.#storage.addTestCase(name, testCase));
    await this.#storedOrAppended(name, undefined, audit);
    return { tool: created.tool, version: created.version, testCases: stored };
  }

  /** The tool's record (active version, pin, counters). Throws `ToolNotFoundError`. */
  async tool(name: string): Promise<ToolRecord> {
    const tool = await this.#storage.getTool(checkToolName(name));
    if (!tool) throw new ToolNotFoundError(name);
    return tool;
  }

  /** The tool's record, or `undefined` when there is no tool of that name. */
  async find(name: string): Promise<ToolRecord | undefined> {
    return this.#storage.getTool(checkToolName(name));
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
   * Stores a new immutable version derived from `parentVersion` (inheriting its input schema,
   * output schema and capabilities, which a rewrite may not change). It is not active until promoted.
   */
  async addCandidate(name: string, candidate: CandidateInput): Promise<ToolVersion> {
    if (typeof candidate !== 'object' || candidate === null) {
      throw new InvalidToolError({
        field: 'candidate',
        expected: 'an object { source, parentVersion, reason, author }',
        value: candidate,
      });
    }
    const source = checkText(candidate.source, 'candidate.source');
    const reason = checkText(candidate.reason, 'candidate.reason');
    const author = checkAuthor(candidate.author, 'candidate.author');
    const tool = await this.tool(name);
    if (toolKind(tool) === 'host')
      throw new ToolKindMismatchError({ toolName: name, kind: 'host', operation: 'add-candidate' });
    const parent = await this.version(name, candidate.parentVersion);
    const actor = this.#actorOf(candidate);
    // The entry needs the number the store assigns, so the store makes it inside the version's
    // own transaction: the version and its entry exist together or not at all.
    const entryFor = (version: ToolVersion): ToolAuditEntry => ({
      type: REGISTRY_AUDIT_TYPES.candidateAdded,
      actor,
      reason,
      fromVersion: parent.version,
      toVersion: version.version,
      evidence: { author, diff: unifiedDiff(name, parent, version) },
    });
    let written = false;
    const version = await this.#storage.addVersion(
      name,
      {
        source,
        inputSchema: parent.inputSchema,
        ...(parent.outputSchema === undefined ? {} : { outputSchema: parent.outputSchema }),
        capabilities: parent.capabilities,
        parentVersion: parent.version,
        reason,
        author,
      },
      (stored) => {
        written = true;
        return entryFor(stored);
      },
    );
    // An adapter written for the older contract never asks for the entry: append it as before.
    if (!written) await this.#storedOrAppended(name, undefined, entryFor(version));
    return version;
  }

  /**
   * Makes `version` active if `expectedActive` is still active (compare-and-swap). Throws
   * {@link PromotionConflictError} when it is not, {@link ToolPinnedError} for an automatic
   * promotion of a pinned tool, `VersionNotFoundError` for an unknown version.
   */
  async promote(name: string, version: number, options: PromoteOptions): Promise<ActivationResult> {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidToolError({
        field: 'options',
        expected: 'an object { expectedActive, reason }',
        value: options,
      });
    }
    const expectedActive = checkVersionNumber(options.expectedActive, 'options.expectedActive');
    const reason = checkText(options.reason, 'options.reason');
    const evidence = options.evidence === undefined ? {} : checkJson(options.evidence, 'options.evidence');
    const tool = await this.tool(name);
    if (tool.pinned && options.automatic !== false) throw new ToolPinnedError(name, 'promote');
    const candidate = await this.version(name, version);
    if (version === expectedActive) {
      throw new InvalidToolError({
        field: 'version',
        expected: `a version other than the expected active one (${expectedActive})`,
        value: version,
      });
    }
    const from = await this.version(name, expectedActive);
    return this.#activate(name, from, candidate, {
      type: REGISTRY_AUDIT_TYPES.promoted,
      actor: this.#actorOf(options),
      reason,
      evidence: evidence as JsonObject,
      automatic: options.automatic !== false,
      action: 'promote',
    });
  }

  /**
   * Makes an earlier version active again: `to`, or by default the version that was active
   * before the current one (from the audit log, else the current version's parent). Same
   * compare-and-swap and pin rules as {@link ToolRegistry.promote}.
   */
  async rollback(name: string, options: RollbackOptions): Promise<ActivationResult> {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidToolError({ field: 'options', expected: 'an object { reason, to? }', value: options });
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
      automatic: options.automatic !== false,
      action: 'rollback',
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

  /**
   * Disables (`true`) or re-enables (`false`) a tool: an agent refuses a disabled tool's calls
   * with a clear error, and keeps its versions, calls and history. Writes the state and a
   * `tool:disabled` / `tool:enabled` audit entry in one transaction. Resolves `true` when the
   * state changed, `false` (and writes nothing) when the tool already was in that state.
   * @throws ToolNotFoundError for an unknown tool; {@link StorageCapabilityMissingError} when the
   *   storage has no `setDisabled`; InvalidToolError for a `disabled` that is not a boolean.
   */
  async setDisabled(name: string, disabled: boolean, options: ChangeContext = {}): Promise<boolean> {
    if (typeof disabled !== 'boolean')
      throw new InvalidToolError({ field: 'disabled', expected: 'true or false', value: disabled });
    const actor = this.#actorOf(options);
    const reason = options.reason === undefined ? undefined : checkText(options.reason, 'reason');
    const tool = await this.tool(name);
    if (isDisabled(tool) === disabled) return false;
    const setDisabled = this.#storage.setDisabled;
    if (setDisabled === undefined)
      throw new StorageCapabilityMissingError({ storage: this.#storage.name, capability: 'setDisabled' });
    const audit: ToolAuditEntry = {
      type: disabled ? REGISTRY_AUDIT_TYPES.disabled : REGISTRY_AUDIT_TYPES.enabled,
      actor,
      reason: reason ?? (disabled ? 'disabled' : 'enabled'),
      fromVersion: tool.activeVersion,
      toVersion: tool.activeVersion,
    };
    // The state and its audit entry are one transaction: both or neither.
    const stored = await setDisabled.call(this.#storage, name, disabled, audit);
    await this.#storedOrAppended(name, stored, audit);
    return true;
  }

  /**
   * Registers one of the app's own tools (a host tool: it runs on the host, is measured and
   * evaluated, never sandboxed nor rewritten) at the version the app names with `label`, and
   * makes that version active. Called on every start of the app, so the common case (the active
   * version already has this label) only reads:
   * - no tool of that name: creates it (kind `host`, version 1 with the label; `tool:created`);
   * - the active version has the label: returns it, writes nothing;
   * - an earlier version has the label: makes it active again (`tool:deployed`, a rollback of the
   *   app's release);
   * - otherwise: adds a version with the label and makes it active in one transaction
   *   (`tool:deployed`). Its input schema is the one given; the tool's stored description is
   *   the one it was created with (storage has no way to change it).
   *
   * Host versions are stored with `source: ''`, `author: 'host'`, no capabilities, and the
   * previous active version as parent. When two processes create the same tool at once, the
   * loser reads the winner's tool and goes on from there.
   * @throws {@link ToolKindMismatchError} when a sandboxed tool has the name; InvalidOptionError
   *   naming `version` for a bad label; InvalidToolError for a bad name, description or schema.
   */
  async registerHostTool(input: HostToolInput): Promise<HostToolRegistration> {
    if (typeof input !== 'object' || input === null)
      throw new InvalidToolError({
        field: 'input',
        expected: 'an object { name, description, inputSchema, label }',
        value: input,
      });
    const name = checkToolName(input.name);
    const description = checkText(input.description, 'description');
    const inputSchema = checkJson(input.inputSchema, 'inputSchema');
    if (typeof inputSchema !== 'object' || inputSchema === null || Array.isArray(inputSchema))
      throw new InvalidToolError({
        field: 'inputSchema',
        expected: 'a JSON Schema object',
        value: input.inputSchema,
      });
    const label = input.label;
    if (labelProblem(label) !== undefined)
      throw new InvalidOptionError({ field: 'version', expected: LABEL_EXPECTED, value: label });
    const actor = this.#actorOf(input);
    const hostVersion = (parentVersion: number | null, reason: string) => ({
      source: '',
      inputSchema: inputSchema as JsonObject,
      capabilities: { network: [] },
      parentVersion,
      reason,
      author: 'host',
      label,
    });
    for (let attempt = 0; ; attempt += 1) {
      const [tool, active] = await Promise.all([
        this.#storage.getTool(name),
        this.#storage.getActiveVersion(name),
      ]);
      if (tool === undefined) {
        const reason = `host tool registered at version "${label}"`;
        const audit: ToolAuditEntry = {
          type: REGISTRY_AUDIT_TYPES.created,
          actor,
          reason,
          toVersion: 1,
          // Host tools run the app's own code: never run twice in shadow.
          evidence: { kind: 'host', label, sideEffects: true },
        };
        try {
          const created = await this.#storage.createTool({
            name,
            description,
            kind: 'host',
            firstVersion: hostVersion(null, reason),
            audit,
          });
          if (created.audit === undefined) await this.#storedOrAppended(name, undefined, audit);
          return { version: created.version, created: true, deployed: false };
        } catch (error) {
          // Another process created it first: go on from what it stored.
          if (ToolExistsError.isInstance(error) && attempt === 0) continue;
          throw error;
        }
      }
      if (toolKind(tool) !== 'host')
        throw new ToolKindMismatchError({
          toolName: name,
          kind: toolKind(tool),
          operation: 'register-host-tool',
        });
      if (active !== undefined && active.version === tool.activeVersion && active.label === label)
        return { version: active, created: false, deployed: false };
      const from = tool.activeVersion;
      const previousLabel = active?.label ?? null;
      const deployed = (fromVersion: number, toVersion: number, how: string): ToolAuditEntry => ({
        type: REGISTRY_AUDIT_TYPES.deployed,
        actor,
        reason: `version "${label}" ${how} (v${fromVersion} → v${toVersion})`,
        fromVersion,
        toVersion,
        evidence: { label, previousLabel },
      });
      // The first version with the label: every process picks the same one (see below).
      const earlier = (await this.#storage.listVersions(name)).find((version) => version.label === label);
      if (earlier !== undefined) {
        const audit = deployed(from, earlier.version, 'deployed again');
        const swapped = await this.#compareAndSet(name, from, earlier.version, audit, {});
        if (swapped.swapped) return { version: earlier, created: false, deployed: true };
        // Another process changed the active version meanwhile: look again, once.
        if (attempt === 0) continue;
        throw new PromotionConflictError({
          toolName: name,
          expectedActive: from,
          actualActive: swapped.actual,
          requested: earlier.version,
        });
      }
      const entryFor = (version: ToolVersion) => deployed(from, version.version, 'deployed');
      let written = false;
      const added = await this.#storage.addVersion(
        name,
        hostVersion(from, `version "${label}" deployed`),
        (stored) => {
          written = true;
          return entryFor(stored);
        },
        { activate: true },
      );
      if (!written) await this.#storedOrAppended(name, undefined, entryFor(added));
      // An adapter written before `activate` leaves the version inactive: activate it now.
      const after = await this.#storage.getTool(name);
      if (after !== undefined && after.activeVersion === from && from !== added.version)
        await this.#storage.compareAndSetActive(name, from, added.version);
      // Replicas that start the same new release at once may each add a version for it (the
      // lookup above is not in the adding transaction). They converge on the first one: each
      // one that added a later copy hands the active pointer to it, so every replica records
      // its calls under the same version and the copies stay unused.
      const first = (await this.#storage.listVersions(name)).find((version) => version.label === label);
      if (first !== undefined && first.version !== added.version) {
        await this.#compareAndSet(
          name,
          added.version,
          first.version,
          deployed(added.version, first.version, 'deployed by another process first'),
          {},
        );
        return { version: first, created: false, deployed: true };
      }
      return { version: added, created: false, deployed: true };
    }
  }

  /**
   * Sets how many of the tool's automatic improvements count against the agent's
   * `maxRewritesPerTool` to `to` (default 0: the full allowance again; a higher `to` leaves fewer).
   * The stored counter (`counters.rewrites`) keeps counting every improvement ever made; the
   * reset is an audit entry (`tool:improvements-reset`, evidence `{ rewrites, to, before }`) that
   * {@link ToolRegistry.improvementCount} and every agent on this storage read.
   * @throws ToolNotFoundError for an unknown tool; InvalidToolError for a bad `to`.
   */
  async resetImprovements(name: string, options: ChangeContext & { to?: number } = {}): Promise<AuditEntry> {
    const to = options.to ?? 0;
    if (typeof to !== 'number' || !Number.isSafeInteger(to) || to < 0) {
      throw new InvalidToolError({ field: 'to', expected: 'an integer ≥ 0', value: to });
    }
    const tool = await this.tool(name);
    const before = await this.improvementCount(name);
    return this.#storage.appendAudit({
      type: REGISTRY_AUDIT_TYPES.improvementsReset,
      toolName: name,
      actor: this.#actorOf(options),
      reason: options.reason ?? `improvement count set from ${before} to ${to}`,
      fromVersion: tool.activeVersion,
      toVersion: tool.activeVersion,
      evidence: { rewrites: tool.counters.rewrites, to, before },
    });
  }

  /**
   * How many of the tool's improvements count against `maxRewritesPerTool`: every improvement
   * that produced a candidate, since the last {@link ToolRegistry.resetImprovements}.
   */
  async improvementCount(name: string): Promise<number> {
    const tool = await this.tool(name);
    const resets = await this.#storage.listAudit({
      toolName: name,
      type: REGISTRY_AUDIT_TYPES.improvementsReset,
    });
    const last = resets.at(-1)?.evidence as { rewrites?: unknown; to?: unknown } | null | undefined;
    if (typeof last?.rewrites !== 'number' || typeof last.to !== 'number') return tool.counters.rewrites;
    return Math.max(0, tool.counters.rewrites - last.rewrites + last.to);
  }

  /**
   * Counts one improvement that produced a candidate: adds one to the tool's rewrite counter
   * (`counters.rewrites`, which {@link ToolRegistry.improvementCount} reads) and sets its last
   * rewrite time to `at`. Throws `ToolNotFoundError`.
   */
  async recordRewrite(name: string, at: number = Date.now()): Promise<ToolCounters> {
    return this.#storage.recordRewrite(checkToolName(name), at);
  }

  /**
   * Records how one improvement of version `fromVersion` ended (an `improvement:finished` entry
   * with its typed evidence; its tokens count against a daily budget, see
   * {@link ToolRegistry.improvementsSince}).
   */
  async recordImprovement(
    name: string,
    entry: { fromVersion: number; evidence: ImprovementEvidence; actor?: string; reason?: string },
  ): Promise<AuditEntry> {
    const { evidence } = entry;
    return this.#storage.appendAudit({
      type: IMPROVEMENT_AUDIT_TYPE,
      toolName: checkToolName(name),
      actor: this.#actorOf(entry),
      reason: entry.reason ?? evidence.outcome,
      fromVersion: entry.fromVersion,
      ...(evidence.toVersion === undefined ? {} : { toVersion: evidence.toVersion }),
      evidence: checkJson(evidence, 'evidence') as JsonObject,
    });
  }

  /**
   * Records that `version` started needing a rewrite (a `tool:degraded` entry whose evidence is
   * the evaluation), so the report and `sia history` show it for tools of either kind.
   */
  async recordDegraded(
    name: string,
    entry: { version: number; evaluation: JsonObject; reason: string; actor?: string },
  ): Promise<AuditEntry> {
    return this.#storage.appendAudit({
      type: DEGRADED_AUDIT_TYPE,
      toolName: checkToolName(name),
      actor: this.#actorOf(entry),
      reason: entry.reason,
      fromVersion: entry.version,
      evidence: checkJson(entry.evaluation, 'evaluation') as JsonObject,
    });
  }

  /** Every tool's `improvement:finished` entries since `since` (epoch ms), oldest first. */
  async improvementsSince(since: number): Promise<AuditEntry[]> {
    return this.#storage.listAudit({ type: IMPROVEMENT_AUDIT_TYPE, since });
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
    entry: {
      type: string;
      actor: string;
      reason: string;
      evidence: JsonObject;
      automatic: boolean;
      action: 'promote' | 'rollback';
    },
  ): Promise<ActivationResult> {
    // The swap and its audit entry are one transaction: both or neither.
    const audit: ToolAuditEntry = {
      type: entry.type,
      actor: entry.actor,
      reason: entry.reason,
      fromVersion: from.version,
      toVersion: to.version,
      evidence: { ...entry.evidence, diff: unifiedDiff(name, from, to) },
    };
    // An automatic change asks the store to check the pin inside the swap's own transaction: the
    // check above only fails fast, a pin landing after it must still stop the change.
    const swapped = await this.#compareAndSet(name, from.version, to.version, audit, {
      requireUnpinned: entry.automatic,
    });
    if (!swapped.swapped) {
      if (swapped.pinned === true) throw new ToolPinnedError(name, entry.action);
      throw new PromotionConflictError({
        toolName: name,
        expectedActive: from.version,
        actualActive: swapped.actual,
        requested: to.version,
      });
    }
    return { fromVersion: from.version, toVersion: to.version, audit: swapped.audit };
  }

  /**
   * Compare-and-swap with its audit entry that survives an unknown outcome: when the store
   * fails (for example a connection lost during COMMIT), the active version is read back.
   * Already `next`: the transaction committed (its audit entry is read back too). Still
   * `expected`: nothing was written, and it is tried once more. Anything else: a conflict.
   */
  async #compareAndSet(
    name: string,
    expected: number,
    next: number,
    audit: ToolAuditEntry,
    options: CompareAndSetOptions,
  ): Promise<{ swapped: true; audit: AuditEntry } | { swapped: false; actual: number; pinned?: true }> {
    let result: CompareAndSetResult;
    try {
      result = await this.#storage.compareAndSetActive(name, expected, next, audit, options);
    } catch (error) {
      const tool = await this.#storage.getTool(name).catch(() => undefined);
      if (!tool) throw error;
      if (tool.activeVersion === next) {
        const stored = await this.#lastActivation(name, next);
        return { swapped: true, audit: await this.#storedOrAppended(name, stored, audit) };
      }
      if (tool.activeVersion !== expected) return { swapped: false, actual: tool.activeVersion };
      result = await this.#storage.compareAndSetActive(name, expected, next, audit, options);
    }
    if (!result.swapped) return result;
    return { swapped: true, audit: await this.#storedOrAppended(name, result.audit, audit) };
  }

  /**
   * The entry the store wrote in the change's own transaction, else `audit` appended now: an
   * adapter written for the older contract ignores the entry it is given.
   */
  async #storedOrAppended(
    name: string,
    stored: AuditEntry | undefined,
    audit: ToolAuditEntry,
  ): Promise<AuditEntry> {
    return stored ?? this.#storage.appendAudit({ ...audit, toolName: name });
  }

  /** The newest promotion or rollback into `version` that records where it came from. */
  async #lastActivation(name: string, version: number): Promise<AuditEntry | undefined> {
    const entries = await this.#storage.listAudit({ toolName: name });
    for (let index = entries.length - 1; index >= 0; index -= 1) {
      const entry = entries[index] as AuditEntry;
      const activation =
        entry.type === REGISTRY_AUDIT_TYPES.promoted || entry.type === REGISTRY_AUDIT_TYPES.rolledBack;
      if (activation && entry.toVersion === version && entry.fromVersion !== undefined) return entry;
    }
    return undefined;
  }

  /** The version that was active before `current`: the last activation into it, else its parent. */
  async #previousActive(name: string, current: number): Promise<number> {
    const activation = await this.#lastActivation(name, current);
    if (activation?.fromVersion !== undefined) return activation.fromVersion;
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
    const audit: ToolAuditEntry = {
      type: pinned ? REGISTRY_AUDIT_TYPES.pinned : REGISTRY_AUDIT_TYPES.unpinned,
      actor: this.#actorOf(context),
      reason: context.reason ?? (pinned ? 'pinned' : 'unpinned'),
      fromVersion: tool.activeVersion,
      toVersion: tool.activeVersion,
    };
    // The pin and its audit entry are one transaction: both or neither.
    return this.#storedOrAppended(name, await this.#storage.setPinned(name, pinned, audit), audit);
  }

  #actorOf(context: ChangeContext | undefined): string {
    return context?.actor === undefined ? this.#actor : checkText(context.actor, 'actor');
  }
}

function checkVersionNumber(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidToolError({ field, expected: 'a version number (an integer ≥ 1)', value });
  }
  return value;
}

/**
 * Who wrote a version: any short name, so a third-party rewriter can sign its own versions. The
 * built-in names (`generator`, `llm-rewriter`, `hardening`, `human`) are known values, not a
 * closed list.
 */
const AUTHOR_PATTERN = /^[A-Za-z0-9][A-Za-z0-9 ._:@/+-]{0,63}$/;

function checkAuthor(value: unknown, field: string): VersionAuthor {
  if (typeof value !== 'string' || !AUTHOR_PATTERN.test(value)) {
    throw new InvalidToolError({
      field,
      expected:
        'an author name: 1 to 64 letters, digits, spaces or ._:@/+- (for example "llm-rewriter" or "my-rewriter")',
      value,
    });
  }
  return value;
}

function unifiedDiff(name: string, from: ToolVersion, to: ToolVersion): string {
  return sourceDiff(
    name,
    { label: `v${from.version}`, source: from.source },
    { label: `v${to.version}`, source: to.source },
  );
}

/** Throws {@link InvalidToolError} for the first example whose output the tool's own output schema refuses. */
function checkExampleOutputs(examples: readonly ToolExample[], outputSchema: JsonObject): void {
  const schema = compileSchema(outputSchema);
  examples.forEach((example, index) => {
    const violation = outputViolation(schema, example.output);
    if (violation !== null)
      throw new InvalidToolError({
        field: `examples[${index}].output`,
        expected: `a value matching outputSchema (${violation})`,
        value: example.output,
      });
  });
}
