import {
  booleanOption,
  type InvalidValueFactory,
  integerOption,
  numberOption,
  stringOption,
} from '../core/options.ts';
import { OUTPUT_SCHEMA_LIMITS } from '../core/output-schema.ts';
import { plainJsonProblem } from '../core/plain-json.ts';
import type {
  AuditQuery,
  HistoryQuery,
  InvocationQuery,
  InvocationRecord,
  JsonValue,
  NewAuditEntry,
  NewTestCase,
  NewTool,
  NewToolVersion,
  RetentionPolicy,
  TestCaseOrigin,
  ToolCapabilities,
  ToolKind,
  VersionAuthor,
} from './records.ts';
import { MINUTE_MS } from './rollup-tiers.ts';
import { StorageInputError } from './storage-errors.ts';

/**
 * Checks of the values passed to storage methods, shared by every built-in adapter so they
 * reject the same inputs with the same {@link StorageInputError} before writing anything
 * (SQLite would otherwise fail on a NOT NULL column halfway, and the in-memory store would
 * accept what a file store rejects).
 */

/**
 * Longest `author` a store accepts. Authors are open (a third-party rewriter names itself), so
 * the bound only keeps a runaway value (a whole prompt, a stack trace) out of every version row.
 */
const MAX_AUTHOR_LENGTH = 64;
const origins: ReadonlySet<string> = new Set<TestCaseOrigin>(['manual', 'example', 'harvested', 'feedback']);
const kinds: ReadonlySet<string> = new Set<ToolKind>(['sandboxed', 'host']);

/** Longest version label a store accepts (a release name, a git sha, a short tag). */
export const MAX_LABEL_LENGTH = 128;
const CONTROL_CHARACTER = /\p{Cc}/u;

/**
 * Why `value` cannot be a version label (a string of 1 to {@link MAX_LABEL_LENGTH} characters
 * without control characters), or `undefined` when it can. Shared by the stores and the registry.
 */
export function labelProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'not a string';
  if (value.length === 0) return 'empty';
  if (value.length > MAX_LABEL_LENGTH) return `longer than ${MAX_LABEL_LENGTH} characters`;
  if (CONTROL_CHARACTER.test(value)) return 'it contains a control character';
  return undefined;
}

/** What a version label must be, in words, for error messages. */
export const LABEL_EXPECTED = `a label of 1 to ${MAX_LABEL_LENGTH} characters without control characters (a release, a git sha)`;

const storageInput: InvalidValueFactory = (field, expected, value) =>
  new StorageInputError({ field, expected, value });

/** Throws unless `value` is a non-empty string. */
export function checkName(field: string, value: unknown): string {
  return stringOption(field, value, storageInput);
}

/** Throws unless `value` is an integer ≥ `min`. */
export function checkInteger(field: string, value: unknown, min: number): number {
  return integerOption(field, value, min, undefined, storageInput);
}

/** Throws unless `value` is a finite number ≥ `min`. */
export function checkFinite(field: string, value: unknown, min = Number.NEGATIVE_INFINITY): number {
  return numberOption(field, value, min, undefined, storageInput);
}

/** Throws unless `value` is true or false. */
export function checkBoolean(field: string, value: unknown): boolean {
  return booleanOption(field, value, storageInput);
}

function checkString(field: string, value: unknown): void {
  if (typeof value !== 'string') throw new StorageInputError({ field, expected: 'a string', value });
}

function checkOptionalString(field: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'string')
    throw new StorageInputError({ field, expected: 'a string or undefined', value });
}

/**
 * Serialises a JSON value, throwing {@link StorageInputError} for values JSON cannot hold
 * (BigInt, cycles, `undefined`, functions).
 */
export function toJsonText(field: string, value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new StorageInputError({ field, expected: 'a JSON value', value, cause: error });
  }
  if (text === undefined) throw new StorageInputError({ field, expected: 'a JSON value', value });
  return text;
}

/** A deep copy through JSON, so the in-memory store keeps what a file store would keep. */
export function cloneJson<T extends JsonValue>(field: string, value: T): T {
  return JSON.parse(toJsonText(field, value)) as T;
}

