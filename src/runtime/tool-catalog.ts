import type { CompiledSchema, SchemaCache } from '../core/json-schema.ts';
import { type ProviderSchema, toProviderSchema } from '../core/provider-schema.ts';
import { formatIssue } from '../generation/code-validator.ts';
import type { GenerationValidator } from '../generation/tool-generator.ts';
import type { ToolRegistry } from '../registry/tool-registry.ts';
import type { ToolRecord, ToolVersion } from '../storage/records.ts';

/** A tool as the runtime serves it: the active version and what is needed to call it. */
export interface ManagedTool {
  readonly name: string;
  readonly description: string;
  /** The active version at the time it was loaded or promoted. */
  readonly version: ToolVersion;
  /** Why the active source cannot be used (it failed validation on load), or null. */
  readonly problem: string | null;
  /** Checks call inputs against the tool's input schema. */
  readonly inputSchema: CompiledSchema;
  /**
   * Checks results against the version's output schema (`version.outputSchema`, the JSON);
   * `undefined` when the version declares none. A result it refuses fails the call with
   * `INVALID_OUTPUT`.
   */
  readonly outputSchema: CompiledSchema | undefined;
  /**
   * The input schema as the model is given it (`toProviderSchema`): what providers reject is
   * left out or filled in, and `adaptations` lists each change. Calls are still checked against
   * the full schema, so nothing left out of this view goes unchecked.
   */
  readonly modelSchema: ProviderSchema;
}

/** The part of the registry the catalog reads: `ToolRegistry` fits. */
export type CatalogRegistry = Pick<ToolRegistry, 'list' | 'active' | 'find'>;

/** Options of {@link ToolCatalog}. */
export interface ToolCatalogOptions {
  /**
   * How often the tools' disabled state is read again from storage while calls come in, ms, so
   * a tool disabled by another process (`sia disable`) is refused here within that time.
   * The read starts from a call and never delays it. @default 5000
   */
  stateRefreshMs?: number;
  /** Receives a warning when that read fails (the last known state stays). */
  onRefreshError?: (error: unknown) => void;
  /**
   * Hears every change this catalog takes in from storage: a managed tool's served version or
   * disabled state changed by a {@link ToolCatalog.refresh} (after a change notice, or a conflict
   * the improvement loop met) or by a read of the tools' state. Not the changes this process
   * applies itself (`set`, `setDisabled`).
   */
  onChange?: (toolName: string, change: CatalogChange) => void;
}

/** What {@link ToolCatalog.refresh} found changed. */
export interface CatalogChange {
  /** The version served before, or undefined when the catalog did not have the tool. */
  readonly fromVersion: number | undefined;
  /** The version served now. */
  readonly toVersion: number;
  /** Whether the tool is disabled now. */
  readonly disabled: boolean;
}

/**
 * The runtime's view of the registry: the active version of every tool, re-validated when loaded
 * from storage, and updated on promotion, rollback and notices from other processes. A call
 * takes the version it finds here when it starts and keeps it to the end, so a promotion never
 * interrupts a call already running.
 */
export class ToolCatalog {
  readonly #registry: CatalogRegistry;
  readonly #validator: GenerationValidator;
  readonly #schemas: SchemaCache;
  readonly #tools = new Map<string, ManagedTool>();
  /** Host tools (the app's own, measured only): their active versions. */
  readonly #hosts = new Map<string, ToolVersion>();
  readonly #disabled = new Set<string>();
  readonly #stateRefreshMs: number;
  readonly #onRefreshError: ((error: unknown) => void) | undefined;
  readonly #onChange: ((toolName: string, change: CatalogChange) => void) | undefined;
  #stateReadAt = 0;
  #stateReading = false;
  /** Bumped by every local change of a tool's state: a read started before it is stale. */
  #stateChanges = 0;

  constructor(
    registry: CatalogRegistry,
    validator: GenerationValidator,
    schemas: SchemaCache,
    options: ToolCatalogOptions = {},
  ) {
    this.#registry = registry;
    this.#validator = validator;
    this.#schemas = schemas;
    this.#stateRefreshMs = options.stateRefreshMs ?? 5000;
    this.#onRefreshError = options.onRefreshError;
    this.#onChange = options.onChange;
  }

  /** Loads every stored tool and its active version. */
  async load(): Promise<void> {
    this.#stateReadAt = Date.now();
    for (const record of await this.#registry.list()) {
      this.#apply(record, await this.#registry.active(record.name));
    }
  }

  /** The tool, or undefined when the agent does not know it. */
  get(name: string): ManagedTool | undefined {
    return this.#tools.get(name);
  }

