/** Severity of a captured guest `console.*` call. */
export type SandboxLogLevel = 'debug' | 'info' | 'log' | 'warn' | 'error';

/** One captured guest `console.*` call, formatted inside the guest. */
export interface SandboxLogEntry {
  /** `console.debug`/`trace` → `debug`, `console.info` → `info`, `console.log`/`dir`/`table` → `log`, … */
  readonly level: SandboxLogLevel;
  /** The formatted arguments, truncated to a few KiB. */
  readonly message: string;
}

/**
 * One capability request the sandbox refused during a call, recorded on the host whether or not
 * the tool caught the resulting error (a tool that swallows a denial still used a capability it
 * was not given).
 */
export interface SandboxDenial {
  /** The capability that was refused; only `network` today. */
  readonly capability: 'network';
  /** The `host[:port]` (or URL, when it did not parse) the tool tried to reach. */
  readonly target: string;
  /** Why it was refused and how to allow it. */
  readonly message: string;
}

/** What {@link QuickJsSandbox.runDetailed} resolves with. */
export interface SandboxRunResult<T = unknown> {
  /** The tool's return value, parsed on the host from JSON produced inside the guest. */
  readonly value: T;
  /** `console.*` calls made by the tool, in order (capped by `maxLogBytes`). */
  readonly logs: readonly SandboxLogEntry[];
  /** Wall-clock time on the host from the `run` call to its result, queueing included. */
  readonly durationMs: number;
  /** Time the guest call took inside its worker (compiling, running, awaiting host I/O). */
  readonly executionMs: number;
  /**
   * Part of `durationMs` spent starting the sandbox rather than running the call: waiting for
   * the first worker of a new pool (compiling and instantiating QuickJS's WebAssembly) and for
   * the QuickJS instance of a tool new to its worker. 0 when everything was warm. The agent
   * leaves it out of the latency it records (`durationMs - startupMs` is the call's own).
   */
  readonly startupMs: number;
  /** Number of HTTP requests the tool made (each redirect hop counts). */
  readonly requests: number;
  /**
   * Capability requests refused during the call even though the tool caught the error and
   * returned normally (at most 20, in order). Empty for a call that used only what it was given.
   */
  readonly denials: readonly SandboxDenial[];
  /** Which QuickJS WebAssembly instance ran the call (diagnostics). */
  readonly instance?: SandboxInstanceInfo;
}

/**
 * Diagnostics about the QuickJS WebAssembly instance (own heap) that ran a call. Each worker
 * keeps one instance per tool identity (see `instancesPerWorker`).
 */
export interface SandboxInstanceInfo {
  /** Unique within the process while the sandbox runs, e.g. `"3:7"`. */
  readonly id: string;
  /** This call was the instance's first (the tool was new to that worker, or its instance was dropped). */
  readonly created: boolean;
  /** Instances the worker keeps after the call. */
  readonly cached: number;
  /** The instance was thrown away after this call (it ended abnormally). */
  readonly discarded: boolean;
}
