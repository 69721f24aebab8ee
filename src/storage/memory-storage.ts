import { partitionPoint } from '../core/partition-point.ts';
import { aggregateInvocations } from './aggregate-invocations.ts';
import type { ActiveVersionChange } from './coordination.ts';
import { addCall, emptyAggregate, historyRange, mergeHistory, type SourceBucket } from './history-buckets.ts';
import { memoryRollups } from './memory-rollups.ts';
import type {
  AuditEntry,
  InvocationQuery,
  InvocationRecord,
  JsonObject,
  NewAuditEntry,
  NewTestCase,
  NewToolVersion,
  StoredInvocation,
  StoredTestCase,
  ToolKind,
  ToolRecord,
  ToolVersion,
} from './records.ts';
import { bucketStart, MINUTE_MS, rollupCutoffs } from './rollup-tiers.ts';
import type { StorageAdapter } from './storage-adapter.ts';
import {
  StorageClosedError,
  StorageInputError,
  ToolExistsError,
  ToolNotFoundError,
  VersionNotFoundError,
} from './storage-errors.ts';
import {
  checkAuditQuery,
  checkBoolean,
  checkFinite,
  checkHistoryQuery,
  checkInteger,
  checkInvocationQuery,
  checkInvocations,
  checkName,
  checkNewAuditEntry,
  checkNewTestCase,
  checkNewTool,
  checkNewVersion,
  checkRetention,
  cloneJson,
  copyCapabilities,
} from './storage-input.ts';

interface ToolState {
  readonly name: string;
  readonly description: string;
  readonly createdAt: number;
  readonly kind: ToolKind;
  activeVersion: number;
  pinned: boolean;
  disabled: boolean;
  rewrites: number;
  lastRewriteAt: number | null;
  readonly versions: ToolVersion[];
}

/** Invocations of one tool, each list sorted by (startedAt, id) ascending. */
interface ToolInvocations {
  all: StoredInvocation[];
  readonly byVersion: Map<number, StoredInvocation[]>;
}

/**
 * A {@link StorageAdapter} that keeps everything in this process's memory: zero dependencies,
 * nothing survives the process. The default storage, and the one to use in tests.
 *
 * It behaves like the file stores: JSON values are copied through JSON on the way in and out
 * (so later mutations of the caller's objects do not leak in), ids increase and are never
 * reused, and the most recent N invocations are read in O(N) from per-version lists kept
 * sorted by start time.
 *
 * It implements the optional coordination capabilities for this process: leases (by this
 * process's clock) and `watchActive`, whose listeners run right after the change, before the
 * writing call resolves. Pruned invocations are kept as rollups, read with `invocationHistory`.
 *
 * @example
 * ```ts
 * const storage = memoryStorage();
 * await storage.createTool({ name: 'add', description: 'Adds two numbers', firstVersion });
 * await storage.appendInvocations([{ toolName: 'add', version: 1, startedAt: Date.now(),
 *   latencyMs: 2, success: true, inputHash: 'ab12' }]);
 * await storage.aggregateWindow({ toolName: 'add', version: 1, limit: 20 });
 * ```
 */
