/**
 * `Headers` for `fetch` and `Response`: lower-cased names, sorted iteration, `set-cookie` kept
 * apart. `getSetCookie` is not promised to tools (kept: the intrinsics manifest pins it).
 */
import { jsonStringify, objectKeys, type PropertyBag, StringCtor } from './intrinsics.ts';

export const headerNamePattern = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
export function headerName(name: unknown): string {
  const text = StringCtor(name);
  if (!headerNamePattern.test(text)) throw new TypeError(`Invalid header name: ${jsonStringify(text)}`);
  return text.toLowerCase();
}
export function headerValue(value: unknown): string {
  const text = StringCtor(value).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
  if (/[\0\r\n]/.test(text)) throw new TypeError('Invalid header value');
  return text;
}

export class Headers {
  #map = new Map<string, string[]>();
  constructor(init?: unknown) {
    if (init === undefined || init === null) return;
    if (init instanceof Headers) {
      for (const [name, value] of init) this.append(name, value);
      return;
    }
    if (typeof init !== 'object')
      throw new TypeError('Headers must be an object, an array of pairs or Headers');
    if (typeof (init as PropertyBag)[Symbol.iterator] === 'function') {
      for (const pair of init as Iterable<unknown>) {
        const items = [...(pair as Iterable<unknown>)];
        if (items.length !== 2) throw new TypeError('Each header must be a [name, value] pair');
        this.append(items[0], items[1]);
      }
      return;
    }
    for (const name of objectKeys(init)) this.append(name, (init as PropertyBag)[name]);
  }
  append(name: unknown, value: unknown): void {
    const key = headerName(name);
    const list = this.#map.get(key);
    if (list) list.push(headerValue(value));
    else this.#map.set(key, [headerValue(value)]);
  }
  set(name: unknown, value: unknown): void {
    this.#map.set(headerName(name), [headerValue(value)]);
  }
  get(name: unknown): string | null {
    const list = this.#map.get(headerName(name));
    return list === undefined ? null : list.join(', ');
  }
  getSetCookie(): string[] {
    return [...(this.#map.get('set-cookie') ?? [])];
  }
  has(name: unknown): boolean {
    return this.#map.has(headerName(name));
  }
  delete(name: unknown): void {
    this.#map.delete(headerName(name));
  }
  forEach(callback: (value: string, name: string, headers: Headers) => void, thisArg?: unknown): void {
    for (const [name, value] of this.entries()) callback.call(thisArg, value, name, this);
  }
  *entries(): IterableIterator<[string, string]> {
    const names = [...this.#map.keys()].sort();
    for (const name of names) {
      const list = this.#map.get(name) ?? [];
      if (name === 'set-cookie') for (const value of list) yield [name, value];
      else yield [name, list.join(', ')];
    }
  }
  *keys(): IterableIterator<string> {
    for (const [name] of this.entries()) yield name;
  }
  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}
