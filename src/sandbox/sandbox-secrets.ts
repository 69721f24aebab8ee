import { InvalidOptionError } from '../core/invalid-option-error.ts';
import type { GuestErrorInfo } from './sandbox-error.ts';
import type { SandboxLogEntry } from './sandbox-result.ts';

/** Secret names: a letter or `_`, then letters, digits or `_`; 1–64 characters (`API_TOKEN`). */
export const SECRET_NAME_PATTERN: RegExp = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Secret values given to one sandbox call, by name. The guest reads them with `secrets.get(name)`. */
export type SandboxSecrets = Readonly<Record<string, string>>;

/**
 * Where the app's credentials come from: a record `{ NAME: value }` or a resolver called with a
 * name at call time (return `undefined` when it has no such secret).
 */
export type SecretSource =
  | Readonly<Record<string, string>>
  | ((name: string) => string | undefined | Promise<string | undefined>);

const noSecrets: SandboxSecrets = Object.freeze({});

/**
 * Checks the secrets of a sandbox call: names match {@link SECRET_NAME_PATTERN}, values are
 * non-empty strings. Values never appear in the error.
 * @throws InvalidOptionError naming `call.secrets.<name>`.
 */
export function checkSandboxSecrets(value: unknown, field = 'call.secrets'): SandboxSecrets {
  if (value === undefined) return noSecrets;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError({ field, expected: 'an object { NAME: value }', value: '(not an object)' });
  }
  const copy: Record<string, string> = {};
  for (const [name, secret] of Object.entries(value)) {
    if (!SECRET_NAME_PATTERN.test(name)) {
      throw new InvalidOptionError({
        field: `${field}`,
        expected: 'secret names like API_TOKEN (letters, digits, _)',
        value: name,
      });
    }
    if (typeof secret !== 'string' || secret === '') {
      throw new InvalidOptionError({
        field: `${field}.${name}`,
        expected: 'a non-empty string',
        value: '(hidden)',
      });
    }
    copy[name] = secret;
  }
  return Object.freeze(copy);
}

/**
 * Resolves the values of `names` from `source`. Names the source cannot supply are left out
 * (the tool's `secrets.get` then throws a clear error). A resolver that throws or returns a
 * non-string is treated as "not supplied"; its error is not kept (it could quote the value).
 */
export async function resolveSecretValues(
  names: readonly string[] | undefined,
  source: SecretSource | undefined,
): Promise<SandboxSecrets> {
  const values: Record<string, string> = {};
  if (!names || names.length === 0 || source === undefined) return values;
  for (const name of names) {
    let value: unknown;
    try {
      value =
        typeof source === 'function'
          ? await source(name)
          : Object.hasOwn(source, name)
            ? source[name]
            : undefined;
    } catch {
      value = undefined;
    }
    if (typeof value === 'string' && value !== '') values[name] = value;
  }
  return values;
}

/** The forms a value is searched for: as is, JSON-escaped, URL-encoded, base64 and base64url. */
function encodedForms(value: string): string[] {
  const forms = new Set<string>([value]);
  forms.add(JSON.stringify(value).slice(1, -1));
  forms.add(JSON.stringify(JSON.stringify(value)).slice(3, -3));
  try {
    forms.add(encodeURIComponent(value));
  } catch {
    // lone surrogates: no URL-encoded form
  }
  const base64 = Buffer.from(value, 'utf8').toString('base64');
  forms.add(base64);
  forms.add(base64.replace(/=+$/, ''));
  forms.add(Buffer.from(value, 'utf8').toString('base64url'));
  forms.add(Buffer.from(value, 'utf8').toString('hex'));
  return [...forms].filter((form) => form.length > 0);
}

/**
 * Replaces every occurrence of a secret value (as is, JSON-escaped, URL-encoded, base64,
 * base64url, hex) with `[secret:NAME]` in what leaves the sandbox: results, console entries,
 * error messages and stacks. Longer forms are replaced first so that a value containing
 * another is hidden whole.
 */
export class SecretScrubber {
  readonly #forms: { form: string; name: string }[];

  constructor(secrets: SandboxSecrets) {
    const forms: { form: string; name: string }[] = [];
    for (const [name, value] of Object.entries(secrets)) {
      for (const form of encodedForms(value)) forms.push({ form, name });
    }
    forms.sort((a, b) => b.form.length - a.form.length);
    this.#forms = forms;
  }

  /** True when there is nothing to scrub. */
  get empty(): boolean {
    return this.#forms.length === 0;
  }

  /** `text` with every secret form replaced. */
  text(text: string): string {
    let result = text;
    for (const { form, name } of this.#forms) {
      if (result.includes(form)) result = result.split(form).join(`[secret:${name}]`);
    }
    return result;
  }

  /** True when `text` contains any secret form. */
  contains(text: string): boolean {
    return this.#forms.some(({ form }) => text.includes(form));
  }

  /**
   * A JSON result (as text) with secrets replaced in every string and key; a number or boolean
   * whose text is a secret becomes the `[secret:NAME]` string.
   */
  json(json: string): unknown {
    const value: unknown = JSON.parse(json);
    if (this.empty || !this.contains(json)) return value;
    return JSON.parse(JSON.stringify(value, (_key, item: unknown) => this.#scrubItem(item)));
  }

  #scrubItem(item: unknown): unknown {
    if (typeof item === 'string') return this.text(item);
    if (typeof item === 'number' || typeof item === 'boolean') {
      const text = String(item);
      return this.contains(text) ? this.text(text) : item;
    }
    if (typeof item === 'object' && item !== null && !Array.isArray(item)) {
      const entries = Object.entries(item);
      if (!entries.some(([key]) => this.contains(key))) return item;
      return Object.fromEntries(entries.map(([key, value]) => [this.text(key), value]));
    }
    return item;
  }

  /** Console entries with secrets replaced. */
  logs(logs: readonly SandboxLogEntry[]): SandboxLogEntry[] {
    return logs.map((entry) =>
      this.contains(entry.message) ? { ...entry, message: this.text(entry.message) } : entry,
    );
  }

  /** A guest error description with secrets replaced. */
  guestError(info: GuestErrorInfo | undefined): GuestErrorInfo | undefined {
    if (info === undefined) return undefined;
    return {
      name: this.text(info.name),
      message: this.text(info.message),
      ...(info.stack === undefined ? {} : { stack: this.text(info.stack) }),
    };
  }
}
