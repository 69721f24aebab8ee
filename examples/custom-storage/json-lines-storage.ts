/**
 * A user-written storage adapter: everything the library stores, kept in one JSON-lines file.
 *
 * Each change is one line appended to the file (an "operation": `{"op":"tool","name":…}`), and
 * the state in memory is what you get by replaying those lines in order. Opening the file
 * replays it; a torn last line (a crash in the middle of a write) is ignored. Everything a
 * change needs that is not in its arguments (ids, timestamps) is decided before the line is
 * written and stored in it, so a replay rebuilds exactly the same state. A change and its audit
 * entry (and a new tool's test cases) are ONE line, so they are written together or not at all.
 *
 * Fit: a few thousand calls, one process, easy to read and diff. The whole history is held in
 * memory and every read scans it, and the file only grows (pruning appends an operation too);
 * for more, use `sqlJsStorage`, `nodeSqliteStorage` or PostgreSQL.
 */

import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import {
  type AuditEntry,
  type AuditQuery,
  type InvocationQuery,
  type InvocationRecord,
  type NewAuditEntry,
  type NewTestCase,
  type NewToolVersion,
  type StorageAdapter,
  StorageClosedError,
  StorageInputError,
  type StoredInvocation,
  type StoredTestCase,
  ToolExistsError,
  type ToolKind,
  ToolNotFoundError,
  type ToolRecord,
  type ToolVersion,
  VersionNotFoundError,
} from 'self-improving-agent';
import { aggregateInvocations } from 'self-improving-agent/kit';

/** Options of {@link jsonLinesStorage}. */
export interface JsonLinesStorageOptions {
  /** The file; created (with its folder) when missing. */
  path: string;
}

/** An audit entry as a line stores it: id and time decided before writing. */
interface AuditLine {
  id: number;
  entry: NewAuditEntry & { at: number };
}

/** One line of the file. */
type Operation =
  | { op: 'invocations'; firstId: number; records: InvocationRecord[] }
  | { op: 'prune'; ids: number[] }
  | {
      op: 'tool';
      at: number;
      name: string;
      description: string;
      /** Absent on lines written before host tools: a sandboxed tool. */
      kind?: ToolKind;
      firstVersion: NewToolVersion;
      firstCaseId: number;
      cases: NewTestCase[];
      audit?: AuditLine;
    }
  | {
      op: 'version';
      at: number;
      toolName: string;
      version: NewToolVersion;
      /** The version also becomes the active one (`addVersion`'s `activate`). */
      activate?: boolean;
      audit?: AuditLine;
    }
  | { op: 'active'; toolName: string; version: number; audit?: AuditLine }
  | { op: 'pin'; toolName: string; pinned: boolean; audit?: AuditLine }
  | { op: 'disable'; toolName: string; disabled: boolean; audit?: AuditLine }
  | { op: 'rewrite'; toolName: string; at: number }
  | { op: 'case'; id: number; at: number; toolName: string; testCase: NewTestCase; audit?: AuditLine }
  | { op: 'uncase'; id: number; audit?: AuditLine }
  | ({ op: 'audit' } & AuditLine);

interface State {
  invocations: StoredInvocation[];
  nextInvocationId: number;
  tools: Map<string, ToolRecord>;
  versions: Map<string, ToolVersion[]>;
  cases: StoredTestCase[];
  nextCaseId: number;
  audit: AuditEntry[];
  nextAuditId: number;
}

/**
 * A {@link StorageAdapter} over one JSON-lines file.
 * @example
 * const agent = new SelfImprovingAgent({ storage: jsonLinesStorage({ path: '.sia/agent.jsonl' }) });
 */
