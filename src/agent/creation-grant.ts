import { type AllowEntry, classifyAddress, parseAllowEntry } from '../sandbox/network-policy.ts';
import { formatGrantEntry, type ResolvedCreationOptions } from './agent-options.ts';

/**
 * Why `request_new_tool` refused a request, as the model sees it in `{ error: { code, message } }`:
 *
 * - `CREATION_DISABLED`: the app turned tool creation off.
 * - `CAPABILITY_NOT_GRANTED`: a host or secret outside the app's `creation` grant.
 * - `TOOL_LIMIT_REACHED`: `creation.maxTools` tools were already created.
 * - `CREATION_NOT_APPROVED`: the app's `creation.approve` said no (or threw).
 * - `TOOL_EXISTS`: a tool with that name exists.
 * - `GENERATION_UNAVAILABLE`: no model is configured to write tools.
 * - `GENERATION_FAILED`: the generated code failed validation or its examples.
 * - `UNSUPPORTED_SCHEMA_KEYWORD`: the requested input schema uses a keyword model providers
 *   reject (see `checkProviderSchema`); nothing was generated.
 * - `INVALID_OUTPUT_SCHEMA`: the requested output schema is not a usable schema (not an object,
 *   too large or deep, invalid, a refused keyword), or an example's output does not match it;
 *   nothing was generated.
 */
export type CreationRefusalCode =
  | 'CREATION_DISABLED'
  | 'CAPABILITY_NOT_GRANTED'
  | 'TOOL_LIMIT_REACHED'
  | 'CREATION_NOT_APPROVED'
  | 'TOOL_EXISTS'
  | 'GENERATION_UNAVAILABLE'
  | 'GENERATION_FAILED'
  | 'UNSUPPORTED_SCHEMA_KEYWORD'
  | 'INVALID_OUTPUT_SCHEMA';

/** The outcome of {@link CreationGrant.check}. */
export type GrantDecision =
  | { readonly ok: true; readonly network: string[]; readonly secrets: string[] }
  | { readonly ok: false; readonly code: 'CAPABILITY_NOT_GRANTED'; readonly message: string };

// Names that lead to the machine itself or to its private network, whatever DNS says.
const internalNames =
  /(^|\.)(localhost|localdomain|local|internal|intranet|lan|home|corp|private|home\.arpa)$/;

/**
 * True for hosts a model may only get when the app lists that exact `host:port`: non-public IP
 * literals (loopback, private, link-local such as 169.254.169.254, reserved, IPv4-mapped IPv6),
 * single-label names (`localhost`, `metadata`) and internal names (`*.internal`, `*.local`, …).
 */
export function isSensitiveHost(host: string): boolean {
  const bare = host.replace(/\.+$/, '');
  const addressClass = classifyAddress(bare);
  if (addressClass !== undefined) return addressClass !== 'public';
  if (!bare.includes('.')) return true;
  return internalNames.test(bare);
}

interface GrantEntry {
  readonly host: string;
  readonly port: number | undefined;
  readonly wildcard: boolean;
}

function normalise(entry: AllowEntry): GrantEntry {
  return { host: entry.host.replace(/\.+$/, ''), port: entry.port, wildcard: entry.wildcard };
}

/**
 * The app's grant for model-created tools, and the check of each `request_new_tool` against it.
 *
 * A model's network entry is granted only when it is covered by an app entry after
 * normalisation (lower case, WHATWG host parsing so `2130706433` and `0x7f.1` are `127.0.0.1`,
 * no trailing dot, IPv6 compressed):
 * - it equals an app entry: same host, same port (a missing port means 80/443 and only matches
 *   a missing port), same wildcard;
 * - or it is a host name under a port-less app wildcard (`*.example.com` covers
 *   `api.example.com`, never `example.com` or another port), and the host is not sensitive;
 * - a model wildcard (`*.example.com`, `*.com`, `*`) only when the app lists that same wildcard;
 * - a sensitive host ({@link isSensitiveHost}) only when the app lists that exact `host:port`.
 *
 * The tool is stored with the canonical form of the model's entries, so its network policy
 * never treats a host reached through an app wildcard as an exact (non-public-capable) entry.
 */
export class CreationGrant {
  readonly #options: ResolvedCreationOptions;
  readonly #entries: readonly GrantEntry[];

