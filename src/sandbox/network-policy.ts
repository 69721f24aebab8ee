import { InvalidOptionError } from '../core/invalid-option-error.ts';

/** How an IP address is classified by {@link classifyAddress}. */
export type AddressClass = 'public' | 'loopback' | 'private' | 'link-local' | 'reserved';

/** One parsed `network.allow` entry. */
export interface AllowEntry {
  /** Canonical host name (lower case, punycode) or IP address (IPv6 without brackets). */
  readonly host: string;
  /** Explicit port, or `undefined` for "the scheme's default port" (80 for http, 443 for https). */
  readonly port: number | undefined;
  /** `*.example.com`: matches any subdomain of `host`, not `host` itself. */
  readonly wildcard: boolean;
  /**
   * Whether requests this entry admits may connect to non-public addresses (loopback, private,
   * link-local, unique-local, CGNAT, reserved). True for an IP literal listed with its port (an
   * explicit grant of that address) and for any entry written with the ` allow-private` flag;
   * false otherwise, so a host NAME that resolves (or is re-pointed, DNS rebinding) to a private
   * address is refused.
   */
  readonly allowPrivate: boolean;
}

/** The outcome of {@link NetworkPolicy.check}. */
export type NetworkDecision =
  | {
      readonly allowed: true;
      /** The parsed, canonical URL. */
      readonly url: URL;
      /** Host name or IP to connect to (IPv6 without brackets). */
      readonly hostname: string;
      /** Effective port. */
      readonly port: number;
      /**
       * True when a matching entry admits non-public addresses ({@link AllowEntry.allowPrivate}):
       * an IP literal listed with its port, or an entry with the ` allow-private` flag.
       */
      readonly allowPrivate: boolean;
    }
  | {
      readonly allowed: false;
      /** `invalid`: not a URL at all (a TypeError for the tool); `denied`: a capability violation. */
      readonly kind: 'invalid' | 'denied';
      /** What happened and how to allow it. */
      readonly reason: string;
    };