export function memoryStorage(): StorageAdapter {
  const tools = new Map<string, ToolState>();
  const invocations = new Map<string, ToolInvocations>();
  /** Every stored invocation in id (insertion) order, for the store-wide bound. */
  let inserted: StoredInvocation[] = [];
  const rollups = memoryRollups();
  const testCases = new Map<string, StoredTestCase[]>();
  const audit: AuditEntry[] = [];
  let nextInvocationId = 1;
  let nextTestCaseId = 1;
  let nextAuditId = 1;
  let closed = false;
  const leases = new Map<string, { holder: string; expiresAt: number }>();
  const watchers = new Set<(change: ActiveVersionChange) => void>();

  const assertOpen = () => {
    if (closed) throw new StorageClosedError('memory');
  };
  const requireTool = (name: string): ToolState => {
    const tool = tools.get(name);
    if (!tool) throw new ToolNotFoundError(name);
    return tool;
  };
  const toolRecord = (tool: ToolState): ToolRecord => ({
    name: tool.name,
    description: tool.description,
    createdAt: tool.createdAt,
    activeVersion: tool.activeVersion,
    pinned: tool.pinned,
    counters: { rewrites: tool.rewrites, lastRewriteAt: tool.lastRewriteAt },
    kind: tool.kind,
    disabled: tool.disabled,
  });
  const storeVersion = (
    tool: ToolState,
    field: string,
    version: NewToolVersion,
    createdAt: number,
  ): ToolVersion => {
    const stored: ToolVersion = {
      toolName: tool.name,
      version: tool.versions.length + 1,
      source: version.source,
      inputSchema: cloneJson<JsonObject>(`${field}.inputSchema`, version.inputSchema),
      capabilities: copyCapabilities(version.capabilities),
      parentVersion: version.parentVersion,
      reason: version.reason,
      author: version.author,
      createdAt,
    };
    if (version.outputSchema !== undefined)
      stored.outputSchema = cloneJson<JsonObject>(`${field}.outputSchema`, version.outputSchema);
    if (version.label !== undefined) stored.label = version.label;
    tool.versions.push(stored);
    return stored;
  };
  const copyVersion = (version: ToolVersion): ToolVersion => ({
    ...version,
    inputSchema: cloneJson<JsonObject>('inputSchema', version.inputSchema),
    ...(version.outputSchema === undefined
      ? {}
      : { outputSchema: cloneJson<JsonObject>('outputSchema', version.outputSchema) }),
    capabilities: copyCapabilities(version.capabilities),
  });
  const copyInvocation = (record: StoredInvocation): StoredInvocation => {
    const copy = { ...record };
    if (record.input !== undefined) copy.input = cloneJson('input', record.input);
    if (record.output !== undefined) copy.output = cloneJson('output', record.output);
    return copy;
  };
  // Every write first checks and copies everything it will store (which is where a memory write
  // can fail), then changes state without any step that can throw: all or nothing.
  const prepareAudit = (entry: NewAuditEntry): Omit<AuditEntry, 'id'> => {
    checkNewAuditEntry(entry);
    const stored: Omit<AuditEntry, 'id'> = {
      type: entry.type,
      actor: entry.actor,
      reason: entry.reason,
      evidence: entry.evidence === undefined ? null : cloneJson('entry.evidence', entry.evidence),
      at: entry.at ?? Date.now(),
    };
    if (entry.toolName !== undefined) stored.toolName = entry.toolName;
    if (entry.fromVersion !== undefined) stored.fromVersion = entry.fromVersion;
    if (entry.toVersion !== undefined) stored.toVersion = entry.toVersion;
    return stored;
  };
  const commitAudit = (prepared: Omit<AuditEntry, 'id'>): AuditEntry => {
    const stored: AuditEntry = { id: nextAuditId, ...prepared };
    nextAuditId += 1;
    audit.push(stored);
    return copyAudit(stored);
  };
  const prepareTestCase = (toolName: string, testCase: NewTestCase): Omit<StoredTestCase, 'id'> => {
    checkNewTestCase(testCase);
    const stored: Omit<StoredTestCase, 'id'> = {
      toolName,
      input: cloneJson('testCase.input', testCase.input),
      expect: cloneJson('testCase.expect', testCase.expect),
      description: testCase.description,
      origin: testCase.origin,
      heldOut: testCase.heldOut === true,
      createdAt: Date.now(),
    };
    if (testCase.inputHash !== undefined) stored.inputHash = testCase.inputHash;
    if (testCase.maxLatencyMs !== undefined) stored.maxLatencyMs = testCase.maxLatencyMs;
    return stored;
  };
  const commitTestCase = (prepared: Omit<StoredTestCase, 'id'>): StoredTestCase => {
    const stored: StoredTestCase = { id: nextTestCaseId, ...prepared };
    nextTestCaseId += 1;
    let list = testCases.get(stored.toolName);
    if (!list) {
      list = [];
      testCases.set(stored.toolName, list);
    }
    list.push(stored);
    return copyTestCase(stored);
  };
  /** Tells every watcher, after the change is in place; a throwing watcher does not stop the others. */
  const notifyActive = (toolName: string, activeVersion: number) => {
    for (const listener of [...watchers]) {
      try {
        listener({ toolName, activeVersion });
      } catch {
        // A faulty listener must not undo or fail the write that already happened.
      }
    }
  };
  /** The newest `limit` matching invocations, newest first, walking back from the end. */
  const window = (query: InvocationQuery): StoredInvocation[] => {
    const ofTool = invocations.get(query.toolName);
    const list = query.version === undefined ? ofTool?.all : ofTool?.byVersion.get(query.version);
    const result: StoredInvocation[] = [];
    if (!list) return result;
    const since = query.since ?? Number.NEGATIVE_INFINITY;
    for (let index = list.length - 1; index >= 0 && result.length < query.limit; index -= 1) {
      const record = list[index] as StoredInvocation;
      if (record.startedAt < since) break;
      result.push(record);
    }
    return result;
  };

  return {
    name: 'memory',

    async ready() {
      assertOpen();
    },

    async flush() {
      assertOpen();
    },

    async close() {
      closed = true;
      watchers.clear();
    },

    async appendInvocations(records) {
      assertOpen();
      // Check and copy the whole batch before inserting anything: all or none.
      checkInvocations(records);
      const stored = records.map((record, index) =>
        storedInvocation(record, index, nextInvocationId + index),
      );
      nextInvocationId += stored.length;
      inserted.push(...stored);
      for (const record of stored) {
        let ofTool = invocations.get(record.toolName);
        if (!ofTool) {
          ofTool = { all: [], byVersion: new Map() };
          invocations.set(record.toolName, ofTool);
        }
        let ofVersion = ofTool.byVersion.get(record.version);
        if (!ofVersion) {
          ofVersion = [];
          ofTool.byVersion.set(record.version, ofVersion);
        }
        insertSorted(ofTool.all, record);
        insertSorted(ofVersion, record);
      }
    },

    async recentInvocations(query) {
      assertOpen();
      checkInvocationQuery(query);
      return window(query).map(copyInvocation);
    },

    async aggregateWindow(query) {
      assertOpen();
      checkInvocationQuery(query);
      return aggregateInvocations(window(query));
    },

    async pruneInvocations(policy) {
      assertOpen();
      checkRetention(policy);
      const { maxRecordsPerVersion, maxRecords, olderThan } = policy;
      const cutoffs = rollupCutoffs(policy.now ?? Date.now());
      // Nothing below can throw: the rows leave and their rollups arrive together.
      const removed = new Set<number>();
      const removedRecords: StoredInvocation[] = [];
      for (const ofTool of invocations.values()) {
        for (const list of ofTool.byVersion.values()) {
          let cut = olderThan === undefined ? 0 : firstAtOrAfter(list, olderThan);
          if (maxRecordsPerVersion !== undefined) cut = Math.max(cut, list.length - maxRecordsPerVersion);
          for (let index = 0; index < cut; index += 1) {
            const record = list[index] as StoredInvocation;
            removed.add(record.id);
            removedRecords.push(record);
          }
        }
      }
      if (maxRecords !== undefined) {
        // `inserted` is in id order: the first live rows beyond the bound are the oldest inserts.
        let excess = inserted.length - removed.size - maxRecords;
        for (let index = 0; excess > 0 && index < inserted.length; index += 1) {
          const record = inserted[index] as StoredInvocation;
          if (removed.has(record.id)) continue;
          removed.add(record.id);
          removedRecords.push(record);
          excess -= 1;
        }
      }
      if (removed.size > 0) {
        const kept = (record: StoredInvocation) => !removed.has(record.id);
        inserted = inserted.filter(kept);
        // Only the tools that lost rows are filtered again.
        for (const toolName of new Set(removedRecords.map((record) => record.toolName))) {
          const ofTool = invocations.get(toolName);
          if (ofTool === undefined) continue;
          ofTool.all = ofTool.all.filter(kept);
          for (const [version, list] of ofTool.byVersion) {
            const left = list.filter(kept);
            if (left.length === 0) ofTool.byVersion.delete(version);
            else ofTool.byVersion.set(version, left);
          }
          if (ofTool.all.length === 0) invocations.delete(toolName);
        }
        rollups.fold(removedRecords, cutoffs);
      }
      rollups.coarsen(cutoffs);
      return { deleted: removed.size };
    },

    async invocationHistory(query) {
      assertOpen();
      checkHistoryQuery(query);
      const range = historyRange(query);
      const sources = rollups.sources(query.toolName, query.version, range);
      const ofTool = invocations.get(query.toolName);
      const list = query.version === undefined ? ofTool?.all : ofTool?.byVersion.get(query.version);
      if (list) {
        // Stored rows, per (version, minute); the list is sorted by start, so the range is a slice.
        const minutes = new Map<string, SourceBucket>();
        const end = firstAtOrAfter(list, range.to);
        for (let index = firstAtOrAfter(list, range.from); index < end; index += 1) {
          const record = list[index] as StoredInvocation;
          const start = bucketStart(record.startedAt, MINUTE_MS);
          const key = `${record.version}/${start}`;
          let bucket = minutes.get(key);
          if (!bucket) {
            bucket = {
              version: record.version,
              start,
              widthMs: MINUTE_MS,
              rolledUp: false,
              ...emptyAggregate(),
            };
            minutes.set(key, bucket);
          }
          addCall(bucket, record);
        }
        sources.push(...minutes.values());
      }
      return mergeHistory(sources, range.bucketMs);
    },

    async createTool(tool) {
      assertOpen();
      checkNewTool(tool);
      if (tools.has(tool.name)) throw new ToolExistsError(tool.name);
      const cases = (tool.testCases ?? []).map((testCase) => prepareTestCase(tool.name, testCase));
      const entry =
        tool.audit === undefined ? undefined : prepareAudit({ ...tool.audit, toolName: tool.name });
      const createdAt = Date.now();
      const state: ToolState = {
        name: tool.name,
        description: tool.description,
        createdAt,
        kind: tool.kind ?? 'sandboxed',
        activeVersion: 1,
        pinned: false,
        disabled: false,
        rewrites: 0,
        lastRewriteAt: null,
        versions: [],
      };
      const version = storeVersion(state, 'tool.firstVersion', tool.firstVersion, createdAt);
      tools.set(tool.name, state);
      const storedCases = cases.map(commitTestCase);
      const storedAudit = entry === undefined ? undefined : commitAudit(entry);
      notifyActive(tool.name, 1);
      return {
        tool: toolRecord(state),
        version: copyVersion(version),
        testCases: storedCases,
        ...(storedAudit === undefined ? {} : { audit: storedAudit }),
      };
    },

    async getTool(name) {
      assertOpen();
      const tool = tools.get(name);
      return tool ? toolRecord(tool) : undefined;
    },

    async listTools() {
      assertOpen();
      return [...tools.values()]
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .map(toolRecord);
    },

    async addVersion(toolName, version, entry, options) {
      assertOpen();
      checkNewVersion('version', version);
      const activate = options?.activate === true;
      const tool = requireTool(toolName);
      const stored = storeVersion(tool, 'version', version, Date.now());
      let prepared: Omit<AuditEntry, 'id'> | undefined;
      try {
        prepared =
          entry === undefined ? undefined : prepareAudit({ ...entry(copyVersion(stored)), toolName });
      } catch (error) {
        // Nothing ran in between (no await): taking the version back leaves the store as it was.
        tool.versions.pop();
        throw error;
      }
      if (prepared !== undefined) commitAudit(prepared);
      if (activate) {
        tool.activeVersion = stored.version;
        notifyActive(toolName, stored.version);
      }
      return copyVersion(stored);
    },

    async getVersion(toolName, version) {
      assertOpen();
      const stored = tools.get(toolName)?.versions[version - 1];
      return stored ? copyVersion(stored) : undefined;
    },

    async listVersions(toolName) {
      assertOpen();
      return (tools.get(toolName)?.versions ?? []).map(copyVersion);
    },

    async getActiveVersion(toolName) {
      assertOpen();
      const tool = tools.get(toolName);
      const active = tool?.versions[tool.activeVersion - 1];
      return active ? copyVersion(active) : undefined;
    },

    async compareAndSetActive(toolName, expected, next, entry, options) {
      assertOpen();
      checkInteger('expected', expected, 1);
      checkInteger('next', next, 1);
      const prepared = entry === undefined ? undefined : prepareAudit({ ...entry, toolName });
      const tool = requireTool(toolName);
      if (next > tool.versions.length) throw new VersionNotFoundError(toolName, next);
      if (options?.requireUnpinned === true && tool.pinned)
        return { swapped: false, actual: tool.activeVersion, pinned: true };
      if (tool.activeVersion !== expected) return { swapped: false, actual: tool.activeVersion };
      tool.activeVersion = next;
      const stored = prepared === undefined ? undefined : commitAudit(prepared);
      notifyActive(toolName, next);
      return stored === undefined ? { swapped: true } : { swapped: true, audit: stored };
    },

    async setPinned(toolName, pinned, entry) {
      assertOpen();
      checkBoolean('pinned', pinned);
      const prepared = entry === undefined ? undefined : prepareAudit({ ...entry, toolName });
      requireTool(toolName).pinned = pinned;
      return prepared === undefined ? undefined : commitAudit(prepared);
    },

    async setDisabled(toolName, disabled, entry) {
      assertOpen();
      checkBoolean('disabled', disabled);
      const prepared = entry === undefined ? undefined : prepareAudit({ ...entry, toolName });
      requireTool(toolName).disabled = disabled;
      return prepared === undefined ? undefined : commitAudit(prepared);
    },

    async recordRewrite(toolName, at) {
      assertOpen();
      checkFinite('at', at);
      const tool = requireTool(toolName);
      tool.rewrites += 1;
      tool.lastRewriteAt = at;
      return { rewrites: tool.rewrites, lastRewriteAt: tool.lastRewriteAt };
    },

    async addTestCase(toolName, testCase, entry) {
      assertOpen();
      const prepared = prepareTestCase(toolName, testCase);
      requireTool(toolName);
      if (entry === undefined) return commitTestCase(prepared);
      // The entry is made from the case as it will be stored, and checked, before either is
      // committed: when the factory or the entry fails, nothing was written.
      const preparedAudit = prepareAudit({
        ...entry(copyTestCase({ id: nextTestCaseId, ...prepared })),
        toolName,
      });
      const stored = commitTestCase(prepared);
      return { ...stored, audit: commitAudit(preparedAudit) };
    },

    async listTestCases(toolName) {
      assertOpen();
      return (testCases.get(toolName) ?? []).map(copyTestCase);
    },

    async removeTestCase(toolName, id, entry) {
      assertOpen();
      const list = testCases.get(toolName);
      const index = list?.findIndex((testCase) => testCase.id === id) ?? -1;
      if (!list || index < 0) return false;
      // Made and checked before anything changes: when it fails, the case stays.
      const prepared =
        entry === undefined
          ? undefined
          : prepareAudit({ ...entry(copyTestCase(list[index] as StoredTestCase)), toolName });
      list.splice(index, 1);
      if (prepared !== undefined) commitAudit(prepared);
      return true;
    },

    async appendAudit(entry) {
      assertOpen();
      return commitAudit(prepareAudit(entry));
    },

    async listAudit(query = {}) {
      assertOpen();
      checkAuditQuery(query);
      const result: AuditEntry[] = [];
      const limit = query.limit ?? Number.POSITIVE_INFINITY;
      for (const entry of audit) {
        if (result.length >= limit) break;
        if (query.afterId !== undefined && entry.id <= query.afterId) continue;
        if (query.toolName !== undefined && entry.toolName !== query.toolName) continue;
        if (query.type !== undefined && entry.type !== query.type) continue;
        if (query.since !== undefined && entry.at < query.since) continue;
        result.push(copyAudit(entry));
      }
      return result;
    },

    async acquireLease(key, holder, ttlMs) {
      assertOpen();
      checkName('key', key);
      checkName('holder', holder);
      checkInteger('ttlMs', ttlMs, 1);
      const now = Date.now();
      const lease = leases.get(key);
      if (lease && lease.holder !== holder && lease.expiresAt > now) return false;
      leases.set(key, { holder, expiresAt: now + ttlMs });
      return true;
    },

    async releaseLease(key, holder) {
      assertOpen();
      checkName('key', key);
      checkName('holder', holder);
      if (leases.get(key)?.holder === holder) leases.delete(key);
    },

    watchActive(listener) {
      assertOpen();
      if (typeof listener !== 'function')
        throw new StorageInputError({ field: 'listener', expected: 'a function', value: listener });
      // A wrapper per subscription, so subscribing the same function twice needs two unsubscribes.
      const subscription = (change: ActiveVersionChange) => listener(change);
      watchers.add(subscription);
      // First the current state, read after watchActive returned (so nothing between reading the
      // tools and subscribing is missed, and a change made in between arrives before it, not after).
      queueMicrotask(() => {
        for (const tool of [...tools.values()]) {
          if (!watchers.has(subscription)) return;
          try {
            subscription({ toolName: tool.name, activeVersion: tool.activeVersion });
          } catch {
            // As in notifyActive.
          }
        }
      });
      return () => {
        watchers.delete(subscription);
      };
    },
  };
}

