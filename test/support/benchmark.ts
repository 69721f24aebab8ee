/**
 * Tiny benchmark helpers shared by every `*.bench.ts` file. Benchmarks are scripts, not
 * tests: they print tables of medians and ratios against a baseline measured in the same run.
 */
import { median as medianOf } from '../../src/core/median.ts';

/** The result of one measured case. */
export interface Measurement {
  /** What was measured. */
  name: string;
  /** Median over the trials, in microseconds per operation. */
  medianMicros: number;
  /** Fastest trial, microseconds per operation. */
  minMicros: number;
  /** Slowest trial, microseconds per operation. */
  maxMicros: number;
  /** Operations per trial. */
  operations: number;
  /** Number of trials. */
  trials: number;
}

/** Options of {@link measure}. */
export interface MeasureOptions {
  /** Operations per trial. @default 100 */
  operations?: number;
  /** Trials; the median of their per-operation times is reported. @default 7 */
  trials?: number;
  /** Untimed warm-up operations before the first trial. @default operations */
  warmup?: number;
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median() of an empty list');
  return medianOf(values);
}

/**
 * Runs `operation` `trials × operations` times (after a warm-up) and reports per-operation
 * times. `operation` receives the running index, so each call can differ.
 */
export async function measure(
  name: string,
  operation: (index: number) => unknown,
  options: MeasureOptions = {},
): Promise<Measurement> {
  const operations = options.operations ?? 100;
  const trials = options.trials ?? 7;
  const warmup = options.warmup ?? operations;
  let index = 0;
  for (let i = 0; i < warmup; i += 1) await operation(index++);
  const perOperation: number[] = [];
  for (let trial = 0; trial < trials; trial += 1) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < operations; i += 1) await operation(index++);
    const elapsedNs = Number(process.hrtime.bigint() - start);
    perOperation.push(elapsedNs / 1000 / operations);
  }
  return {
    name,
    medianMicros: median(perOperation),
    minMicros: Math.min(...perOperation),
    maxMicros: Math.max(...perOperation),
    operations,
    trials,
  };
}

/** One case of {@link measureInterleaved}. */
export interface InterleavedCase {
  /** What is measured. */
  name: string;
  /** One operation; receives the running index of its case. */
  operation: (index: number) => unknown;
}

/**
 * Like {@link measure} for several cases, measured in turns: one trial of every case, then the
 * next round. On a machine whose load changes while the benchmark runs (other processes on
 * shared cores), every case then sees the same mix of quiet and busy moments, so their ratios
 * stay meaningful where back-to-back runs would compare a quiet minute with a busy one.
 */
export async function measureInterleaved(
  cases: readonly InterleavedCase[],
  options: MeasureOptions = {},
): Promise<Measurement[]> {
  const operations = options.operations ?? 100;
  const trials = options.trials ?? 7;
  const warmup = options.warmup ?? operations;
  const indexes = cases.map(() => 0);
  const next = (position: number): number => {
    const index = indexes[position] ?? 0;
    indexes[position] = index + 1;
    return index;
  };
  const perOperation = cases.map((): number[] => []);
  for (const [position, item] of cases.entries()) {
    for (let i = 0; i < warmup; i += 1) await item.operation(next(position));
  }
  for (let trial = 0; trial < trials; trial += 1) {
    for (const [position, item] of cases.entries()) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < operations; i += 1) await item.operation(next(position));
      const elapsedNs = Number(process.hrtime.bigint() - start);
      perOperation[position]?.push(elapsedNs / 1000 / operations);
    }
  }
  return cases.map((item, position) => {
    const times = perOperation[position] as number[];
    return {
      name: item.name,
      medianMicros: median(times),
      minMicros: Math.min(...times),
      maxMicros: Math.max(...times),
      operations,
      trials,
    };
  });
}

/** Formats microseconds with a unit that keeps three significant digits. */
export function formatMicros(micros: number): string {
  if (micros < 1) return `${(micros * 1000).toFixed(0)} ns`;
  if (micros < 1000) return `${micros.toPrecision(3)} µs`;
  if (micros < 1_000_000) return `${(micros / 1000).toPrecision(3)} ms`;
  return `${(micros / 1_000_000).toPrecision(3)} s`;
}

/**
 * Prints a table of measurements with a ratio column against `baseline` (a measurement name
 * from the same run). Extra columns may be passed per row through `notes`.
 */
export function printTable(
  title: string,
  rows: readonly Measurement[],
  options: { baseline?: string; notes?: Record<string, string> } = {},
): void {
  const baseline = options.baseline ? rows.find((row) => row.name === options.baseline) : undefined;
  const header = ['case', 'median', 'min', 'max', baseline ? `× ${baseline.name}` : '', 'note'];
  const lines = rows.map((row) => [
    row.name,
    formatMicros(row.medianMicros),
    formatMicros(row.minMicros),
    formatMicros(row.maxMicros),
    baseline ? `${(row.medianMicros / baseline.medianMicros).toFixed(3)}` : '',
    options.notes?.[row.name] ?? '',
  ]);
  printRows(title, header, lines);
}

/** Prints a plain table with a title, a header row and data rows. */
export function printRows(
  title: string,
  header: readonly string[],
  rows: readonly (readonly string[])[],
): void {
  const widths = header.map((cell, column) =>
    Math.max(cell.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const format = (row: readonly string[]) =>
    row
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join('  ');
  console.log(`\n${title}`);
  console.log(format(header));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const row of rows) console.log(format(row));
}
