/**
 * The first index in `[0, length)` for which `isBefore` is false, for a predicate that is true
 * for a prefix of the indexes and false after it (a binary search: O(log length) calls).
 * `length` when it is true everywhere.
 *
 * @example
 * ```ts
 * const sorted = [1, 3, 3, 7];
 * partitionPoint(sorted.length, (index) => sorted[index] < 3); // 1: the first 3
 * partitionPoint(sorted.length, (index) => sorted[index] <= 3); // 3: the first value after 3
 * ```
 */
export function partitionPoint(length: number, isBefore: (index: number) => boolean): number {
  let low = 0;
  let high = length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (isBefore(middle)) low = middle + 1;
    else high = middle;
  }
  return low;
}
