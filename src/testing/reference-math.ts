/**
 * Independent reference computations for tests: written from the definitions, not from the
 * library's code, so a test that compares the two can catch a wrong implementation.
 */

/** Nearest-rank percentile by its definition: the smallest rank r with r / n ≥ percent / 100. */
export function nearestRank(values: readonly number[], percent: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  let rank = 1;
  while (rank * 100 < percent * sorted.length) rank += 1;
  return sorted[rank - 1] as number;
}

/** A small deterministic random number generator (an LCG) returning numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}
