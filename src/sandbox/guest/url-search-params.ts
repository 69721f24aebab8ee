/**
 * `URLSearchParams`: the list is kept here; parsing and serialising use the worker's WHATWG
 * implementation (`parseQuery`/`serializeQuery`) so encoding matches Node exactly. A `URL`'s
 * `searchParams` is attached to its URL through `attachQuery`, so edits update the URL.
 */
import { host } from './call-state.ts';
import { noop } from './console.ts';
import { jsonParse, jsonStringify, objectKeys, type PropertyBag, StringCtor } from './intrinsics.ts';

export function parseQuery(text: string): [string, string][] {
  return jsonParse(host().parseQuery(text.startsWith('?') ? text.slice(1) : text));
}

export let attachQuery: (params: URLSearchParams, list: [string, string][], onUpdate: () => void) => void =
  noop;
export class URLSearchParams {
  #list: [string, string][] = [];
  #onUpdate: (() => void) | undefined;
  constructor(init?: unknown) {
    if (init === undefined || init === null) return;
    if (typeof init === 'object' || typeof init === 'function') {
      const iterator = (init as PropertyBag)[Symbol.iterator];
      if (typeof iterator === 'function') {
        for (const pair of init as Iterable<unknown>) {
          const items = [...(pair as Iterable<unknown>)];
          if (items.length !== 2)
            throw new TypeError('Each query pair must be an iterable [name, value] tuple');
          this.#list.push([StringCtor(items[0]), StringCtor(items[1])]);
        }
        return;
      }
      for (const name of objectKeys(init)) this.#list.push([name, StringCtor((init as PropertyBag)[name])]);
      return;
    }
    this.#list = parseQuery(StringCtor(init));
  }
  get size(): number {
    return this.#list.length;
  }
  append(name: unknown, value: unknown): void {
    this.#list.push([StringCtor(name), StringCtor(value)]);
    this.#onUpdate?.();
  }
  delete(name: unknown, value?: unknown): void {
    const key = StringCtor(name);
    const match = value === undefined ? undefined : StringCtor(value);
    this.#list = this.#list.filter(
      ([entryName, entryValue]) => entryName !== key || (match !== undefined && entryValue !== match),
    );
    this.#onUpdate?.();
  }
  get(name: unknown): string | null {
    const key = StringCtor(name);
    const found = this.#list.find(([entryName]) => entryName === key);
    return found ? found[1] : null;
  }
  getAll(name: unknown): string[] {
    const key = StringCtor(name);
    return this.#list.filter(([entryName]) => entryName === key).map(([, value]) => value);
  }
  has(name: unknown, value?: unknown): boolean {
    const key = StringCtor(name);
    const match = value === undefined ? undefined : StringCtor(value);
    return this.#list.some(
      ([entryName, entryValue]) => entryName === key && (match === undefined || entryValue === match),
    );
  }
  set(name: unknown, value: unknown): void {
    const key = StringCtor(name);
    const index = this.#list.findIndex(([entryName]) => entryName === key);
    if (index < 0) {
      this.#list.push([key, StringCtor(value)]);
    } else {
      this.#list[index] = [key, StringCtor(value)];
      this.#list = this.#list.filter(([entryName], position) => entryName !== key || position === index);
    }
    this.#onUpdate?.();
  }
  sort(): void {
    this.#list = this.#list
      .map((pair, index) => ({ pair, index }))
      .sort((a, b) => (a.pair[0] < b.pair[0] ? -1 : a.pair[0] > b.pair[0] ? 1 : a.index - b.index))
      .map(({ pair }) => pair);
    this.#onUpdate?.();
  }
  forEach(callback: (value: string, name: string, params: URLSearchParams) => void, thisArg?: unknown): void {
    for (const [name, value] of [...this.#list]) callback.call(thisArg, value, name, this);
  }
  *entries(): IterableIterator<[string, string]> {
    for (const [name, value] of [...this.#list]) yield [name, value];
  }
  *keys(): IterableIterator<string> {
    for (const [name] of [...this.#list]) yield name;
  }
  *values(): IterableIterator<string> {
    for (const [, value] of [...this.#list]) yield value;
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
  toString(): string {
    return host().serializeQuery(jsonStringify(this.#list));
  }
  static {
    attachQuery = (params, list, onUpdate) => {
      params.#list = list;
      params.#onUpdate = onUpdate;
    };
  }
}
