import {
  HISTORY_ROW_KINDS,
  type HistoryRange,
  type SourceBucket,
  sourcesFromRows,
} from '../history-buckets.ts';
import { LATENCY_HISTOGRAM_BOUNDS_MS, LATENCY_HISTOGRAM_SIZE } from '../latency-histogram.ts';
import { DAY_MS, HOUR_MS, MINUTE_MS, type RollupCutoffs } from '../rollup-tiers.ts';
import type { SqliteDriver, SqlValue } from './sqlite-driver.ts';

/**
 * The rollups of the SQLite adapter (tables of migration 2): pruned invocations folded into
 * per-(tool, version, bucket) aggregates by SQL, merged on conflict, coarsened with age, and
 * read back as {@link SourceBucket}s. Every statement text is fixed (values are parameters), so
 * the driver's statement cache stays small.
 */

const histogramColumns = Array.from({ length: LATENCY_HISTOGRAM_SIZE }, (_, index) => `h${index}`);
const rollupColumns = `tool_name, version, width_ms, bucket_start, calls, successes, latency_sum, latency_min, latency_max, ${histogramColumns.join(', ')}`;
const errorColumns = 'tool_name, version, width_ms, bucket_start, error_code, failures';

/** `floor(time / width) * width` in SQLite, exact for negative and fractional times too. */
function floorSql(time: string, width: string): string {
  const quotient = `(${time}) / (${width} * 1.0)`;
  return `((CAST(${quotient} AS INTEGER) - (${quotient} < CAST(${quotient} AS INTEGER))) * ${width})`;
}

/** Per histogram range, an expression counting the rows of a group whose latency falls in it. */
const histogramTerms = LATENCY_HISTOGRAM_BOUNDS_MS.map((bound, index) =>
  index === 0
    ? `sum(latency_ms <= ${bound})`
    : `sum(latency_ms > ${LATENCY_HISTOGRAM_BOUNDS_MS[index - 1]} AND latency_ms <= ${bound})`,
).concat(`sum(latency_ms > ${LATENCY_HISTOGRAM_BOUNDS_MS.at(-1)})`);
const histogramSums = histogramTerms.join(', ');

const mergeAggregates = `calls = calls + excluded.calls, successes = successes + excluded.successes,
  latency_sum = latency_sum + excluded.latency_sum, latency_min = min(latency_min, excluded.latency_min),
  latency_max = max(latency_max, excluded.latency_max), ${histogramColumns.map((column) => `${column} = ${column} + excluded.${column}`).join(', ')}`;

/** The rollup width of a row at the prune's cutoffs (the first two parameters). */
const widthOfRow = `CASE WHEN started_at < ? THEN ${DAY_MS} WHEN started_at < ? THEN ${HOUR_MS} ELSE ${MINUTE_MS} END`;

const foldRowsSql = (predicate: string) => `
  INSERT INTO sia_invocation_rollups (${rollupColumns})
  SELECT tool_name, version, width_ms, ${floorSql('started_at', 'width_ms')} AS bucket_start,
    count(*), sum(success), sum(latency_ms), min(latency_ms), max(latency_ms), ${histogramSums}
  FROM (SELECT tool_name, version, started_at, latency_ms, success, ${widthOfRow} AS width_ms
        FROM sia_invocations WHERE ${predicate})
  WHERE true GROUP BY tool_name, version, width_ms, bucket_start
  ON CONFLICT (tool_name, version, width_ms, bucket_start) DO UPDATE SET ${mergeAggregates}`;

const foldErrorsSql = (predicate: string) => `
  INSERT INTO sia_invocation_rollup_errors (${errorColumns})
  SELECT tool_name, version, width_ms, ${floorSql('started_at', 'width_ms')} AS bucket_start, code, count(*)
  FROM (SELECT tool_name, version, started_at, coalesce(nullif(error_code, ''), 'ERROR') AS code,
          ${widthOfRow} AS width_ms
        FROM sia_invocations WHERE (${predicate}) AND success = 0)
  WHERE true GROUP BY tool_name, version, width_ms, bucket_start, code
  ON CONFLICT (tool_name, version, width_ms, bucket_start, error_code) DO UPDATE SET failures = failures + excluded.failures`;

/**
 * Folds the invocations matching `predicate` (SQL over `sia_invocations` with `params`) into
 * their rollups, then deletes them: call it inside the prune's transaction, so the rows and
 * their rollups are never both there, nor both gone. Returns the number of rows deleted.
 */
export function foldAndDelete(
  driver: SqliteDriver,
  predicate: string,
  params: readonly SqlValue[],
  cutoffs: RollupCutoffs,
): number {
  const withCutoffs = [cutoffs.dayBefore, cutoffs.hourBefore, ...params];
  driver.run(foldRowsSql(predicate), withCutoffs);
  driver.run(foldErrorsSql(predicate), withCutoffs);
  return driver.run(`DELETE FROM sia_invocations WHERE ${predicate}`, params);
}