/** Checks a batch for `appendInvocations`. */
export function checkInvocations(records: readonly InvocationRecord[]): void {
  if (!Array.isArray(records))
    throw new StorageInputError({
      field: 'records',
      expected: 'an array of invocation records',
      value: records,
    });
  for (let index = 0; index < records.length; index += 1) {
    const record = records[index] as InvocationRecord;
    const field = `records[${index}]`;
    if (typeof record !== 'object' || record === null)
      throw new StorageInputError({ field, expected: 'an object', value: record });
    checkName(`${field}.toolName`, record.toolName);
    checkInteger(`${field}.version`, record.version, 1);
    checkFinite(`${field}.startedAt`, record.startedAt);
    checkFinite(`${field}.latencyMs`, record.latencyMs, 0);
    checkBoolean(`${field}.success`, record.success);
    checkString(`${field}.inputHash`, record.inputHash);
    checkOptionalString(`${field}.errorCode`, record.errorCode);
    checkOptionalString(`${field}.errorMessage`, record.errorMessage);
    checkOptionalString(`${field}.outputHash`, record.outputHash);
  }
}

/** Checks an {@link InvocationQuery}. */
export function checkInvocationQuery(query: InvocationQuery): void {
  if (typeof query !== 'object' || query === null)
    throw new StorageInputError({ field: 'query', expected: 'an object', value: query });
  checkName('query.toolName', query.toolName);
  checkInteger('query.limit', query.limit, 0);
  if (query.version !== undefined) checkInteger('query.version', query.version, 1);
  if (query.since !== undefined) checkFinite('query.since', query.since);
}

/** Checks a {@link RetentionPolicy}. */
export function checkRetention(policy: RetentionPolicy): void {
  if (typeof policy !== 'object' || policy === null)
    throw new StorageInputError({ field: 'policy', expected: 'an object', value: policy });
  if (policy.maxRecordsPerVersion !== undefined)
    checkInteger('policy.maxRecordsPerVersion', policy.maxRecordsPerVersion, 0);
  if (policy.maxRecords !== undefined) checkInteger('policy.maxRecords', policy.maxRecords, 0);
  if (policy.olderThan !== undefined) checkFinite('policy.olderThan', policy.olderThan);
  if (policy.now !== undefined) checkFinite('policy.now', policy.now);
}

/** Checks a {@link HistoryQuery}. */
export function checkHistoryQuery(query: HistoryQuery): void {
  if (typeof query !== 'object' || query === null)
    throw new StorageInputError({ field: 'query', expected: 'an object', value: query });
  checkName('query.toolName', query.toolName);
  if (query.version !== undefined) checkInteger('query.version', query.version, 1);
  if (query.since !== undefined) checkFinite('query.since', query.since);
  if (query.until !== undefined) checkFinite('query.until', query.until);
  if (
    query.bucketMs !== undefined &&
    (!Number.isSafeInteger(query.bucketMs) || query.bucketMs < MINUTE_MS || query.bucketMs % MINUTE_MS !== 0)
  )
    throw new StorageInputError({
      field: 'query.bucketMs',
      expected: 'a whole number of minutes in ms (60000, 300000, 3600000, …)',
      value: query.bucketMs,
    });
}

/** Checks a {@link NewToolVersion}; `field` names it in errors. */
export function checkNewVersion(field: string, version: NewToolVersion): void {
  if (typeof version !== 'object' || version === null)
    throw new StorageInputError({ field, expected: 'an object', value: version });
  checkString(`${field}.source`, version.source);
  const schema: unknown = version.inputSchema;
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema))
    throw new StorageInputError({ field: `${field}.inputSchema`, expected: 'a JSON object', value: schema });
  if (version.outputSchema !== undefined)
    checkOutputSchemaValue(`${field}.outputSchema`, version.outputSchema);
  const network: unknown = version.capabilities?.network;
  if (!Array.isArray(network) || network.some((entry) => typeof entry !== 'string'))
    throw new StorageInputError({
      field: `${field}.capabilities.network`,
      expected: 'an array of strings',
      value: network,
    });
  const secrets: unknown = version.capabilities?.secrets;
  if (
    secrets !== undefined &&
    (!Array.isArray(secrets) || secrets.some((entry) => typeof entry !== 'string'))
  )
    throw new StorageInputError({
      field: `${field}.capabilities.secrets`,
      expected: 'an array of secret names',
      value: secrets,
    });
  if (version.parentVersion !== null) checkInteger(`${field}.parentVersion`, version.parentVersion, 1);
  checkString(`${field}.reason`, version.reason);
  checkAuthor(`${field}.author`, version.author);
  if (version.label !== undefined && labelProblem(version.label) !== undefined)
    throw new StorageInputError({ field: `${field}.label`, expected: LABEL_EXPECTED, value: version.label });
}

/**
 * Throws unless `value` is a plain JSON object within `OUTPUT_SCHEMA_LIMITS` (no cycles,
 * BigInt, functions or class instances). A schema is written once per version and read on
 * every load; the bound keeps a runaway one out of every version row. Whether it is a valid
 * schema is the registry's check, not the store's.
 */