function storedInvocation(record: InvocationRecord, index: number, id: number): StoredInvocation {
  const stored: StoredInvocation = {
    id,
    toolName: record.toolName,
    version: record.version,
    startedAt: record.startedAt,
    latencyMs: record.latencyMs,
    success: record.success,
    inputHash: record.inputHash,
  };
  if (record.errorCode !== undefined) stored.errorCode = record.errorCode;
  if (record.errorMessage !== undefined) stored.errorMessage = record.errorMessage;
  if (record.outputHash !== undefined) stored.outputHash = record.outputHash;
  if (record.input !== undefined) stored.input = cloneJson(`records[${index}].input`, record.input);
  if (record.output !== undefined) stored.output = cloneJson(`records[${index}].output`, record.output);
  return stored;
}

/** Inserts keeping (startedAt, id) ascending; `record` has the largest id so far. */
function insertSorted(list: StoredInvocation[], record: StoredInvocation): void {
  const last = list[list.length - 1];
  if (last === undefined || last.startedAt <= record.startedAt) {
    list.push(record);
    return;
  }
  // Out-of-order start time: after every record that started at or before it.
  const at = partitionPoint(
    list.length,
    (index) => (list[index] as StoredInvocation).startedAt <= record.startedAt,
  );
  list.splice(at, 0, record);
}

/** Index of the first record with startedAt ≥ time in a list sorted by startedAt. */
function firstAtOrAfter(list: readonly StoredInvocation[], time: number): number {
  return partitionPoint(list.length, (index) => (list[index] as StoredInvocation).startedAt < time);
}

function copyTestCase(testCase: StoredTestCase): StoredTestCase {
  return {
    ...testCase,
    input: cloneJson('input', testCase.input),
    expect: cloneJson('expect', testCase.expect),
  };
}

function copyAudit(entry: AuditEntry): AuditEntry {
  return { ...entry, evidence: cloneJson('evidence', entry.evidence) };
}
