/** Options of {@link mapBounded}. */
export interface MapBoundedOptions {
  /** At most this many items in flight at once (an integer ≥ 1, validated by the caller). */
  readonly concurrency: number;
  /** Once aborted, no further item starts; the ones in flight are awaited. */
  readonly signal?: AbortSignal;
  /**
   * Called as each item finishes, in the order they finish, with its index and how many have
   * finished so far. A throw counts as a failure of that item.
   */
  readonly onDone?: (index: number, done: number) => void;
}

/**
 * Runs `work` on every item, at most `concurrency` at once, starting them in their order, and
 * resolves with the results in the items' order whatever order they finish in.
 *
 * Nothing is left running when it settles: after a failure (a rejection or a throwing
 * `onDone`) or an abort no further item starts, and the items already in flight are awaited
 * (their failures observed, never unhandled) before it rejects with the first failure, or else
 * with the signal's reason. An abort after the last item started does not reject, as with a
 * plain loop that checks the signal before each item.
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  work: (item: T, index: number) => Promise<R>,
  options: MapBoundedOptions,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let done = 0;
  let failure: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (next < items.length && failure === undefined && options.signal?.aborted !== true) {
      const index = next;
      next += 1;
      try {
        results[index] = await work(items[index] as T, index);
        done += 1;
        options.onDone?.(index, done);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  // Each lane takes the next item as soon as its previous one finishes, so items start in order.
  await Promise.all(Array.from({ length: Math.min(options.concurrency, items.length) }, lane));
  if (failure) throw failure.error;
  if (next < items.length) options.signal?.throwIfAborted();
  return results;
}