function checkOutputSchemaValue(field: string, value: unknown): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new StorageInputError({ field, expected: 'a JSON Schema object', value });
  const problem = plainJsonProblem(value, field, OUTPUT_SCHEMA_LIMITS);
  if (problem !== null)
    throw new StorageInputError({
      field: problem.path,
      expected: `plain JSON of at most ${OUTPUT_SCHEMA_LIMITS.maxLength} characters (${problem.message})`,
      value,
    });
}

/** Throws unless `value` is a {@link VersionAuthor}: a non-empty string of at most 64 characters. */
function checkAuthor(field: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_AUTHOR_LENGTH)
    throw new StorageInputError({
      field,
      expected: `a non-empty string of at most ${MAX_AUTHOR_LENGTH} characters`,
      value,
    });
}

/** Checks a {@link NewTool}. */
export function checkNewTool(tool: NewTool): void {
  if (typeof tool !== 'object' || tool === null)
    throw new StorageInputError({ field: 'tool', expected: 'an object', value: tool });
  checkName('tool.name', tool.name);
  checkString('tool.description', tool.description);
  if (tool.kind !== undefined && !kinds.has(tool.kind))
    throw new StorageInputError({ field: 'tool.kind', expected: "'sandboxed' or 'host'", value: tool.kind });
  checkNewVersion('tool.firstVersion', tool.firstVersion);
  if (tool.firstVersion.parentVersion !== null)
    throw new StorageInputError({
      field: 'tool.firstVersion.parentVersion',
      expected: 'null (a first version has no parent)',
      value: tool.firstVersion.parentVersion,
    });
  if (tool.testCases !== undefined) {
    if (!Array.isArray(tool.testCases))
      throw new StorageInputError({
        field: 'tool.testCases',
        expected: 'an array of test cases',
        value: tool.testCases,
      });
    for (const testCase of tool.testCases) checkNewTestCase(testCase);
  }
  if (tool.audit !== undefined) checkNewAuditEntry(tool.audit);
}

/** Checks a {@link NewTestCase}. */
export function checkNewTestCase(testCase: NewTestCase): void {
  if (typeof testCase !== 'object' || testCase === null)
    throw new StorageInputError({ field: 'testCase', expected: 'an object', value: testCase });
  checkString('testCase.description', testCase.description);
  if (!origins.has(testCase.origin))
    throw new StorageInputError({
      field: 'testCase.origin',
      expected: `one of ${[...origins].join(', ')}`,
      value: testCase.origin,
    });
  checkOptionalString('testCase.inputHash', testCase.inputHash);
  if (testCase.maxLatencyMs !== undefined) checkFinite('testCase.maxLatencyMs', testCase.maxLatencyMs, 0);
  if (testCase.heldOut !== undefined && typeof testCase.heldOut !== 'boolean')
    throw new StorageInputError({
      field: 'testCase.heldOut',
      expected: 'true, false or undefined',
      value: testCase.heldOut,
    });
}

/** Checks a {@link NewAuditEntry}. */
export function checkNewAuditEntry(entry: NewAuditEntry): void {
  if (typeof entry !== 'object' || entry === null)
    throw new StorageInputError({ field: 'entry', expected: 'an object', value: entry });
  checkName('entry.type', entry.type);
  if (entry.toolName !== undefined) checkName('entry.toolName', entry.toolName);
  checkString('entry.actor', entry.actor);
  checkString('entry.reason', entry.reason);
  if (entry.fromVersion !== undefined) checkInteger('entry.fromVersion', entry.fromVersion, 1);
  if (entry.toVersion !== undefined) checkInteger('entry.toVersion', entry.toVersion, 1);
  if (entry.at !== undefined) checkFinite('entry.at', entry.at);
}

/** Checks an {@link AuditQuery}. */
export function checkAuditQuery(query: AuditQuery): void {
  if (typeof query !== 'object' || query === null)
    throw new StorageInputError({ field: 'query', expected: 'an object', value: query });
  if (query.toolName !== undefined) checkName('query.toolName', query.toolName);
  if (query.type !== undefined) checkName('query.type', query.type);
  if (query.since !== undefined) checkFinite('query.since', query.since);
  if (query.limit !== undefined) checkInteger('query.limit', query.limit, 0);
  if (query.afterId !== undefined) checkInteger('query.afterId', query.afterId, 0);
}

/** A detached copy of a version's capabilities (`secrets` only when the tool has any). */
export function copyCapabilities(capabilities: ToolCapabilities): ToolCapabilities {
  const secrets = capabilities.secrets ?? [];
  return secrets.length === 0
    ? { network: [...capabilities.network] }
    : { network: [...capabilities.network], secrets: [...secrets] };
}
