/**
 * `Response`: a body held as one ArrayBuffer, readable once (`clone()` to read it twice).
 * `fetch` builds its responses through `createResponse`, which sets what the constructor may not
 * (any status, the final URL, `redirected`).
 */
import { host, state } from './call-state.ts';
import { Headers } from './headers.ts';
import { apply, isView, jsonStringify, objectToString, StringCtor } from './intrinsics.ts';
import { toArrayBuffer } from './text.ts';
import { URLSearchParams } from './url-search-params.ts';

export function bodyBytes(body: unknown): ArrayBuffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return host().encodeUtf8(body);
  if (body instanceof URLSearchParams) return host().encodeUtf8(body.toString());
  if (apply(objectToString, body, []) === '[object ArrayBuffer]' || isView(body)) {
    return toArrayBuffer(body, 'body').slice(0);
  }
  return host().encodeUtf8(StringCtor(body));
}

/** The `Response` options the guest reads (each read once, through its getter if any). */
interface ResponseSettings {
  status?: unknown;
  statusText?: unknown;
  headers?: unknown;
}

export interface ResponseMeta {
  status: number;
  statusText: string;
  headers: [string, string][];
  url: string;
  redirected: boolean;
}
export let createResponse: (meta: ResponseMeta, body: ArrayBuffer) => Response = () => {
  throw new TypeError('Response is not ready');
};
export class Response {
  #status: number;
  #statusText: string;
  #headers: Headers;
  #body: ArrayBuffer | undefined;
  #used = false;
  #url = '';
  #redirected = false;
  constructor(body?: unknown, init?: unknown) {
    const settings = (typeof init === 'object' && init !== null ? init : {}) as ResponseSettings;
    const status = settings.status === undefined ? 200 : Number(settings.status);
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new RangeError(
        `Response status must be between 200 and 599; received ${StringCtor(settings.status)}`,
      );
    }
    this.#status = status;
    this.#statusText = settings.statusText === undefined ? '' : StringCtor(settings.statusText);
    this.#headers = new Headers(settings.headers);
    this.#body = bodyBytes(body);
    if (typeof body === 'string' && !this.#headers.has('content-type')) {
      this.#headers.set('content-type', 'text/plain;charset=UTF-8');
    }
  }
  get ok(): boolean {
    return this.#status >= 200 && this.#status <= 299;
  }
  get status(): number {
    return this.#status;
  }
  get statusText(): string {
    return this.#statusText;
  }
  get headers(): Headers {
    return this.#headers;
  }
  get url(): string {
    return this.#url;
  }
  get redirected(): boolean {
    return this.#redirected;
  }
  get type(): string {
    return 'basic';
  }
  get bodyUsed(): boolean {
    return this.#used;
  }
  #consume(): ArrayBuffer {
    if (this.#used) throw new TypeError('Body has already been read; call response.clone() to read it twice');
    this.#used = true;
    return this.#body ?? new ArrayBuffer(0);
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    return new state.realm.global.Uint8Array(this.#consume()).slice().buffer;
  }
  async bytes(): Promise<Uint8Array> {
    return new state.realm.global.Uint8Array(this.#consume()).slice();
  }
  async text(): Promise<string> {
    return host().decodeUtf8(this.#consume(), false, false);
  }
  async json(): Promise<unknown> {
    const text = host().decodeUtf8(this.#consume(), false, false);
    return state.realm.JSON.parse(text);
  }
  clone(): Response {
    if (this.#used) throw new TypeError('Response body is already used');
    const copy = new Response(this.#body === undefined ? null : this.#body.slice(0), {
      status: this.#status,
      statusText: this.#statusText,
      headers: this.#headers,
    });
    copy.#url = this.#url;
    copy.#redirected = this.#redirected;
    return copy;
  }
  static json(data: unknown, init?: unknown): Response {
    const settings = (typeof init === 'object' && init !== null ? init : {}) as ResponseSettings;
    const headers = new Headers(settings.headers);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    return new Response(jsonStringify(data), { ...settings, headers });
  }
  static {
    createResponse = (meta, body) => {
      const response = new Response(null);
      response.#status = meta.status;
      response.#statusText = meta.statusText;
      response.#headers = new Headers(meta.headers);
      response.#body = body;
      response.#url = meta.url;
      response.#redirected = meta.redirected;
      return response;
    };
  }
}
