/**
 * The deepest nesting of arrays and objects a value may have to cross the sandbox boundary, in
 * either direction: a tool's result (checked inside the guest while serialising, and again on
 * the host) and its input (checked on the host before the call; inputs also meet the lower
 * `PLAIN_JSON_LIMITS.maxDepth` of every entry point). `[[1]]` is 2 levels deep. Deeper output
 * fails with `INVALID_OUTPUT` naming this limit; deeper input is refused with an
 * `InvalidOptionError` for `input`. Bounding depth keeps every step of the crossing
 * linear in the size of the value (QuickJS's own `JSON.stringify` is quadratic in depth).
 */
export const MAX_VALUE_DEPTH = 1000;

/**
 * Whether JSON `text` nests arrays and objects more than `limit` levels deep. One linear pass
 * over the text that stops as soon as the limit is exceeded; `text` must be valid JSON.
 */
export function jsonDepthExceeds(text: string, limit: number = MAX_VALUE_DEPTH): boolean {
  let depth = 0;
  let index = 0;
  const length = text.length;
  while (index < length) {
    const code = text.charCodeAt(index);
    if (code === 0x22) {
      // Skip a string: to the next quote that is not escaped.
      index += 1;
      while (index < length) {
        const inner = text.charCodeAt(index);
        if (inner === 0x5c) index += 2;
        else if (inner === 0x22) break;
        else index += 1;
      }
    } else if (code === 0x5b || code === 0x7b) {
      depth += 1;
      if (depth > limit) return true;
    } else if (code === 0x5d || code === 0x7d) {
      depth -= 1;
    }
    index += 1;
  }
  return false;
}