  /** Every tool, by name. */
  list(): ManagedTool[] {
    return [...this.#tools.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Re-reads a tool's active version and state from storage (after a change elsewhere). What it
   * changes for a managed tool (its served version, from `undefined` for a tool the catalog did
   * not have, or its disabled state) goes to `onChange`, judged when it is applied: a change this
   * process applied first is not reported. A disabled state read before this process changed it
   * (`setDisabled` during the read) is not applied.
   */
  async refresh(name: string): Promise<ManagedTool | undefined> {
    const changes = this.#stateChanges;
    const record = await this.#registry.find(name);
    if (!record) return undefined;
    const active = await this.#registry.active(name);
    const before = this.#tools.get(name)?.version.version;
    const wasDisabled = this.#disabled.has(name);
    const stale = changes !== this.#stateChanges;
    const tool = this.#apply(stale ? { ...record, disabled: wasDisabled } : record, active);
    this.#reportChange(name, before, wasDisabled);
    return tool;
  }

  /**
   * Reads every tool's disabled state from storage now (not waiting for `stateRefreshMs`), and
   * reports each change to `onChange`. Resolves when done; a failed read rejects.
   */
  async readStates(): Promise<void> {
    this.#stateReadAt = Date.now();
    const changes = this.#stateChanges;
    const records = await this.#registry.list();
    // This process changed a state while the read was under way: the read may predate it.
    if (changes !== this.#stateChanges) return;
    for (const record of records) {
      const wasDisabled = this.#disabled.has(record.name);
      this.#applyDisabled(record.name, record.disabled === true);
      this.#reportChange(record.name, this.#tools.get(record.name)?.version.version, wasDisabled);
    }
  }

  /** Tells `onChange` what a read from storage changed for a managed tool, if anything. */
  #reportChange(name: string, fromVersion: number | undefined, wasDisabled: boolean): void {
    const toVersion = this.#tools.get(name)?.version.version;
    const disabled = this.#disabled.has(name);
    if (toVersion !== undefined && (toVersion !== fromVersion || disabled !== wasDisabled)) {
      this.#onChange?.(name, { fromVersion, toVersion, disabled });
    }
  }

  /**
   * Whether calls of the tool are refused (it is disabled). Also starts, at most every
   * `stateRefreshMs`, a read of every tool's state from storage (without waiting for it), so a
   * tool disabled elsewhere is seen here soon.
   */
  isDisabled(name: string): boolean {
    if (!this.#stateReading && Date.now() - this.#stateReadAt >= this.#stateRefreshMs) this.#readStates();
    return this.#disabled.has(name);
  }

  /** Records a tool's disabled state (after this process changed it in storage). */
  setDisabled(name: string, disabled: boolean): void {
    this.#stateChanges += 1;
    this.#applyDisabled(name, disabled);
  }

  #applyDisabled(name: string, disabled: boolean): void {
    if (disabled) this.#disabled.add(name);
    else this.#disabled.delete(name);
  }

  /** The active version of a host tool (the app's own, measured only), or undefined. */
  host(name: string): ToolVersion | undefined {
    return this.#hosts.get(name);
  }

  /** Serves `version` of a host tool from now on (registered or deployed by this process). */
  setHost(version: ToolVersion): void {
    this.#hosts.set(version.toolName, version);
  }

  /** The version serving calls of a tool of either kind, or undefined when the catalog has none. */
  servedVersion(name: string): number | undefined {
    return this.#tools.get(name)?.version.version ?? this.#hosts.get(name)?.version;
  }

  #apply(record: ToolRecord, version: ToolVersion): ManagedTool | undefined {
    this.#applyDisabled(record.name, record.disabled === true);
    if (record.kind === 'host') {
      this.#hosts.set(record.name, version);
      return undefined;
    }
    return this.set(record.description, version);
  }

  #readStates(): void {
    this.#stateReading = true;
    this.readStates()
      .catch((error: unknown) => this.#onRefreshError?.(error))
      .finally(() => {
        this.#stateReading = false;
      });
  }

  /** Serves `version` from now on; its source is validated again. */
  set(description: string, version: ToolVersion): ManagedTool {
    const current = this.#tools.get(version.toolName);
    if (current && current.version.version === version.version) return current;
    const result = this.#validator.validate(version.source, { name: version.toolName });
    const problem = result.ok ? null : result.issues.map((issue) => formatIssue(issue)).join('; ');
    const tool: ManagedTool = {
      name: version.toolName,
      description,
      version: result.ok ? { ...version, source: result.source } : version,
      problem,
      inputSchema: this.#schemas.compile(version.inputSchema),
      outputSchema:
        version.outputSchema === undefined ? undefined : this.#schemas.compile(version.outputSchema),
      modelSchema: toProviderSchema(version.inputSchema),
    };
    this.#tools.set(version.toolName, tool);
    return tool;
  }
}
