/** `2025-01-01 12:00:00Z`: UTC, to the second, so reports read the same in every time zone. */
export function formatTime(epochMs: number): string {
  if (!Number.isFinite(epochMs)) return '?';
  const iso = new Date(epochMs).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;
}

/** `412 ms`, `1.25 s`, `3.4 ms`. */
export function formatMs(value: number): string {
  if (value >= 10_000) return `${(value / 1000).toFixed(1)} s`;
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  if (value >= 100) return `${value.toFixed(0)} ms`;
  return `${Number(value.toPrecision(3))} ms`;
}

/** A ratio with two decimals (`0.95`). */
export function formatRatio(value: number): string {
  return value.toFixed(2);
}