export function jsonLinesStorage(options: JsonLinesStorageOptions): StorageAdapter {
  const path = resolve(options.path);
  let opening: Promise<{ state: State; file: FileHandle }> | undefined;
  let closed = false;
  // Every operation runs after the previous one finished: lines reach the file in the order
  // they are applied, and a compare-and-swap reads the state no other call is changing.
  let queue: Promise<unknown> = Promise.resolve();

  const openOnce = () => {
    opening ??= (async () => {
      await mkdir(dirname(path), { recursive: true });
      const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return '';
        throw error;
      });
      const state = emptyState();
      const lines = text.split('\n').filter((line) => line.trim() !== '');
      for (const [index, line] of lines.entries()) {
        let operation: Operation;
        try {
          operation = JSON.parse(line) as Operation;
        } catch (error) {
          if (index === lines.length - 1) break; // torn last write: it never happened
          throw new Error(`${path} line ${index + 1} is not JSON; fix or remove it`, { cause: error });
        }
        apply(state, operation);
      }
      return { state, file: await open(path, 'a') };
    })();
    // A failed open is tried again by the next call.
    opening.catch(() => {
      opening = undefined;
    });
    return opening;
  };

  /** Runs `work` in turn, on the open state; `work` appends its operations with `write`. */
  const run = <T>(work: (state: State, write: (operation: Operation) => Promise<void>) => T | Promise<T>) => {
    // Calls made before close() still run; calls made after it are refused.
    if (closed) return Promise.reject(new StorageClosedError('json-lines'));
    const next = queue.then(async () => {
      const { state, file } = await openOnce();
      const write = async (operation: Operation) => {
        // Serialised before anything is written: a value JSON cannot hold changes nothing.
        const line = `${JSON.stringify(operation)}\n`;
        await file.write(line);
        apply(state, operation);
      };
      return work(state, write);
    });
    queue = next.catch(() => undefined);
    return next;
  };

  const toolOf = (state: State, name: string): ToolRecord => {
    const tool = state.tools.get(name);
    if (!tool) throw new ToolNotFoundError(name);
    return tool;
  };

  const select = (state: State, query: InvocationQuery): StoredInvocation[] =>
    state.invocations
      .filter(
        (record) =>
          record.toolName === query.toolName &&
          (query.version === undefined || record.version === query.version) &&
          (query.since === undefined || record.startedAt >= query.since),
      )
      .sort((a, b) => b.startedAt - a.startedAt || b.id - a.id)
      .slice(0, query.limit);

  return {
    name: 'json-lines',

    async ready() {
      await run(() => undefined);
    },

    async flush() {
      await run(async () => (await openOnce()).file.sync());
    },

    async close() {
      const wasClosed = closed;
      closed = true;
      if (wasClosed) return;
      await queue;
      const handle = await opening?.catch(() => undefined);
      if (handle) {
        await handle.file.sync();
        await handle.file.close();
      }
    },

    appendInvocations: (records) =>
      run(async (state, write) => {
        records.forEach(checkInvocation); // all or nothing: check every record before writing one
        if (records.length > 0) {
          await write({ op: 'invocations', firstId: state.nextInvocationId, records: [...records] });
        }
      }),

    recentInvocations: (query) => run((state) => structuredClone(select(state, query))),

    aggregateWindow: (query) => run((state) => aggregateInvocations(select(state, query))),

    pruneInvocations: (policy) =>
      run(async (state, write) => {
        const ids: number[] = [];
        const kept = new Map<string, number>();
        const newestFirst = [...state.invocations].sort((a, b) => b.startedAt - a.startedAt || b.id - a.id);
        for (const record of newestFirst) {
          const key = `${record.toolName}\u0000${record.version}`;
          const rank = (kept.get(key) ?? 0) + 1;
          kept.set(key, rank);
          const tooMany = policy.maxRecordsPerVersion !== undefined && rank > policy.maxRecordsPerVersion;
          const tooOld = policy.olderThan !== undefined && record.startedAt < policy.olderThan;
          if (tooMany || tooOld) ids.push(record.id);
        }
        if (policy.maxRecords !== undefined) {
          // The store-wide bound, over what is left: the first inserted (smallest ids) go.
          const gone = new Set(ids);
          const left = state.invocations.filter((record) => !gone.has(record.id)).sort((a, b) => a.id - b.id);
          for (const record of left.slice(0, Math.max(0, left.length - policy.maxRecords)))
            ids.push(record.id);
        }
        if (ids.length > 0) await write({ op: 'prune', ids });
        return { deleted: ids.length };
      }),

    createTool: (tool) =>
      run(async (state, write) => {
        checkLabel('tool.firstVersion.label', tool.firstVersion.label);
        if (tool.kind !== undefined && tool.kind !== 'sandboxed' && tool.kind !== 'host')
          throw new StorageInputError({
            field: 'tool.kind',
            expected: "'sandboxed' or 'host'",
            value: tool.kind,
          });
        if (state.tools.has(tool.name)) throw new ToolExistsError(tool.name);
        const firstCaseId = state.nextCaseId;
        const cases = [...(tool.testCases ?? [])];
        const audit = auditLine(state, tool.audit && { ...tool.audit, toolName: tool.name });
        await write({
          op: 'tool',
          at: Date.now(),
          name: tool.name,
          description: tool.description,
          ...(tool.kind === undefined ? {} : { kind: tool.kind }),
          firstVersion: tool.firstVersion,
          firstCaseId,
          cases,
          ...(audit ? { audit } : {}),
        });
        return structuredClone({
          tool: toolOf(state, tool.name),
          version: state.versions.get(tool.name)?.[0] as ToolVersion,
          testCases: state.cases.filter((stored) => stored.id >= firstCaseId),
          ...(audit ? { audit: state.audit.at(-1) as AuditEntry } : {}),
        });
      }),

    getTool: (name) => run((state) => structuredClone(state.tools.get(name))),

    listTools: () =>
      run((state) => structuredClone([...state.tools.values()].sort((a, b) => a.name.localeCompare(b.name)))),

    addVersion: (toolName, version, entry, options) =>
      run(async (state, write) => {
        checkLabel('version.label', version.label);
        toolOf(state, toolName);
        const at = Date.now();
        const number = (state.versions.get(toolName)?.length ?? 0) + 1;
        // The version and its entry are one line: both or neither.
        const audit = auditLine(
          state,
          entry && {
            ...entry({ ...structuredClone(version), toolName, version: number, createdAt: at }),
            toolName,
          },
        );
        const activate = options?.activate === true;
        await write({
          op: 'version',
          at,
          toolName,
          version,
          ...(activate ? { activate } : {}),
          ...(audit ? { audit } : {}),
        });
        return structuredClone(state.versions.get(toolName)?.at(-1) as ToolVersion);
      }),

    getVersion: (toolName, version) =>
      run((state) => structuredClone(state.versions.get(toolName)?.[version - 1])),

    listVersions: (toolName) => run((state) => structuredClone(state.versions.get(toolName) ?? [])),

    getActiveVersion: (toolName) =>
      run((state) => {
        const tool = state.tools.get(toolName);
        return tool && structuredClone(state.versions.get(toolName)?.[tool.activeVersion - 1]);
      }),

    compareAndSetActive: (toolName, expected, next, entry, options) =>
      run(async (state, write) => {
        const tool = toolOf(state, toolName);
        if (!state.versions.get(toolName)?.[next - 1]) throw new VersionNotFoundError(toolName, next);
        if (options?.requireUnpinned === true && tool.pinned)
          return { swapped: false as const, actual: tool.activeVersion, pinned: true as const };
        if (tool.activeVersion !== expected) return { swapped: false as const, actual: tool.activeVersion };
        const audit = auditLine(state, entry && { ...entry, toolName });
        await write({ op: 'active', toolName, version: next, ...(audit ? { audit } : {}) });
        return audit
          ? { swapped: true as const, audit: structuredClone(state.audit.at(-1) as AuditEntry) }
          : { swapped: true as const };
      }),

    setPinned: (toolName, pinned, entry) =>
      run(async (state, write) => {
        toolOf(state, toolName);
        const audit = auditLine(state, entry && { ...entry, toolName });
        await write({ op: 'pin', toolName, pinned, ...(audit ? { audit } : {}) });
        return audit ? structuredClone(state.audit.at(-1) as AuditEntry) : undefined;
      }),

    setDisabled: (toolName, disabled, entry) =>
      run(async (state, write) => {
        toolOf(state, toolName);
        const audit = auditLine(state, entry && { ...entry, toolName });
        await write({ op: 'disable', toolName, disabled, ...(audit ? { audit } : {}) });
        return audit ? structuredClone(state.audit.at(-1) as AuditEntry) : undefined;
      }),

    recordRewrite: (toolName, at) =>
      run(async (state, write) => {
        toolOf(state, toolName);
        await write({ op: 'rewrite', toolName, at });
        return { ...toolOf(state, toolName).counters };
      }),

    addTestCase: (toolName, testCase, entry) =>
      run(async (state, write) => {
        toolOf(state, toolName);
        const id = state.nextCaseId;
        const at = Date.now();
        // The case and its entry are one line: both or neither.
        const audit = auditLine(
          state,
          entry && {
            ...entry({
              ...structuredClone(testCase),
              id,
              toolName,
              createdAt: at,
              heldOut: testCase.heldOut ?? false,
            }),
            toolName,
          },
        );
        await write({ op: 'case', id, at, toolName, testCase, ...(audit ? { audit } : {}) });
        const stored = structuredClone(state.cases.find((added) => added.id === id) as StoredTestCase);
        return audit ? { ...stored, audit: structuredClone(state.audit.at(-1) as AuditEntry) } : stored;
      }),

    listTestCases: (toolName) =>
      run((state) => structuredClone(state.cases.filter((testCase) => testCase.toolName === toolName))),

    removeTestCase: (toolName, id, entry) =>
      run(async (state, write) => {
        const removed = state.cases.find((testCase) => testCase.id === id && testCase.toolName === toolName);
        if (!removed) return false;
        // The removal and its entry are one line: both or neither.
        const audit = auditLine(state, entry && { ...entry(structuredClone(removed)), toolName });
        await write({ op: 'uncase', id, ...(audit ? { audit } : {}) });
        return true;
      }),

    appendAudit: (entry) =>
      run(async (state, write) => {
        await write({ op: 'audit', ...(auditLine(state, entry) as AuditLine) });
        return structuredClone(state.audit.at(-1) as AuditEntry);
      }),

    listAudit: (query: AuditQuery = {}) =>
      run((state) =>
        structuredClone(
          state.audit
            .filter(
              (entry) =>
                (query.toolName === undefined || entry.toolName === query.toolName) &&
                (query.type === undefined || entry.type === query.type) &&
                (query.since === undefined || entry.at >= query.since) &&
                (query.afterId === undefined || entry.id > query.afterId),
            )
            .slice(0, query.limit),
        ),
      ),
  };
}

