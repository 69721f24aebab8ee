/**
 * `URL`, parsed by the worker's WHATWG implementation (`parseUrl`); the guest keeps the parsed
 * components.
 *
 * Not promised to tools: the component setters (`url.pathname = …`, `url.host = …`, …, each a
 * worker round trip through `updateUrl`) and `URL.canParse` / `URL.parse`. Kept because the
 * guest allocation tests (a failed allocation must surface as MEMORY) exercise them and the
 * intrinsics manifest pins them.
 */
import { host } from './call-state.ts';
import { rethrowInternal, truncate } from './errors.ts';
import { jsonParse, StringCtor } from './intrinsics.ts';
import { attachQuery, parseQuery, URLSearchParams } from './url-search-params.ts';

export interface UrlParts {
  href: string;
  origin: string;
  protocol: string;
  username: string;
  password: string;
  host: string;
  hostname: string;
  port: string;
  pathname: string;
  search: string;
  hash: string;
}

export function parseUrl(input: unknown, base: unknown): UrlParts {
  const text = StringCtor(input);
  try {
    return jsonParse(host().parseUrl(text, base === undefined ? undefined : StringCtor(base)));
  } catch (error) {
    rethrowInternal(error);
    throw new TypeError(`Invalid URL: ${truncate(text, 200)}`);
  }
}

export class URL {
  #parts: UrlParts;
  #query: URLSearchParams;
  constructor(url: unknown, base?: unknown) {
    this.#parts = parseUrl(url, base);
    this.#query = new URLSearchParams();
    this.#attach();
  }
  #attach(): void {
    attachQuery(this.#query, parseQuery(this.#parts.search), () => {
      const search = this.#query.toString();
      this.#parts = jsonParse(host().updateUrl(this.#parts.href, 'search', search));
    });
  }
  #update(component: string, value: unknown): void {
    this.#parts = jsonParse(host().updateUrl(this.#parts.href, component, StringCtor(value)));
    if (component === 'search' || component === 'href') this.#attach();
  }
  get href(): string {
    return this.#parts.href;
  }
  set href(value: string) {
    this.#parts = parseUrl(value, undefined);
    this.#attach();
  }
  get origin(): string {
    return this.#parts.origin;
  }
  get protocol(): string {
    return this.#parts.protocol;
  }
  set protocol(value: string) {
    this.#update('protocol', value);
  }
  get username(): string {
    return this.#parts.username;
  }
  set username(value: string) {
    this.#update('username', value);
  }
  get password(): string {
    return this.#parts.password;
  }
  set password(value: string) {
    this.#update('password', value);
  }
  get host(): string {
    return this.#parts.host;
  }
  set host(value: string) {
    this.#update('host', value);
  }
  get hostname(): string {
    return this.#parts.hostname;
  }
  set hostname(value: string) {
    this.#update('hostname', value);
  }
  get port(): string {
    return this.#parts.port;
  }
  set port(value: string) {
    this.#update('port', value);
  }
  get pathname(): string {
    return this.#parts.pathname;
  }
  set pathname(value: string) {
    this.#update('pathname', value);
  }
  get search(): string {
    return this.#parts.search;
  }
  set search(value: string) {
    this.#update('search', value);
  }
  get hash(): string {
    return this.#parts.hash;
  }
  set hash(value: string) {
    this.#update('hash', value);
  }
  get searchParams(): URLSearchParams {
    return this.#query;
  }
  toString(): string {
    return this.#parts.href;
  }
  toJSON(): string {
    return this.#parts.href;
  }
  static canParse(url: unknown, base?: unknown): boolean {
    try {
      parseUrl(url, base);
      return true;
    } catch (error) {
      rethrowInternal(error);
      return false;
    }
  }
  static parse(url: unknown, base?: unknown): URL | null {
    try {
      return new URL(url, base);
    } catch (error) {
      rethrowInternal(error);
      return null;
    }
  }
}
