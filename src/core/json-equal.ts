/** How {@link jsonEqual} compares numbers. */
export interface JsonEqualOptions {
  /**
   * Relative tolerance for numbers: `|a − b| ≤ relTol · max(|a|, |b|)` counts as equal.
   * @default 0 (exact)
   */
  readonly relTol?: number;
  /**
   * Absolute tolerance for numbers: `|a − b| ≤ absTol` counts as equal.
   * @default 0 (exact)
   */
  readonly absTol?: number;
}

/**
 * Deep equality for JSON-shaped values (what a sandboxed tool returns): same types, same array
 * order, same object keys in any order. `1` equals `1.0`; `true` never equals `1`; `null` equals
 * only `null`. Numbers may be compared within a tolerance.
 * @example
 * jsonEqual({ rate: 3.7 }, { rate: 3.7000000001 }, { relTol: 1e-6 }); // true
 */
export function jsonEqual(a: unknown, b: unknown, options: JsonEqualOptions = {}): boolean {
  if (typeof a === 'number' && typeof b === 'number') return numbersClose(a, b, options);
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, index) => jsonEqual(item, b[index], options));
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) return false;
  return keys.every((key) => Object.hasOwn(right, key) && jsonEqual(left[key], right[key], options));
}

function numbersClose(a: number, b: number, options: JsonEqualOptions): boolean {
  if (a === b || (Number.isNaN(a) && Number.isNaN(b))) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  const difference = Math.abs(a - b);
  if (options.absTol !== undefined && difference <= options.absTol) return true;
  return options.relTol !== undefined && difference <= options.relTol * Math.max(Math.abs(a), Math.abs(b));
}