const hostPattern = /^(\*\.)?([^\s:/?#@[\]]+)(?::(\d{1,5}))?$/;
const allowPrivateFlag = /\s+allow-private$/;
const ipv6EntryPattern = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/;

/**
 * Deny-by-default network policy for sandboxed `fetch`: only listed `host[:port]` entries may be
 * reached, only over http/https, and non-public addresses (loopback, private, link-local such as
 * the cloud metadata service at 169.254.169.254, unique-local and IPv4-mapped IPv6, CGNAT,
 * unspecified and other reserved ranges) only when an IP literal is listed with its port, or the
 * entry carries the ` allow-private` flag. A host NAME never reaches a non-public address
 * without that flag, whatever its DNS says (DNS rebinding). URLs are parsed with the WHATWG parser
 * first, so `127.1`, `2130706433`, `0x7f.0.0.1` and `[::ffff:7f00:1]` all become `127.0.0.1`
 * before any check. The same checks run again for every redirect hop and for every address a
 * host name resolves to, inside the socket's own lookup (the checked address is the one used).
 *
 * Entry forms: `api.example.com` (ports 80/443 only), `api.example.com:8443`,
 * `*.example.com` (subdomains only), `127.0.0.1:8787`, `[::1]:8787`, and any of them followed
 * by ` allow-private` (`'db.internal:5432 allow-private'`, `'localhost:8787 allow-private'`).
 *
 * @example
 * ```ts
 * const policy = new NetworkPolicy(['api.example.com', '127.0.0.1:8787']);
 * policy.check('http://127.1:8787/x').allowed; // true: listed exactly
 * policy.check('http://169.254.169.254/').allowed; // false
 * ```
 */
export class NetworkPolicy {
  /** The parsed entries. */
  readonly entries: readonly AllowEntry[];

  /**
   * @param allow - entries as described above.
   * @param optionPath - option path used in {@link InvalidOptionError} messages.
   * @throws InvalidOptionError when an entry is malformed.
   */
  constructor(allow: readonly string[], optionPath = 'network.allow') {
    this.entries = Object.freeze(
      allow.map((entry, index) => parseAllowEntry(entry, `${optionPath}[${index}]`)),
    );
  }

  /** Decides whether a request to `target` may be sent. */
  check(target: string): NetworkDecision {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      return { allowed: false, kind: 'invalid', reason: `Invalid URL: ${quote(target)}` };
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return {
        allowed: false,
        kind: 'denied',
        reason: `The "${url.protocol}" scheme is not allowed: tools can only fetch http: and https: URLs.`,
      };
    }
    if (url.username !== '' || url.password !== '') {
      return {
        allowed: false,
        kind: 'invalid',
        reason: 'Request URLs cannot include credentials; send them in an Authorization header.',
      };
    }
    const hostname = stripBrackets(url.hostname);
    const defaultPort = url.protocol === 'https:' ? 443 : 80;
    const port = url.port === '' ? defaultPort : Number(url.port);
    const display = formatHostPort(hostname, port === defaultPort ? undefined : port);
    let matched = false;
    let allowPrivate = false;
    for (const entry of this.entries) {
      const hostMatches = entry.wildcard ? hostname.endsWith(`.${entry.host}`) : hostname === entry.host;
      const portMatches = entry.port === undefined ? port === defaultPort : port === entry.port;
      if (hostMatches && portMatches) {
        matched = true;
        if (entry.allowPrivate) allowPrivate = true;
      }
    }
    if (!matched) {
      return {
        allowed: false,
        kind: 'denied',
        reason: `Host "${display}" is not in network.allow; add "${display}" to network.allow to let tools reach it.`,
      };
    }
    const addressDenial = this.addressDenial(hostname, port, allowPrivate);
    if (addressDenial !== undefined) return { allowed: false, kind: 'denied', reason: addressDenial };
    return { allowed: true, url, hostname, port, allowPrivate };
  }

  /**
   * Checks one concrete address a request would connect to. Returns why it is denied, or
   * `undefined` when it may be used. Host names that are not IP literals are not checked here;
   * check each address they resolve to.
   */
  addressDenial(address: string, port: number, allowPrivate: boolean, host?: string): string | undefined {
    const addressClass = classifyAddress(address);
    if (addressClass === undefined || addressClass === 'public' || allowPrivate) return undefined;
    const hostPort = formatHostPort(address, port);
    const what = `Address ${address} is ${addressClass === 'reserved' ? 'a reserved' : `a ${addressClass}`} address`;
    if (host !== undefined && classifyAddress(host) === undefined) {
      const entry = formatHostPort(host, port);
      return `${what}; a host name only reaches non-public addresses when its entry opts in: list "${entry} allow-private" in network.allow (or list "${hostPort}" itself).`;
    }
    return `${what}; non-public addresses are only reachable when "${hostPort}" (host and port) is listed exactly in network.allow.`;
  }
}

/**
 * Parses and validates one `network.allow` entry.
 * @throws InvalidOptionError naming `optionPath` when the entry is malformed.
 */
export function parseAllowEntry(entry: unknown, optionPath: string): AllowEntry {
  const expected =
    'a "host", "host:port", "*.domain" or "[ipv6]:port" entry without scheme or path, optionally followed by " allow-private"';
  if (typeof entry !== 'string') throw new InvalidOptionError({ field: optionPath, expected, value: entry });
  let trimmed = entry.trim().toLowerCase();
  const flagged = allowPrivateFlag.test(trimmed);
  if (flagged) trimmed = trimmed.replace(allowPrivateFlag, '');
  let rawHost: string;
  let rawPort: string | undefined;
  let wildcard = false;
  const ipv6 = ipv6EntryPattern.exec(trimmed);
  if (ipv6) {
    rawHost = `[${ipv6[1]}]`;
    rawPort = ipv6[2];
  } else {
    const match = hostPattern.exec(trimmed);
    if (!match) throw new InvalidOptionError({ field: optionPath, expected, value: entry });
    wildcard = match[1] !== undefined;
    rawHost = match[2] as string;
    rawPort = match[3];
  }
  let host: string;
  try {
    host = stripBrackets(new URL(`http://${rawHost}/`).hostname);
  } catch {
    throw new InvalidOptionError({ field: optionPath, expected, value: entry });
  }
  if (host === '' || (wildcard && classifyAddress(host) !== undefined)) {
    throw new InvalidOptionError({ field: optionPath, expected, value: entry });
  }
  let port: number | undefined;
  if (rawPort !== undefined) {
    port = Number(rawPort);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new InvalidOptionError({
        field: optionPath,
        expected: `${expected}, with a port between 1 and 65535`,
        value: entry,
      });
    }
  }
  // An IP literal listed with its port names the very address to connect to: an explicit grant.
  const explicitAddress = !wildcard && port !== undefined && classifyAddress(host) !== undefined;
  return Object.freeze({ host, port, wildcard, allowPrivate: flagged || explicitAddress });
}

