import type { AggregatableInvocation } from './aggregate-invocations.ts';
import type {
  AuditEntry,
  JsonObject,
  JsonValue,
  NewAuditEntry,
  NewTestCase,
  NewToolVersion,
  StoredInvocation,
  StoredTestCase,
  ToolAuditEntry,
  ToolCapabilities,
  ToolRecord,
  ToolVersion,
  VersionAuthor,
} from './records.ts';
import { checkNewAuditEntry, copyCapabilities, toJsonText } from './storage-input.ts';

/**
 * A row of the shared schema as a SQL driver returns it, by column name. The SQL adapters use
 * the same columns; only two driver habits differ, and the mappers below absorb both:
 * booleans (`pg`: `true`/`false`; SQLite: `1`/`0`) and bigint ids (`pg`: strings; SQLite: numbers).
 */
export type StoredRow = Readonly<Record<string, unknown>>;

/** The columns of a tools row, in the order {@link toToolRecord} reads them. */
export const toolColumns =
  'name, description, created_at, active_version, pinned, rewrites, last_rewrite_at, kind, disabled';
/** The columns of a tool_versions row, in the order of {@link toVersionRow}'s values. */
export const versionColumns =
  'tool_name, version, source, input_schema, capabilities, parent_version, reason, author, created_at, output_schema, label';
/** The columns of a test_cases row. */
export const testCaseColumns =
  'id, tool_name, input, expect, description, origin, input_hash, max_latency_ms, held_out, created_at';
/** The columns of an audit row. */
export const auditColumns = 'id, type, tool_name, actor, reason, from_version, to_version, evidence, at';

/** A new version as it is stored: the {@link ToolVersion} to return, and its row values. */
export interface VersionRow {
  readonly version: ToolVersion;
  /** The tool_versions values, in {@link versionColumns} order. */
  readonly values: [
    string,
    number,
    string,
    string,
    string,
    number | null,
    string,
    string,
    number,
    string | null,
    string | null,
  ];
}

/**
 * Version `number` of `toolName` as it is stored. Throws `StorageInputError` naming
 * `<field>.inputSchema` (or `.outputSchema`) when a schema is not JSON, before anything is written.
 */
export function toVersionRow(
  toolName: string,
  field: string,
  version: NewToolVersion,
  number: number,
  createdAt: number,
): VersionRow {
  const inputSchema = toJsonText(`${field}.inputSchema`, version.inputSchema);
  const outputSchema =
    version.outputSchema === undefined ? null : toJsonText(`${field}.outputSchema`, version.outputSchema);
  const stored: ToolVersion = {
    toolName,
    version: number,
    source: version.source,
    inputSchema: JSON.parse(inputSchema) as JsonObject,
    capabilities: copyCapabilities(version.capabilities),
    parentVersion: version.parentVersion,
    reason: version.reason,
    author: version.author,
    createdAt,
  };
  if (outputSchema !== null) stored.outputSchema = JSON.parse(outputSchema) as JsonObject;
  if (version.label !== undefined) stored.label = version.label;
  return {
    version: stored,
    values: [
      toolName,
      number,
      stored.source,
      inputSchema,
      JSON.stringify(stored.capabilities),
      stored.parentVersion,
      stored.reason,
      stored.author,
      createdAt,
      outputSchema,
      version.label ?? null,
    ],
  };
}

/** A boolean column, whichever way the driver returns it. */
function flag(value: unknown): boolean {
  return value === true || value === 1;
}

/** A bigint identity column (`pg` returns bigints as strings so as not to lose precision). */
function rowId(value: unknown): number {
  return Number(value);
}

/** An invocations row (all columns) as a {@link StoredInvocation}; NULL columns are left out. */
export function toInvocation(row: StoredRow): StoredInvocation {
  const record: StoredInvocation = {
    id: rowId(row.id),
    toolName: row.tool_name as string,
    version: row.version as number,
    startedAt: row.started_at as number,
    latencyMs: row.latency_ms as number,
    success: flag(row.success),
    inputHash: row.input_hash as string,
  };
  if (row.error_code !== null) record.errorCode = row.error_code as string;
  if (row.error_message !== null) record.errorMessage = row.error_message as string;
  if (row.output_hash !== null) record.outputHash = row.output_hash as string;
  if (row.input !== null) record.input = JSON.parse(row.input as string) as JsonValue;
  if (row.output !== null) record.output = JSON.parse(row.output as string) as JsonValue;
  return record;
}

/** The window columns of an invocations row, for `aggregateInvocations`. */
export function toAggregatable(row: StoredRow): AggregatableInvocation {
  const record: AggregatableInvocation = {
    startedAt: row.started_at as number,
    latencyMs: row.latency_ms as number,
    success: flag(row.success),
  };
  if (row.error_code !== null) record.errorCode = row.error_code as string;
  if (row.error_message !== null) record.errorMessage = row.error_message as string;
  return record;
}

