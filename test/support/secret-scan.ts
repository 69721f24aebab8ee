/**
 * Finds a secret value in bytes written or sent anywhere: as is, JSON-escaped, URL-encoded,
 * base64, base64url and hex. Tests collect every byte source (files, prompts, events, logs)
 * and call {@link findSecret}; later features add their own sources to the list.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';

/** One place bytes went: a label for the failure message and the bytes (or text). */
export interface ByteSource {
  readonly label: string;
  readonly bytes: Uint8Array | string;
}

/** Every form of `secret` searched for. */
export function secretForms(secret: string): string[] {
  const utf8 = Buffer.from(secret, 'utf8');
  return [
    ...new Set([
      secret,
      JSON.stringify(secret).slice(1, -1),
      encodeURIComponent(secret),
      utf8.toString('base64').replace(/=+$/, ''),
      utf8.toString('base64url'),
      utf8.toString('hex'),
    ]),
  ];
}

/** The labels (with the form found) of every source that contains the secret in any form. */
export function findSecret(sources: readonly ByteSource[], secret: string): string[] {
  const forms = secretForms(secret).map((form) => Buffer.from(form, 'utf8'));
  const found: string[] = [];
  for (const source of sources) {
    const bytes =
      typeof source.bytes === 'string' ? Buffer.from(source.bytes, 'utf8') : Buffer.from(source.bytes);
    for (const form of forms) {
      if (bytes.includes(form)) found.push(`${source.label} (${form.toString('utf8')})`);
    }
    // UTF-16 (a JavaScript string dumped as is) of the raw value.
    if (bytes.includes(Buffer.from(secret, 'utf16le'))) found.push(`${source.label} (utf16)`);
  }
  return found;
}

/** Every file under `dir`, recursively, as byte sources. */
export async function fileSources(dir: string): Promise<ByteSource[]> {
  const sources: ByteSource[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    sources.push({ label: `file ${path}`, bytes: await readFile(path) });
  }
  return sources;
}

/** A deep, error-aware rendering of any value (errors with message, stack and cause). */
export function render(value: unknown): string {
  return inspect(value, {
    depth: 50,
    maxArrayLength: Number.POSITIVE_INFINITY,
    maxStringLength: Number.POSITIVE_INFINITY,
    breakLength: Number.POSITIVE_INFINITY,
  });
}