/** The audit part of a line: the next id and the time, decided now. */
function auditLine(state: State, entry: NewAuditEntry | undefined): AuditLine | undefined {
  return entry && { id: state.nextAuditId, entry: { ...entry, at: entry.at ?? Date.now() } };
}

function addAudit(state: State, line: AuditLine | undefined): void {
  if (!line) return;
  state.audit.push({ ...line.entry, id: line.id, evidence: line.entry.evidence ?? null });
  state.nextAuditId = line.id + 1;
}

function addCase(state: State, id: number, at: number, toolName: string, testCase: NewTestCase): void {
  state.cases.push({ ...testCase, id, toolName, createdAt: at, heldOut: testCase.heldOut ?? false });
  state.nextCaseId = id + 1;
}

function emptyState(): State {
  return {
    invocations: [],
    nextInvocationId: 1,
    tools: new Map(),
    versions: new Map(),
    cases: [],
    nextCaseId: 1,
    audit: [],
    nextAuditId: 1,
  };
}

/** Applies one operation; the only place the state changes, both when writing and when replaying. */
function apply(state: State, operation: Operation): void {
  switch (operation.op) {
    case 'invocations':
      operation.records.forEach((record, index) => {
        state.invocations.push({ ...record, id: operation.firstId + index });
      });
      state.nextInvocationId = operation.firstId + operation.records.length;
      break;
    case 'prune': {
      const ids = new Set(operation.ids);
      state.invocations = state.invocations.filter((record) => !ids.has(record.id));
      break;
    }
    case 'tool':
      state.tools.set(operation.name, {
        name: operation.name,
        description: operation.description,
        createdAt: operation.at,
        activeVersion: 1,
        pinned: false,
        counters: { rewrites: 0, lastRewriteAt: null },
        kind: operation.kind ?? 'sandboxed',
        disabled: false,
      });
      state.versions.set(operation.name, [
        { ...operation.firstVersion, toolName: operation.name, version: 1, createdAt: operation.at },
      ]);
      // Lines written before cases and audit entries joined the tool line have neither.
      (operation.cases ?? []).forEach((testCase, index) => {
        addCase(state, operation.firstCaseId + index, operation.at, operation.name, testCase);
      });
      addAudit(state, operation.audit);
      break;
    case 'version': {
      const versions = state.versions.get(operation.toolName) ?? [];
      versions.push({
        ...operation.version,
        toolName: operation.toolName,
        version: versions.length + 1,
        createdAt: operation.at,
      });
      if (operation.activate === true)
        (state.tools.get(operation.toolName) as ToolRecord).activeVersion = versions.length;
      addAudit(state, operation.audit);
      break;
    }
    case 'active':
      (state.tools.get(operation.toolName) as ToolRecord).activeVersion = operation.version;
      addAudit(state, operation.audit);
      break;
    case 'pin':
      (state.tools.get(operation.toolName) as ToolRecord).pinned = operation.pinned;
      addAudit(state, operation.audit);
      break;
    case 'disable':
      (state.tools.get(operation.toolName) as ToolRecord).disabled = operation.disabled;
      addAudit(state, operation.audit);
      break;
    case 'rewrite': {
      const counters = (state.tools.get(operation.toolName) as ToolRecord).counters;
      counters.rewrites += 1;
      counters.lastRewriteAt = operation.at;
      break;
    }
    case 'case':
      addCase(state, operation.id, operation.at, operation.toolName, operation.testCase);
      addAudit(state, operation.audit);
      break;
    case 'uncase':
      state.cases = state.cases.filter((testCase) => testCase.id !== operation.id);
      addAudit(state, operation.audit);
      break;
    case 'audit':
      addAudit(state, operation);
      break;
  }
}

