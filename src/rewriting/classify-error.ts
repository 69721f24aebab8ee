/**
 * What a failure message says about its cause:
 * - `transient`: the network or an upstream service (HTTP 429/5xx, timeouts, connection
 *   failures, `fetch failed`); the same call may well succeed a moment later.
 * - `logic`: the tool's own code or its input (`TypeError`, `ReferenceError`, `SyntaxError`,
 *   `RangeError`, "is not a function", "is not defined", "cannot read property", validation
 *   messages such as "must be" / "invalid" / "required"); retrying repeats it.
 * - `unknown`: neither.
 */
export type ErrorKind = 'transient' | 'logic' | 'unknown';

// An HTTP status needs a word next to it ("HTTP 503", "status code 429", "503 Service
// Unavailable"), so "must be below 500" is not mistaken for a server error.
const statusNearWord =
  /\b(?:https?|status(?:\s*code)?|code|response|server|upstream|error)\b\D{0,12}\b(?:429|5\d\d)\b|\b(?:429|5\d\d)\s+(?:too many|internal|bad gateway|service|gateway|unavailable|error)|^\s*(?:429|5\d\d)\s*$/i;
const transientWords =
  /too many requests|rate[ -]?limit|service unavailable|temporarily unavailable|bad gateway|gateway time-?out|internal server error|timed out|time-?out|fetch failed|network ?error|ECONNRESET|ECONNREFUSED|ECONNABORTED|ETIMEDOUT|EAI_AGAIN|EPIPE|socket hang up|connection (?:reset|refused|closed)|AbortError|TimeoutError/i;
const logicWords =
  /\b(?:TypeError|ReferenceError|SyntaxError|RangeError|InternalError)\b|is not a function|is not defined|is not iterable|is not an object|is not a constructor|cannot read propert|cannot set propert|of (?:undefined|null)\b|\b(?:invalid|must be|required|expected|missing|unsupported|not allowed)\b/i;

/**
 * Messages that name a transient cause; also compiled into hardened tools (see
 * `hardening-template.ts`) so the host's classification and the guest's retry decision agree.
 */
export const transientMessagePattern = new RegExp(`${statusNearWord.source}|${transientWords.source}`, 'i');

/**
 * Sorts one failure message into {@link ErrorKind}. A transient signal wins over a logic one:
 * the sandbox reports a network failure as `TypeError: fetch failed: …`.
 *
 * @example
 * classifyError('HTTP 503'); // 'transient'
 * classifyError("TypeError: cannot read property 'EUR' of undefined"); // 'logic'
 */
export function classifyError(message: string): ErrorKind {
  if (transientMessagePattern.test(message)) return 'transient';
  if (logicWords.test(message)) return 'logic';
  return 'unknown';
}