/**
 * Classifies an IP address, or returns `undefined` when `address` is not an IP literal.
 * IPv4-mapped (`::ffff:a.b.c.d`), NAT64 (`64:ff9b::/96`) and 6to4 (`2002::/16`) IPv6 addresses
 * are classified by the IPv4 address they embed.
 */
export function classifyAddress(address: string): AddressClass | undefined {
  const bare = stripBrackets(address);
  const v4 = parseIpv4(bare);
  if (v4 !== undefined) return classifyIpv4(v4);
  const v6 = parseIpv6(bare);
  if (v6 === undefined) return undefined;
  return classifyIpv6(v6);
}

function classifyIpv4(value: number): AddressClass {
  const inRange = (base: string, bits: number) => {
    const start = parseIpv4(base) as number;
    const size = 2 ** (32 - bits);
    return value >= start && value < start + size;
  };
  if (inRange('127.0.0.0', 8)) return 'loopback';
  if (inRange('169.254.0.0', 16)) return 'link-local';
  if (inRange('10.0.0.0', 8) || inRange('172.16.0.0', 12) || inRange('192.168.0.0', 16)) return 'private';
  if (inRange('100.64.0.0', 10)) return 'private';
  if (
    inRange('0.0.0.0', 8) ||
    inRange('192.0.0.0', 24) ||
    inRange('192.0.2.0', 24) ||
    inRange('192.88.99.0', 24) ||
    inRange('198.18.0.0', 15) ||
    inRange('198.51.100.0', 24) ||
    inRange('203.0.113.0', 24) ||
    inRange('224.0.0.0', 4) ||
    inRange('240.0.0.0', 4)
  ) {
    return 'reserved';
  }
  return 'public';
}

function classifyIpv6(words: readonly number[]): AddressClass {
  const [w0, w1, w2, w3, w4, w5, w6, w7] = words as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const embedded = (high: number, low: number) => classifyIpv4(high * 65536 + low);
  const zeroPrefix = w0 === 0 && w1 === 0 && w2 === 0 && w3 === 0 && w4 === 0;
  if (zeroPrefix && w5 === 0xffff) return embedded(w6, w7); // ::ffff:a.b.c.d
  if (zeroPrefix && w5 === 0 && w6 === 0 && w7 === 1) return 'loopback'; // ::1
  if (zeroPrefix && w5 === 0) return 'reserved'; // :: and deprecated IPv4-compatible
  if (w0 === 0x64 && w1 === 0xff9b && w2 === 0 && w3 === 0 && w4 === 0 && w5 === 0) return embedded(w6, w7);
  if (w0 === 0x2002) return embedded(w1, w2); // 6to4
  if ((w0 & 0xffc0) === 0xfe80) return 'link-local';
  if ((w0 & 0xfe00) === 0xfc00 || (w0 & 0xffc0) === 0xfec0) return 'private';
  if ((w0 & 0xe000) === 0x2000) {
    if (w0 === 0x2001 && (w1 === 0x0db8 || w1 < 0x0200)) return 'reserved'; // documentation, Teredo, IETF
    return 'public';
  }
  return 'reserved';
}

function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

function parseIpv6(text: string): number[] | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || !text.includes(':')) return undefined;
  let head = text;
  const tailWords: number[] = [];
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    const v4 = parseIpv4(last);
    if (v4 === undefined) return undefined;
    tailWords.push(Math.floor(v4 / 65536), v4 % 65536);
    head = text.slice(0, lastColon + 1);
    if (!head.endsWith('::')) head = head.slice(0, -1);
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const toWords = (part: string) => (part === '' ? [] : part.split(':'));
  const left = toWords(halves[0] as string);
  const right = halves.length === 2 ? toWords(halves[1] as string) : [];
  const parsed: number[] = [];
  for (const word of [...left, ...right]) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(word)) return undefined;
    parsed.push(Number.parseInt(word, 16));
  }
  const total = parsed.length + tailWords.length;
  if (halves.length === 1 && total !== 8) return undefined;
  if (halves.length === 2 && total > 7) return undefined;
  const zeros = new Array<number>(8 - total).fill(0);
  const leftWords = parsed.slice(0, left.length);
  const rightWords = parsed.slice(left.length);
  return [...leftWords, ...zeros, ...rightWords, ...tailWords];
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function formatHostPort(host: string, port: number | undefined): string {
  const shown = host.includes(':') ? `[${host}]` : host;
  return port === undefined ? shown : `${shown}:${port}`;
}

function quote(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 197)}...` : text);
}