/** Refuses a record that could not be read back the way it was given. */
function checkInvocation(record: InvocationRecord, index: number): void {
  const field = (name: string) => `records[${index}].${name}`;
  if (typeof record?.toolName !== 'string' || record.toolName === '') {
    throw new StorageInputError({
      field: field('toolName'),
      expected: 'a non-empty string',
      value: record?.toolName,
    });
  }
  if (!Number.isInteger(record.version) || record.version < 1) {
    throw new StorageInputError({
      field: field('version'),
      expected: 'a positive integer',
      value: record.version,
    });
  }
  for (const name of ['startedAt', 'latencyMs'] as const) {
    if (!Number.isFinite(record[name]))
      throw new StorageInputError({ field: field(name), expected: 'a finite number', value: record[name] });
  }
  if (typeof record.success !== 'boolean') {
    throw new StorageInputError({ field: field('success'), expected: 'a boolean', value: record.success });
  }
  if (typeof record.inputHash !== 'string') {
    throw new StorageInputError({ field: field('inputHash'), expected: 'a string', value: record.inputHash });
  }
}

/** A version label: 1 to 128 characters without control characters, or none. */
function checkLabel(field: string, label: unknown): void {
  if (label === undefined) return;
  if (typeof label !== 'string' || label.length === 0 || label.length > 128 || /\p{Cc}/u.test(label))
    throw new StorageInputError({
      field,
      expected: 'a label of 1 to 128 characters without control characters',
      value: label,
    });
}
