/** One minute, the finest rollup and the unit of history bucket widths, ms. */
export const MINUTE_MS = 60_000;
/** One hour, ms. */
export const HOUR_MS = 3_600_000;
/** One day, ms. */
export const DAY_MS = 86_400_000;

/** How long a minute rollup stays a minute before it is merged into its hour. */
const MINUTES_KEPT_MS = DAY_MS;
/** How long an hour rollup stays an hour before it is merged into its day. */
const HOURS_KEPT_MS = 30 * DAY_MS;

/**
 * Where the rollup tiers start at a prune's `now`: calls and rollups that started before
 * `hourBefore` belong in hour buckets, before `dayBefore` in day buckets, later ones in minute
 * buckets. Both are aligned to their tier's width, so a whole hour (or day) changes tier at once
 * and no period is ever held at two widths by one prune.
 */
export interface RollupCutoffs {
  /** Start of the first hour whose minutes are still kept as minutes, epoch ms. */
  readonly hourBefore: number;
  /** Start of the first day whose hours are still kept as hours, epoch ms. */
  readonly dayBefore: number;
}

/** The {@link RollupCutoffs} at `now` (epoch ms). */
export function rollupCutoffs(now: number): RollupCutoffs {
  return {
    hourBefore: bucketStart(now - MINUTES_KEPT_MS, HOUR_MS),
    dayBefore: bucketStart(now - HOURS_KEPT_MS, DAY_MS),
  };
}

/** The width of the rollup a call that started at `startedAt` is folded into. */
export function rollupWidth(startedAt: number, cutoffs: RollupCutoffs): number {
  if (startedAt < cutoffs.dayBefore) return DAY_MS;
  if (startedAt < cutoffs.hourBefore) return HOUR_MS;
  return MINUTE_MS;
}

/** Start of the bucket of width `widthMs` that `time` falls in: a multiple of `widthMs` since the epoch. */
export function bucketStart(time: number, widthMs: number): number {
  return Math.floor(time / widthMs) * widthMs;
}
