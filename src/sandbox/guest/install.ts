/**
 * Installs the sandbox's globals on a realm's global object: `install` runs once on the hardened
 * realm (`realm` isolation) or once per call on a fresh context's global (`context` isolation).
 */
import { atob, btoa } from './base64.ts';
import { consoleObject } from './console.ts';
import { makeDate, random } from './determinism.ts';
import { DOMException } from './dom-exception.ts';
import { AbortController, AbortSignal, Event, EventTarget } from './events-abort.ts';
import { fetch } from './fetch.ts';
import { globalDescriptor, removeResizableBuffers } from './hardening.ts';
import { Headers } from './headers.ts';
import {
  defineProperties,
  defineProperty,
  freeze,
  ObjectCtor,
  objectKeys,
  type RealmGlobal,
} from './intrinsics.ts';
import { Response } from './response.ts';
import { secretsObject } from './secrets.ts';
import { structuredClone } from './structured-clone.ts';
import { TextDecoder, TextEncoder } from './text.ts';
import { clearInterval, clearTimeout, queueMicrotask, setInterval, setTimeout } from './timers.ts';
import { URL } from './url.ts';
import { URLSearchParams } from './url-search-params.ts';

/**
 * The globals every realm shares, as one descriptor map built once (every bridge above is
 * initialised by now). One `defineProperties` call instead of a `defineProperty` and a fresh
 * descriptor per name matters in `context` isolation, where `install` runs once per call.
 */
export const sharedGlobals: PropertyDescriptorMap = (() => {
  const values: Record<string, unknown> = {
    console: consoleObject,
    fetch,
    Headers,
    Response,
    URL,
    URLSearchParams,
    TextEncoder,
    TextDecoder,
    structuredClone,
    setTimeout,
    clearTimeout,
    setInterval,
    clearInterval,
    queueMicrotask,
    AbortController,
    AbortSignal,
    DOMException,
    Event,
    EventTarget,
    atob,
    btoa,
    secrets: secretsObject,
  };
  const map: PropertyDescriptorMap = ObjectCtor.create(null);
  for (const name of objectKeys(values)) map[name] = globalDescriptor(values[name]);
  return freeze(map);
})();
export const randomDescriptor = globalDescriptor(random);

/** `target` is a realm's global object: this realm's own, or a fresh context's. */
export function install(target: RealmGlobal): void {
  removeResizableBuffers(target);
  defineProperty(target, 'Date', globalDescriptor(makeDate(target.Date)));
  defineProperty(target.Math, 'random', randomDescriptor);
  // A FinalizationRegistry callback could run during a later call, so none are offered.
  delete target.FinalizationRegistry;
  defineProperties(target, sharedGlobals);
}
