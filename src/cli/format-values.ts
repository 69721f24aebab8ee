import { formatDuration, formatMs, formatRatio, formatTime } from '../report/report-format.ts';

/** `–` for a missing value, else the formatted one. */
export function orDash<T>(value: T | null | undefined, format: (value: T) => string): string {
  return value === null || value === undefined ? '–' : format(value);
}

/** Pretty JSON for `--json` output. */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

export { formatDuration, formatMs, formatRatio, formatTime };
