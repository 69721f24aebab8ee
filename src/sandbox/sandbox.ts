import type { SandboxCall } from './sandbox-call.ts';
import type { SandboxRunResult } from './sandbox-result.ts';

/**
 * What the rest of the library needs from a sandbox: run a tool's entry function on one input,
 * away from the host. {@link QuickJsSandbox} is the implementation; a test double or another
 * isolation technology can stand in for it by implementing these members.
 *
 * The methods are not generic, so a test double is a plain object (`{ run: async () => 42, … }`);
 * `QuickJsSandbox`'s typed `run<T>` fits them.
 *
 * Contract: `call.source` is untrusted, so an implementation must never evaluate it in the
 * caller's realm. Failures reject with a `SandboxError` (its `code` says whether the tool, its
 * output or a limit was at fault).
 *
 * @example
 * ```ts
 * async function check(sandbox: Sandbox): Promise<boolean> {
 *   const result = await sandbox.runDetailed({ source: 'function ok() { return true; }', entry: 'ok' }, {});
 *   return result.value === true && result.denials.length === 0;
 * }
 * ```
 */
export interface Sandbox {
  /**
   * Calls `call.entry` from `call.source` with `input` and resolves with its JSON result.
   * @param call - the source, the entry function's name and optional per-call overrides.
   * @param input - the one object argument passed to the entry function (JSON data).
   */
  run(call: SandboxCall, input: object): Promise<unknown>;
  /**
   * Like {@link Sandbox.run}, but resolves with the value together with the captured logs,
   * timings, request count and refused capability requests (`denials`).
   */
  runDetailed(call: SandboxCall, input: object): Promise<SandboxRunResult>;
  /**
   * How many calls the sandbox runs at the same time; further calls wait in its queue
   * (`QuickJsSandbox`: its `workers`, each running one call at a time, also while the call waits
   * on the network). Read-only and optional: callers that spread work over the sandbox, like the
   * regression gate, read it to size their concurrency and assume 1 when it is absent.
   */
  readonly capacity?: number;
  /**
   * Releases what the sandbox holds (worker threads, engines). Optional: a sandbox with nothing
   * to release need not have it. Calls after `close` reject.
   */
  close?(): Promise<void>;
}
