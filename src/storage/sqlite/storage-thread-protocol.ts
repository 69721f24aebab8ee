import type { MessagePort } from 'node:worker_threads';
import type { TransferredError } from './transferred-error.ts';

/** Which engine the storage thread opens, with its options (plain data only). */
export type StorageThreadEngine =
  | {
      readonly kind: 'sql.js';
      readonly options: {
        readonly path: string | undefined;
        readonly readOnly: boolean;
        readonly flushIntervalMs: number;
      };
    }
  | {
      readonly kind: 'node:sqlite';
      readonly options: { readonly path: string; readonly busyTimeoutMs: number; readonly readOnly: boolean };
    };

/** What the storage thread starts with (`workerData`). */
export interface StorageThreadInit {
  /** Where the app thread answers a callback (`receiveMessageOnPort`, read synchronously). */
  readonly callbackPort: MessagePort;
  /** Int32 slot 0: set to 1 by the app thread once a callback answer was posted. */
  readonly callbackFlag: SharedArrayBuffer;
}

/** An argument that was a function on the app thread: the thread calls it back by index. */
export interface CallbackArgument {
  readonly callback: number;
}

/** App thread → storage thread. Each database the thread holds is known by its `handle`. */
export type StorageThreadRequest =
  | {
      readonly type: 'open';
      readonly id: number;
      readonly handle: number;
      readonly engine: StorageThreadEngine;
    }
  | {
      readonly type: 'call';
      readonly id: number;
      readonly handle: number;
      readonly method: string;
      readonly args: readonly unknown[];
      /** Indexes of `args` that are {@link CallbackArgument}s. */
      readonly callbacks: readonly number[];
    }
  | { readonly type: 'close'; readonly id: number; readonly handle: number };

/** Storage thread → app thread. */
export type StorageThreadMessage =
  | { readonly type: 'result'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly type: 'result'; readonly id: number; readonly ok: false; readonly error: TransferredError }
  /** Call argument `index` of call `id` with `value`; the answer goes to the callback port. */
  | { readonly type: 'callback'; readonly id: number; readonly index: number; readonly value: unknown }
  | { readonly type: 'background-error'; readonly handle: number; readonly error: TransferredError };

/** The app thread's answer to a `callback` message. */
export type CallbackAnswer =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: TransferredError };
