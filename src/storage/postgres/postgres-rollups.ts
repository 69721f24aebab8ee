import { HISTORY_ROW_KINDS, type HistoryRange } from '../history-buckets.ts';
import { LATENCY_HISTOGRAM_BOUNDS_MS, LATENCY_HISTOGRAM_SIZE } from '../latency-histogram.ts';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../rollup-tiers.ts';

/**
 * The SQL of the PostgreSQL adapter's rollups (tables of migration 2). Pruned rows are folded
 * from the rows a `DELETE … RETURNING` actually removed, so two processes pruning at once can
 * never fold a row twice; the adapter also serialises prunes with an advisory lock, so their
 * rollup upserts do not deadlock.
 */

const histogramColumns = Array.from({ length: LATENCY_HISTOGRAM_SIZE }, (_, index) => `h${index}`);
const rollupColumns = `tool_name, version, width_ms, bucket_start, calls, successes, latency_sum, latency_min, latency_max, ${histogramColumns.join(', ')}`;
const errorColumns = 'tool_name, version, width_ms, bucket_start, error_code, failures';

const histogramCounts = LATENCY_HISTOGRAM_BOUNDS_MS.map((bound, index) =>
  index === 0
    ? `count(*) FILTER (WHERE latency_ms <= ${bound})`
    : `count(*) FILTER (WHERE latency_ms > ${LATENCY_HISTOGRAM_BOUNDS_MS[index - 1]} AND latency_ms <= ${bound})`,
).concat(`count(*) FILTER (WHERE latency_ms > ${LATENCY_HISTOGRAM_BOUNDS_MS.at(-1)})`);

const mergeAggregates = `calls = r.calls + excluded.calls, successes = r.successes + excluded.successes,
  latency_sum = r.latency_sum + excluded.latency_sum, latency_min = least(r.latency_min, excluded.latency_min),
  latency_max = greatest(r.latency_max, excluded.latency_max), ${histogramColumns.map((column) => `${column} = r.${column} + excluded.${column}`).join(', ')}`;

/**
 * One statement that deletes rows and folds exactly those into their rollups.
 * - `table`: qualified table names;
 * - `prefix`: `WITH …,` clauses the deletion needs (or `WITH`);
 * - `deletion`: a `DELETE FROM <invocations> … RETURNING tool_name, version, started_at,
 *   latency_ms, success, error_code` (columns qualified as needed);
 * - `dayBefore`, `hourBefore`: the parameters (`$n`) holding the rollup cutoffs.
 * It returns one row: `deleted`, the number of rows deleted.
 */
export function foldAndDeleteSql(
  table: (name: string) => string,
  prefix: string,
  deletion: string,
  dayBefore: string,
  hourBefore: string,
): string {
  return `${prefix} gone AS (${deletion}),
    sized AS (
      SELECT tool_name, version, started_at, latency_ms, success, error_code,
        CASE WHEN started_at < ${dayBefore} THEN ${DAY_MS} WHEN started_at < ${hourBefore} THEN ${HOUR_MS} ELSE ${MINUTE_MS} END AS width_ms
      FROM gone),
    rolled AS (
      INSERT INTO ${table('invocation_rollups')} AS r (${rollupColumns})
      SELECT tool_name, version, width_ms, floor(started_at / width_ms) * width_ms AS bucket_start,
        count(*), count(*) FILTER (WHERE success), sum(latency_ms), min(latency_ms), max(latency_ms),
        ${histogramCounts.join(', ')}
      FROM sized GROUP BY tool_name, version, width_ms, 4
      ON CONFLICT (tool_name, version, width_ms, bucket_start) DO UPDATE SET ${mergeAggregates}),
    failed AS (
      INSERT INTO ${table('invocation_rollup_errors')} AS r (${errorColumns})
      SELECT tool_name, version, width_ms, floor(started_at / width_ms) * width_ms,
        coalesce(nullif(error_code, ''), 'ERROR'), count(*)
      FROM sized WHERE NOT success GROUP BY 1, 2, 3, 4, 5
      ON CONFLICT (tool_name, version, width_ms, bucket_start, error_code) DO UPDATE SET failures = r.failures + excluded.failures)
    SELECT count(*)::int AS deleted FROM gone`;
}

/**
 * The statements that merge minute rollups before `$1` into hours, then (with `$1` the day
 * cutoff) hour rollups into days: pairs of [aggregates, failures], each a `DELETE … RETURNING`
 * folded into the coarser rollup.
 */
