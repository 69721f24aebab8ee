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

/** A pause, rounded to its largest unit: `45 s`, `13 min`, `2.5 h`, `3 d`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 86_400_000) return `${Number((ms / 3_600_000).toPrecision(2))} h`;
  return `${Number((ms / 86_400_000).toPrecision(2))} d`;
}