  constructor(options: ResolvedCreationOptions) {
    this.#options = options;
    this.#entries = options.network.allow.map((entry, index) =>
      normalise(parseAllowEntry(entry, `creation.network.allow[${index}]`)),
    );
  }

  /** The hosts granted, in canonical form. */
  get hosts(): readonly string[] {
    return this.#options.network.allow;
  }

  /** The secret names granted. */
  get secrets(): readonly string[] {
    return this.#options.secrets;
  }

  /** Decides whether a request's `network` and `secrets` are within the grant. */
  check(network: readonly unknown[] | undefined, secrets: readonly unknown[] | undefined): GrantDecision {
    const grantedNetwork: string[] = [];
    const refusedHosts: string[] = [];
    for (const requested of network ?? []) {
      const granted = this.#grantHost(requested);
      if (granted === undefined)
        refusedHosts.push(typeof requested === 'string' ? requested : String(requested));
      else if (!grantedNetwork.includes(granted)) grantedNetwork.push(granted);
    }
    const grantedSecrets: string[] = [];
    const refusedSecrets: string[] = [];
    for (const requested of secrets ?? []) {
      if (typeof requested === 'string' && this.#options.secrets.includes(requested)) {
        if (!grantedSecrets.includes(requested)) grantedSecrets.push(requested);
      } else {
        refusedSecrets.push(String(requested));
      }
    }
    if (refusedHosts.length === 0 && refusedSecrets.length === 0) {
      return { ok: true, network: grantedNetwork, secrets: grantedSecrets };
    }
    const parts: string[] = [];
    if (refusedHosts.length > 0) {
      parts.push(
        `Network access to ${refusedHosts.map(quote).join(', ')} is not granted by this app. ${this.describeNetwork()}`,
      );
    }
    if (refusedSecrets.length > 0) {
      parts.push(
        `Secret${refusedSecrets.length === 1 ? '' : 's'} ${refusedSecrets.map(quote).join(', ')} ${refusedSecrets.length === 1 ? 'is' : 'are'} not granted. ${this.describeSecrets()}`,
      );
    }
    parts.push('Ask again with only granted capabilities (or none); nothing was created.');
    return { ok: false, code: 'CAPABILITY_NOT_GRANTED', message: parts.join(' ') };
  }

  /** One sentence on the hosts new tools may use. */
  describeNetwork(): string {
    const hosts = this.#options.network.allow;
    return hosts.length === 0
      ? 'New tools get no network access: compute results locally.'
      : `New tools may fetch only from: ${hosts.map(quote).join(', ')} (exactly these entries; "*.domain" covers its subdomains).`;
  }

  /** One sentence on the secrets new tools may use. */
  describeSecrets(): string {
    const names = this.#options.secrets;
    return names.length === 0
      ? 'No secrets are available to new tools.'
      : `Secrets new tools may ask for by name (read in the tool with secrets.get(NAME)): ${names.map(quote).join(', ')}.`;
  }

  #grantHost(requested: unknown): string | undefined {
    if (typeof requested !== 'string' || requested.length > 300) return undefined;
    let parsed: GrantEntry;
    try {
      parsed = normalise(parseAllowEntry(requested, 'network'));
    } catch {
      return undefined;
    }
    if (parsed.host === '' || parsed.host === '*' || parsed.host.includes('*')) return undefined;
    const sensitive = isSensitiveHost(parsed.host);
    for (const entry of this.#entries) {
      const sameHost = entry.host === parsed.host;
      const samePort = entry.port === parsed.port;
      if (parsed.wildcard || entry.wildcard) {
        if (parsed.wildcard && entry.wildcard && sameHost && samePort) {
          return formatGrantEntry(parsed.host, parsed.port, true);
        }
        if (
          !parsed.wildcard &&
          entry.wildcard &&
          entry.port === undefined &&
          parsed.port === undefined &&
          !sensitive &&
          parsed.host.endsWith(`.${entry.host}`)
        ) {
          return formatGrantEntry(parsed.host, undefined, false);
        }
        continue;
      }
      if (sameHost && samePort && (!sensitive || entry.port !== undefined)) {
        return formatGrantEntry(parsed.host, parsed.port, false);
      }
    }
    return undefined;
  }
}

function quote(text: string): string {
  return JSON.stringify(text.length > 100 ? `${text.slice(0, 97)}...` : text);
}
