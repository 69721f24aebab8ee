import type { JsonValue } from './json-value.ts';

/** The opening marker of the untrusted data block in model prompts. */
export const untrustedOpen = '<untrusted-data>';
/** The closing marker of the untrusted data block in model prompts. */
export const untrustedClose = '</untrusted-data>';

/**
 * Wraps `data` as pretty JSON between the untrusted-data markers. `<`, `>` and `&` become
 * `\u003c`, `\u003e`, `\u0026` (still valid JSON, same data), so nothing inside can spell a
 * marker or any other tag: data cannot end the block early or open a new section.
 *
 * Every prompt puts text that comes from a tool's behaviour (errors, outputs, logs, evaluator
 * and gate reasons, rejected attempts and their code, example values) inside ONE such block
 * and nowhere else.
 */
export function untrustedDataBlock(data: JsonValue): string {
  const json = JSON.stringify(data, null, 2).replace(/[<>&]/g, (character) =>
    character === '<' ? '\\u003c' : character === '>' ? '\\u003e' : '\\u0026',
  );
  return `${untrustedOpen}\n${json}\n${untrustedClose}`;
}
