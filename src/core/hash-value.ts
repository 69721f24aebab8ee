import * as crypto from 'node:crypto';

/**
 * The one-shot `crypto.hash` (Node ≥ 20.12 / 21.7): several times cheaper than a `Hash` object
 * for the short texts hashed on every tool call, with the same digest.
 */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

/**
 * Canonical JSON of a value: object keys sorted, `undefined` members dropped (as JSON does),
 * so equal data always gives the same text whatever the key order.
 *
 * Throws a `TypeError` for values JSON cannot represent faithfully (BigInt, cycles, functions
 * at the top level).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value, new Set()));
}

/**
 * A short, stable fingerprint of a JSON value: the first 16 hex digits of the SHA-256 of its
 * canonical JSON. Used as `inputHash`/`outputHash` of invocation records, and to de-duplicate
 * harvested regression cases.
 *
 * @example
 * ```ts
 * hashValue({ from: 'USD', to: 'EUR' }) === hashValue({ to: 'EUR', from: 'USD' }); // true
 * ```
 */
export function hashValue(value: unknown): string {
  const text = canonicalJson(value) ?? 'undefined';
  const digest =
    oneShotHash === undefined
      ? crypto.createHash('sha256').update(text).digest('hex')
      : oneShotHash('sha256', text, 'hex');
  return digest.slice(0, 16);
}

function sortKeys(value: unknown, seen: Set<object>): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) throw new TypeError('canonicalJson: the value contains a cycle');
  seen.add(value);
  try {
    const withToJson = value as { toJSON?: () => unknown };
    if (typeof withToJson.toJSON === 'function') return sortKeys(withToJson.toJSON(), seen);
    if (Array.isArray(value)) return value.map((item) => sortKeys(item, seen));
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      sorted[key] = sortKeys((value as Record<string, unknown>)[key], seen);
    }
    return sorted;
  } finally {
    seen.delete(value);
  }
}