/** A tools row as a {@link ToolRecord}. */
export function toToolRecord(row: StoredRow): ToolRecord {
  return {
    name: row.name as string,
    description: row.description as string,
    createdAt: row.created_at as number,
    activeVersion: row.active_version as number,
    pinned: flag(row.pinned),
    counters: { rewrites: row.rewrites as number, lastRewriteAt: row.last_rewrite_at as number | null },
    kind: row.kind === 'host' ? 'host' : 'sandboxed',
    disabled: flag(row.disabled),
  };
}

/** A tool_versions row as a {@link ToolVersion}. */
export function toToolVersion(row: StoredRow): ToolVersion {
  const version: ToolVersion = {
    toolName: row.tool_name as string,
    version: row.version as number,
    source: row.source as string,
    inputSchema: JSON.parse(row.input_schema as string) as JsonObject,
    capabilities: JSON.parse(row.capabilities as string) as ToolCapabilities,
    parentVersion: row.parent_version as number | null,
    reason: row.reason as string,
    author: row.author as VersionAuthor,
    createdAt: row.created_at as number,
  };
  // NULL (and a row read before the column existed) means the version declares no output schema.
  if (row.output_schema !== null && row.output_schema !== undefined)
    version.outputSchema = JSON.parse(row.output_schema as string) as JsonObject;
  if (row.label !== null && row.label !== undefined) version.label = row.label as string;
  return version;
}

/** A test_cases row as a {@link StoredTestCase}; NULL optional columns are left out. */
export function toTestCase(row: StoredRow): StoredTestCase {
  const testCase: StoredTestCase = {
    id: rowId(row.id),
    toolName: row.tool_name as string,
    input: JSON.parse(row.input as string) as JsonValue,
    expect: JSON.parse(row.expect as string) as JsonValue,
    description: row.description as string,
    origin: row.origin as StoredTestCase['origin'],
    heldOut: flag(row.held_out),
    createdAt: row.created_at as number,
  };
  if (row.input_hash !== null) testCase.inputHash = row.input_hash as string;
  if (row.max_latency_ms !== null) testCase.maxLatencyMs = row.max_latency_ms as number;
  return testCase;
}

/** An audit row as an {@link AuditEntry}; NULL optional columns are left out. */
export function toAuditEntry(row: StoredRow): AuditEntry {
  const entry: AuditEntry = {
    id: rowId(row.id),
    type: row.type as string,
    actor: row.actor as string,
    reason: row.reason as string,
    evidence: JSON.parse(row.evidence as string) as JsonValue,
    at: row.at as number,
  };
  if (row.tool_name !== null) entry.toolName = row.tool_name as string;
  if (row.from_version !== null) entry.fromVersion = row.from_version as number;
  if (row.to_version !== null) entry.toVersion = row.to_version as number;
  return entry;
}

/** The parameters of an audit INSERT, in {@link auditColumns} order after `id`. */
export type AuditParams = [
  string,
  string | null,
  string,
  string,
  number | null,
  number | null,
  string,
  number,
];

/** The parameters of an audit INSERT, in {@link auditColumns} order after `id`; throws `StorageInputError` for evidence JSON cannot hold. */
export function toAuditParams(entry: NewAuditEntry): AuditParams {
  return [
    entry.type,
    entry.toolName ?? null,
    entry.actor,
    entry.reason,
    entry.fromVersion ?? null,
    entry.toVersion ?? null,
    toJsonText('entry.evidence', entry.evidence ?? null),
    entry.at ?? Date.now(),
  ];
}

/**
 * Checks an optional entry a change about `toolName` is to write in its own transaction, and
 * returns its {@link toAuditParams} (undefined for none): before the transaction, so a bad entry
 * fails before anything is written.
 */
export function toToolAuditParams(
  toolName: string,
  entry: ToolAuditEntry | undefined,
): AuditParams | undefined {
  if (entry === undefined) return undefined;
  checkNewAuditEntry(entry);
  return toAuditParams({ ...entry, toolName });
}

/**
 * The parameters of a test case INSERT after the tool name (input, expect, description, origin,
 * input_hash, max_latency_ms, held_out); `heldOut` is written the driver's way (SQLite `1`/`0`,
 * PostgreSQL a boolean). Throws `StorageInputError` for values JSON cannot hold.
 */
export function toTestCaseParams<Flag>(
  testCase: NewTestCase,
  flag: (heldOut: boolean) => Flag,
): [string, string, string, string, string | null, number | null, Flag] {
  return [
    toJsonText('testCase.input', testCase.input),
    toJsonText('testCase.expect', testCase.expect),
    testCase.description,
    testCase.origin,
    testCase.inputHash ?? null,
    testCase.maxLatencyMs ?? null,
    flag(testCase.heldOut === true),
  ];
}
