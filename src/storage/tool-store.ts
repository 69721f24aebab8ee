import type {
  AuditEntry,
  AuditQuery,
  CreatedTool,
  NewAuditEntry,
  NewTestCase,
  NewTool,
  NewToolVersion,
  StoredTestCase,
  ToolAuditEntry,
  ToolCounters,
  ToolRecord,
  ToolVersion,
} from './records.ts';
import type { StoreLifecycle } from './store-lifecycle.ts';

/**
 * Makes the audit entry of a version being added from the version as stored (its number is
 * assigned by the store). Called once inside the transaction of
 * {@link ToolStore.addVersion}, synchronously; when it throws, nothing is written.
 */
export type VersionAuditFactory = (version: ToolVersion) => ToolAuditEntry;

/**
 * Makes the audit entry of a test case being added from the case as stored (its id is assigned
 * by the store), so the entry can name the case, or of a case being removed from the case as it
 * was. Called inside the transaction of {@link ToolStore.addTestCase} /
 * {@link ToolStore.removeTestCase}, synchronously, before it commits (a store that reruns a failed
 * transaction may call it again); when it throws, nothing is written.
 */
export type TestCaseAuditFactory = (testCase: StoredTestCase) => ToolAuditEntry;

/**
 * Result of {@link ToolStore.addTestCase}: the stored case, with the stored audit entry when an
 * `audit` factory was given (and the adapter writes it: one written for the older contract
 * ignores the factory and returns no `audit`).
 */
export interface AddedTestCase extends StoredTestCase {
  /** The audit entry stored in the same transaction as the case. */
  audit?: AuditEntry;
}

/**
 * Result of {@link ToolStore.compareAndSetActive}: swapped (with the stored audit entry
 * when one was given), or not swapped because `actual` is active, or (`pinned: true`) because
 * the tool is pinned and the call asked for `requireUnpinned`.
 */
export type CompareAndSetResult =
  | { swapped: true; audit?: AuditEntry }
  | { swapped: false; actual: number; pinned?: true };

/** Options of {@link ToolStore.addVersion}. */
export interface AddVersionOptions {
  /**
   * Also make the new version the active one, in the same transaction as the version and its
   * audit entry (one entry, from the factory): a host tool's new release is stored and deployed
   * at once. Adapters written before `activate` existed ignore it; the registry sees the version
   * still inactive and activates it with a second write (`compareAndSetActive`).
   * @default false
   */
  activate?: boolean;
}

/** Options of {@link ToolStore.compareAndSetActive}. */
export interface CompareAndSetOptions {
  /**
   * Refuse the swap when the tool is pinned, judged in the same transaction (under the same
   * lock) as the compare itself, so a pin that lands just before the swap is always seen: the
   * result is then `{ swapped: false, actual, pinned: true }` and nothing is written.
   * @default false
   */
  requireUnpinned?: boolean;
}

/**
 * The transactional role of storage: tools, their immutable versions, the active pointer,
 * pins, counters, regression test cases and the audit log.
 *
 * Errors: a missing tool or version is reported by returning `undefined` from readers and by
 * throwing `ToolNotFoundError` / `VersionNotFoundError` from writers; creating a tool that
 * exists throws `ToolExistsError`. The built-in adapters also throw `StorageInputError` for
 * values they cannot store (nothing of the call is written) and `StorageClosedError` after
 * `close()`. All other failures are thrown as they come.
 *
 * One change, one transaction: `createTool`, `addVersion`, `compareAndSetActive`, `setPinned`,
 * `setDisabled`, `addTestCase` and `removeTestCase` take the audit entry (and `createTool` the test cases) that belong to the change and write them in
 * the same transaction as the change itself, all or nothing. A call that throws must leave the
 * store as it was, so the caller can retry it.
 */