const coarsenSql = (from: number, to: number) => `
  INSERT INTO sia_invocation_rollups (${rollupColumns})
  SELECT tool_name, version, ${to}, ${floorSql('bucket_start', String(to))} AS start,
    sum(calls), sum(successes), sum(latency_sum), min(latency_min), max(latency_max),
    ${histogramColumns.map((column) => `sum(${column})`).join(', ')}
  FROM sia_invocation_rollups WHERE width_ms = ${from} AND bucket_start < ?
  GROUP BY tool_name, version, start
  ON CONFLICT (tool_name, version, width_ms, bucket_start) DO UPDATE SET ${mergeAggregates}`;

const coarsenErrorsSql = (from: number, to: number) => `
  INSERT INTO sia_invocation_rollup_errors (${errorColumns})
  SELECT tool_name, version, ${to}, ${floorSql('bucket_start', String(to))} AS start, error_code, sum(failures)
  FROM sia_invocation_rollup_errors WHERE width_ms = ${from} AND bucket_start < ?
  GROUP BY tool_name, version, start, error_code
  ON CONFLICT (tool_name, version, width_ms, bucket_start, error_code) DO UPDATE SET failures = failures + excluded.failures`;

/**
 * Merges minute rollups older than `cutoffs.hourBefore` into their hours, then hour rollups
 * older than `cutoffs.dayBefore` into their days (an index on (width, start) finds them).
 * Call it inside the prune's transaction.
 */
export function coarsenRollups(driver: SqliteDriver, cutoffs: RollupCutoffs): void {
  for (const [from, to, before] of [
    [MINUTE_MS, HOUR_MS, cutoffs.hourBefore],
    [HOUR_MS, DAY_MS, cutoffs.dayBefore],
  ] as const) {
    const older = driver.all(
      `SELECT 1 AS found FROM sia_invocation_rollups WHERE width_ms = ${from} AND bucket_start < ? LIMIT 1`,
      [before],
    );
    if (older.length === 0) continue;
    driver.run(coarsenSql(from, to), [before]);
    driver.run(coarsenErrorsSql(from, to), [before]);
    driver.run(`DELETE FROM sia_invocation_rollups WHERE width_ms = ${from} AND bucket_start < ?`, [before]);
    driver.run(`DELETE FROM sia_invocation_rollup_errors WHERE width_ms = ${from} AND bucket_start < ?`, [
      before,
    ]);
  }
}

/** A WHERE clause over `time` for a tool, optional version and range, with its parameters. */
function rangeFilter(
  time: string,
  toolName: string,
  version: number | undefined,
  range: HistoryRange,
): [string, SqlValue[]] {
  const conditions = ['tool_name = ?'];
  const params: SqlValue[] = [toolName];
  if (version !== undefined) {
    conditions.push('version = ?');
    params.push(version);
  }
  if (Number.isFinite(range.from)) {
    conditions.push(`${time} >= ?`);
    params.push(range.from);
  }
  if (Number.isFinite(range.to)) {
    conditions.push(`${time} < ?`);
    params.push(range.to);
  }
  return [conditions.join(' AND '), params];
}

const noAggregates = `NULL, NULL, NULL, NULL, NULL, ${histogramColumns.map(() => 'NULL').join(', ')}`;
const minuteOfRow = floorSql('started_at', String(MINUTE_MS));

/**
 * The history of a tool as source buckets: its rollups whose start is in `range`, and its
 * stored rows that started in `range` aggregated per (version, minute). One statement (a
 * UNION of the four parts, see {@link HISTORY_ROW_KINDS}), so it reads one snapshot even while
 * another connection prunes.
 */
export function historySources(
  driver: SqliteDriver,
  toolName: string,
  version: number | undefined,
  range: HistoryRange,
): SourceBucket[] {
  const [rollupWhere, rollupParams] = rangeFilter('bucket_start', toolName, version, range);
  const [rowWhere, rowParams] = rangeFilter('started_at', toolName, version, range);
  const sql = `
    SELECT '${HISTORY_ROW_KINDS.rollup}' AS kind, version, width_ms, bucket_start, calls, successes,
      latency_sum, latency_min, latency_max, ${histogramColumns.join(', ')}, NULL AS error_code, NULL AS failures
    FROM sia_invocation_rollups WHERE ${rollupWhere}
    UNION ALL
    SELECT '${HISTORY_ROW_KINDS.rollupErrors}', version, width_ms, bucket_start, ${noAggregates}, error_code, failures
    FROM sia_invocation_rollup_errors WHERE ${rollupWhere}
    UNION ALL
    SELECT '${HISTORY_ROW_KINDS.rows}', version, ${MINUTE_MS}, ${minuteOfRow} AS minute, count(*), sum(success),
      sum(latency_ms), min(latency_ms), max(latency_ms), ${histogramSums}, NULL, NULL
    FROM sia_invocations WHERE ${rowWhere} GROUP BY version, minute
    UNION ALL
    SELECT '${HISTORY_ROW_KINDS.rowErrors}', version, ${MINUTE_MS}, ${minuteOfRow} AS minute, ${noAggregates},
      coalesce(nullif(error_code, ''), 'ERROR') AS code, count(*)
    FROM sia_invocations WHERE ${rowWhere} AND success = 0 GROUP BY version, minute, code`;
  return sourcesFromRows(driver.all(sql, [...rollupParams, ...rollupParams, ...rowParams, ...rowParams]));
}