export function coarsenSql(table: (name: string) => string): Array<[from: number, statements: string[]]> {
  const rollups = table('invocation_rollups');
  const errors = table('invocation_rollup_errors');
  return [
    [MINUTE_MS, HOUR_MS],
    [HOUR_MS, DAY_MS],
  ].map(([from, to]) => [
    from as number,
    [
      `WITH moved AS (DELETE FROM ${rollups} WHERE width_ms = ${from} AND bucket_start < $1 RETURNING *)
       INSERT INTO ${rollups} AS r (${rollupColumns})
       SELECT tool_name, version, ${to}, floor(bucket_start / ${to}) * ${to} AS start,
         sum(calls), sum(successes), sum(latency_sum), min(latency_min), max(latency_max),
         ${histogramColumns.map((column) => `sum(${column})`).join(', ')}
       FROM moved GROUP BY tool_name, version, start
       ON CONFLICT (tool_name, version, width_ms, bucket_start) DO UPDATE SET ${mergeAggregates}`,
      `WITH moved AS (DELETE FROM ${errors} WHERE width_ms = ${from} AND bucket_start < $1 RETURNING *)
       INSERT INTO ${errors} AS r (${errorColumns})
       SELECT tool_name, version, ${to}, floor(bucket_start / ${to}) * ${to} AS start, error_code, sum(failures)
       FROM moved GROUP BY tool_name, version, start, error_code
       ON CONFLICT (tool_name, version, width_ms, bucket_start, error_code) DO UPDATE SET failures = r.failures + excluded.failures`,
    ],
  ]);
}

/**
 * One statement reading a tool's history as the rows `sourcesFromRows` takes: its rollups whose
 * start is in `range` and its stored rows that started in it, aggregated per (version, minute).
 * One statement, so one snapshot, even while another process prunes.
 */
export function historySql(
  table: (name: string) => string,
  toolName: string,
  version: number | undefined,
  range: HistoryRange,
): [string, unknown[]] {
  const params: unknown[] = [toolName];
  const filters: Array<[column: 'version' | 'time', operator: string, value: number]> = [];
  if (version !== undefined) filters.push(['version', '=', version]);
  if (Number.isFinite(range.from)) filters.push(['time', '>=', range.from]);
  if (Number.isFinite(range.to)) filters.push(['time', '<', range.to]);
  const numbered = filters.map(([column, operator, value]) => {
    params.push(value);
    return [column, `${operator} $${params.length}`] as const;
  });
  const conditions = (time: string) =>
    [
      'tool_name = $1',
      ...numbered.map(([column, test]) => `${column === 'time' ? time : 'version'} ${test}`),
    ].join(' AND ');
  const noAggregates = `NULL::float8, NULL::float8, NULL::float8, NULL::float8, NULL::float8, ${histogramColumns.map(() => 'NULL::float8').join(', ')}`;
  const minute = `floor(started_at / ${MINUTE_MS}) * ${MINUTE_MS}`;
  const sql = `
    SELECT '${HISTORY_ROW_KINDS.rollup}'::text AS kind, version, width_ms, bucket_start, calls::float8 AS calls,
      successes::float8 AS successes, latency_sum, latency_min, latency_max,
      ${histogramColumns.map((column) => `${column}::float8 AS ${column}`).join(', ')},
      NULL::text AS error_code, NULL::float8 AS failures
    FROM ${table('invocation_rollups')} WHERE ${conditions('bucket_start')}
    UNION ALL
    SELECT '${HISTORY_ROW_KINDS.rollupErrors}', version, width_ms, bucket_start, ${noAggregates}, error_code, failures::float8
    FROM ${table('invocation_rollup_errors')} WHERE ${conditions('bucket_start')}
    UNION ALL
    SELECT '${HISTORY_ROW_KINDS.rows}', version, ${MINUTE_MS}, ${minute}, count(*)::float8,
      (count(*) FILTER (WHERE success))::float8, sum(latency_ms), min(latency_ms), max(latency_ms),
      ${histogramCounts.map((count) => `(${count})::float8`).join(', ')}, NULL, NULL
    FROM ${table('invocations')} WHERE ${conditions('started_at')} GROUP BY version, 4
    UNION ALL
    SELECT '${HISTORY_ROW_KINDS.rowErrors}', version, ${MINUTE_MS}, ${minute}, ${noAggregates},
      coalesce(nullif(error_code, ''), 'ERROR'), count(*)::float8
    FROM ${table('invocations')} WHERE ${conditions('started_at')} AND NOT success GROUP BY version, 4, coalesce(nullif(error_code, ''), 'ERROR')`;
  return [sql, params];
}