export interface ToolStore extends StoreLifecycle {
  // tools and versions
  /**
   * Creates a tool with its version 1 as the active version, its `testCases` and its `audit`
   * entry, in one transaction: when any part fails nothing is written. Throws `ToolExistsError`.
   */
  createTool(tool: NewTool): Promise<CreatedTool>;
  /** The tool, or `undefined`. */
  getTool(name: string): Promise<ToolRecord | undefined>;
  /** Every tool, by name. */
  listTools(): Promise<ToolRecord[]>;
  /**
   * Adds the next version (number assigned by the store, no gaps), appending the audit entry
   * `audit` makes from the stored version in the same transaction: both or neither. With
   * `options.activate` the version also becomes the active one in that transaction (see
   * {@link AddVersionOptions}). Throws `ToolNotFoundError`.
   */
  addVersion(
    toolName: string,
    version: NewToolVersion,
    audit?: VersionAuditFactory,
    options?: AddVersionOptions,
  ): Promise<ToolVersion>;
  /** One version, or `undefined`. */
  getVersion(toolName: string, version: number): Promise<ToolVersion | undefined>;
  /** Every version of a tool, oldest first (empty when the tool does not exist). */
  listVersions(toolName: string): Promise<ToolVersion[]>;
  /** The active version of a tool, or `undefined` when the tool does not exist. */
  getActiveVersion(toolName: string): Promise<ToolVersion | undefined>;
  /**
   * Sets the active version to `next` only if it is currently `expected` (atomic
   * compare-and-swap), appending `audit` in the same transaction when the swap happens (none
   * when it does not). With `options.requireUnpinned` a pinned tool is not swapped
   * (`pinned: true` in the result), judged inside the same transaction. When any part fails
   * nothing is written. Throws `ToolNotFoundError` / `VersionNotFoundError` when the tool or
   * `next` does not exist.
   */
  compareAndSetActive(
    toolName: string,
    expected: number,
    next: number,
    audit?: ToolAuditEntry,
    options?: CompareAndSetOptions,
  ): Promise<CompareAndSetResult>;
  /**
   * Pins or unpins a tool, appending `audit` in the same transaction; resolves with the stored
   * entry (`undefined` without `audit`). When any part fails nothing is written. Throws
   * `ToolNotFoundError`.
   */
  setPinned(toolName: string, pinned: boolean, audit?: ToolAuditEntry): Promise<AuditEntry | undefined>;
  /**
   * Disables or re-enables a tool (a disabled tool's calls are refused; its versions, calls and
   * history are kept), appending `audit` in the same transaction; resolves with the stored entry
   * (`undefined` without `audit`). When any part fails nothing is written. Throws
   * `ToolNotFoundError`. Optional: every built-in adapter has it; the registry refuses to
   * disable tools on a store without it.
   */
  setDisabled?(toolName: string, disabled: boolean, audit?: ToolAuditEntry): Promise<AuditEntry | undefined>;
  /** Adds one to the tool's rewrite counter and sets its last rewrite time. Throws `ToolNotFoundError`. */
  recordRewrite(toolName: string, at: number): Promise<ToolCounters>;

  // regression test cases
  /**
   * Stores a test case, appending the audit entry `audit` makes from the stored case in the
   * same transaction: both or neither (resolves with the case and, under `audit`, the stored
   * entry). When any part fails nothing is written. Throws `ToolNotFoundError`.
   *
   * Adapters written before `audit` existed still satisfy this signature, but an adapter that
   * ignores `audit` breaks the guarantee: its caller then appends the entry in a second write
   * (`agent.feedback` does), and a crash in between leaves a case without its entry.
   */
  addTestCase(toolName: string, testCase: NewTestCase, audit?: TestCaseAuditFactory): Promise<AddedTestCase>;
  /** The tool's test cases, oldest first. */
  listTestCases(toolName: string): Promise<StoredTestCase[]>;
  /**
   * Removes a test case; false when there was none with that id for that tool. When it is
   * removed, appends the audit entry `audit` makes from the removed case in the same
   * transaction: both or neither (none when nothing was removed). When any part fails nothing
   * is written. An adapter that ignores `audit` never calls it: a caller that sees the factory
   * uncalled after a removal appends the entry itself (`sia tests remove` does), in a second
   * write.
   */
  removeTestCase(toolName: string, id: number, audit?: TestCaseAuditFactory): Promise<boolean>;

  // audit log (append-only)
  /** Appends an entry. */
  appendAudit(entry: NewAuditEntry): Promise<AuditEntry>;
  /** Entries matching `query`, oldest first. */
  listAudit(query?: AuditQuery): Promise<AuditEntry[]>;
}
