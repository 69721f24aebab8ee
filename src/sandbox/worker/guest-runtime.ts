import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSRuntime,
  RELEASE_SYNC,
} from 'quickjs-emscripten';
import { guestBundleSource } from '../guest/guest-bundle.generated.ts';
import { NetworkPolicy } from '../network-policy.ts';
import type { GuestErrorInfo, SandboxErrorCode } from '../sandbox-error.ts';
import { jsonDepthExceeds, MAX_VALUE_DEPTH } from '../value-depth.ts';
import type { WorkerInit, WorkerRunRequest, WorkerRunResult } from '../worker-protocol.ts';
import { GuestMemoryError, newGuestString, readGuestString } from './guest-values.ts';
import { createHostBridge } from './host-bridge.ts';
import { type CallOutcome, cancelTimer, WorkerCall } from './worker-call.ts';

/** Settings of a {@link GuestRuntime}; the same as the worker's init data. */
export type GuestRuntimeOptions = WorkerInit;

interface PreparedContext {
  readonly context: QuickJSContext;
  /** The last tool, already compiled into `context`. */
  readonly factory?: QuickJSHandle;
  readonly key?: string;
}

interface ControlHandles {
  readonly install: QuickJSHandle;
  readonly beginCall: QuickJSHandle;
  readonly runCall: QuickJSHandle;
  readonly fireTimer: QuickJSHandle;
  readonly takeFatal: QuickJSHandle;
  readonly endCall: QuickJSHandle;
}

// @types/node declares the WebAssembly types but not the global value.
const wasm = (
  globalThis as unknown as {
    WebAssembly: {
      Memory: new (descriptor: { initial: number; maximum: number }) => { buffer: ArrayBuffer };
    };
  }
).WebAssembly;
const wasmPageBytes = 65536;
const initialPages = 256; // the QuickJS build's own 16 MiB initial memory: data, C stack, heap start
const cleanupBudgetMs = 50;
const identifierPattern = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const parsedSourcesLimit = 32;

/**
 * One QuickJS WebAssembly instance with bounded memory, one runtime with memory, stack and
 * interrupt limits, and one hardened "realm" context running the guest prelude. Runs one call
 * at a time; lives inside a sandbox worker thread, which keeps one per tool identity
 * (isolation key), so its heap only ever holds one tool's code and data.
 *
 * Isolation between calls (see `SandboxIsolation`): in `realm` mode the realm's built-ins are
 * frozen, each call re-runs the tool's cached compiled top level in a fresh scope with a fresh
 * `globalThis` view, and per-call state (timers, console, fetch budget, PRNG seed) is reset; in
 * `context` mode each call gets a new QuickJS context sharing only the frozen bridge objects.
 */
export class GuestRuntime {
  readonly #options: GuestRuntimeOptions;
  readonly #runtime: QuickJSRuntime;
  readonly #memory: { buffer: ArrayBuffer };
  readonly #maxMemoryBytes: number;
  readonly #context: QuickJSContext;
  readonly #control: ControlHandles;
  readonly #cache = new Map<string, QuickJSHandle>();
  readonly #policies = new Map<string, NetworkPolicy>();
  /** Recent sources known to parse as a script on their own (see `#compile`). */
  readonly #parsedSources = new Map<string, true>();
  #call: WorkerCall | undefined;
  #interruptAt = 0;
  /** The context the next `context`-isolated call will use, prepared between calls. */
  #prepared: PreparedContext | undefined;
  /** Contexts of finished `context`-isolated calls, disposed off the critical path. */
  readonly #spent: QuickJSContext[] = [];
  /** The last tool run with `context` isolation; it is compiled ahead into the next context. */
  #lastContextTool: { readonly source: string; readonly entry: string } | undefined;
  /** Set by {@link dispose}: a disposed instance refuses to run. */
  #disposed = false;

  /** Instantiates QuickJS with a bounded memory and builds the hardened realm. */
  static async create(options: GuestRuntimeOptions): Promise<GuestRuntime> {
    const maximum = initialPages + Math.ceil(options.memoryLimitBytes / wasmPageBytes);
    const memory = new wasm.Memory({ initial: initialPages, maximum });
    const module = await newQuickJSWASMModuleFromVariant(
      newVariant(RELEASE_SYNC, { wasmModule: options.wasmModule, wasmMemory: memory }),
    );
    const runtime = module.newRuntime();
    return new GuestRuntime(options, runtime, memory, maximum * wasmPageBytes);
  }

  private constructor(
    options: GuestRuntimeOptions,
    runtime: QuickJSRuntime,
    memory: { buffer: ArrayBuffer },
    maxMemoryBytes: number,
  ) {
    this.#options = options;
    this.#runtime = runtime;
    this.#memory = memory;
    this.#maxMemoryBytes = maxMemoryBytes;
    runtime.setMemoryLimit(options.memoryLimitBytes);
    runtime.setMaxStackSize(options.maxStackBytes);
    runtime.setInterruptHandler(() => this.#interruptAt !== 0 && Date.now() > this.#interruptAt);
    const context = runtime.newContext();
    this.#context = context;
    const host = createHostBridge(context, {
      memoryLimitBytes: options.memoryLimitBytes,
      currentCall: () => this.#call,
      exhausted: () => this.#exhausted(),
      fireTimer: (call, id) => this.#fireTimer(call, id),
      finish: (call, outcome) => this.#finish(call, outcome),
      hostFailure: (error) => this.#hostFailure(error),
      pump: (call) => this.#pump(call),
    });
    const prelude = context.unwrapResult(
      context.evalCode(guestBundleSource, 'sandbox-prelude.js', { type: 'global' }),
    );
    const control = context.unwrapResult(context.callFunction(prelude, context.undefined, host));
    prelude.dispose();
    host.dispose();
    const handle = (name: string) => context.getProp(control, name);
    this.#control = {
      install: handle('install'),
      beginCall: handle('beginCall'),
      runCall: handle('runCall'),
      fireTimer: handle('fireTimer'),
      takeFatal: handle('takeFatal'),
      endCall: handle('endCall'),
    };
    const harden = handle('harden');
    context
      .unwrapResult(context.callFunction(this.#control.install, context.undefined, context.global))
      .dispose();
    context.unwrapResult(context.callFunction(harden, context.undefined)).dispose();
    harden.dispose();
    control.dispose();
  }

  /** Runs one call to completion. Never throws: every failure becomes a result message. */
  async run(request: WorkerRunRequest): Promise<WorkerRunResult> {
    if (this.#disposed) throw new Error('this QuickJS instance was disposed');
    const started = performance.now();
    const call = new WorkerCall(request, this.#policyFor(request.network.allow), this.#options.maxLogBytes);
    this.#call = call;
    this.#interruptAt = Date.now() + request.timeoutMs;
    // The interrupt handler only counts guest execution; this timer covers time spent awaiting
    // host timers and requests.
    const wallClock = setTimeout(
      () => call.finish(this.#timeout(request.timeoutMs, false)),
      request.timeoutMs,
    );
    let fresh: QuickJSContext | undefined;
    let factory: QuickJSHandle | undefined;
    let cached = false;
    try {
      let context = this.#context;
      let precompiled: QuickJSHandle | undefined;
      if (request.isolation === 'context') {
        const prepared = this.#takePrepared(request);
        fresh = prepared.context;
        precompiled = prepared.factory;
        context = fresh;
      }
      const compiled =
        precompiled === undefined
          ? this.#compile(context, request.source, request.entry, fresh === undefined)
          : { factory: precompiled, cached: false };
      if ('failure' in compiled) {
        this.#finish(call, compiled.failure);
      } else {
        factory = compiled.factory;
        cached = compiled.cached;
        this.#start(call, factory, fresh);
      }
    } catch (error) {
      this.#finish(call, this.#hostFailure(error));
    }
    let outcome = await call.done;
    clearTimeout(wallClock);
    // WebAssembly memory never shrinks; an instance whose memory is nearly exhausted is
    // discarded (`replaceWorker`) so the host gets it back. Exhaustion also identifies QuickJS's last-resort out-of-memory
    // signal, a thrown `null` (when even the error object cannot be allocated).
    const exhausted = this.#memory.buffer.byteLength >= this.#maxMemoryBytes * 0.9;
    if (
      exhausted &&
      !outcome.ok &&
      outcome.code === 'TOOL_ERROR' &&
      outcome.guestError?.message.endsWith('thrown: null')
    ) {
      outcome = this.#classifyDescribed({ name: 'InternalError', message: 'out of memory', where: '' });
    }
    const damaged = this.#cleanUp(call, cached ? undefined : factory, fresh) || exhausted;
    const base = {
      type: 'result' as const,
      id: request.id,
      logs: call.takeLogs(),
      executionMs: performance.now() - started,
      requests: call.budget.used,
      denials: call.denials,
    };
    if (outcome.ok) return { ...base, ok: true, json: outcome.json, replaceWorker: damaged };
    return {
      ...base,
      ok: false,
      code: outcome.code,
      message: outcome.message,
      guestError: outcome.guestError,
      replaceWorker: outcome.replaceWorker || damaged,
    };
  }

  /**
   * Work kept off the critical path of `context`-isolated calls: disposes the contexts of
   * finished calls and prepares the next one. Returns whether there was anything to do.
   */
  prepareFreshContext(): boolean {
    if (this.#call !== undefined || this.#disposed) return false;
    const spent = this.#spent.splice(0);
    for (const context of spent) context.dispose();
    const tool = this.#lastContextTool;
    if (tool === undefined || this.#prepared !== undefined) return spent.length > 0;
    const context = this.#newFreshContext();
    // Compiled code is bound to the context it was compiled in, so a repeated tool is compiled
    // into the next context now rather than on its call's critical path.
    const compiled = this.#compile(context, tool.source, tool.entry, false);
    this.#prepared =
      'failure' in compiled
        ? { context }
        : { context, factory: compiled.factory, key: toolKey(tool.source, tool.entry) };
    return true;
  }

  /**
   * Drops this instance: its caches and prepared contexts are released and it must not run
   * again. Nothing is freed inside the QuickJS heap (a damaged heap is not walked, and freeing
   * inside WebAssembly memory returns nothing to the host): the owner drops its reference and
   * the WebAssembly memory goes back to the host when it is garbage-collected.
   */
  dispose(): void {
    this.#disposed = true;
    this.#cache.clear();
    this.#policies.clear();
    this.#parsedSources.clear();
    this.#prepared = undefined;
    this.#spent.length = 0;
    this.#lastContextTool = undefined;
  }

  /** The instance's WebAssembly memory (for tests that simulate a write into the guest heap). */
  memoryBuffer(): ArrayBuffer {
    return this.#memory.buffer;
  }

  // --- calls -----------------------------------------------------------------------------------

  /**
   * Settles the call. Once the deadline has passed, whatever the guest reports is a side
   * effect of being interrupted (the interrupt can surface as a rejection inside the guest),
   * so the outcome is a timeout. An interrupt is an ordinary QuickJS exception, so the worker
   * is kept unless its clean-up fails (see `#cleanUp`).
   */
  #finish(call: WorkerCall, outcome: CallOutcome): void {
    const late = this.#interruptAt !== 0 && Date.now() > this.#interruptAt;
    call.finish(late ? this.#timeout(call.request.timeoutMs, !outcome.ok && outcome.replaceWorker) : outcome);
  }

  #start(call: WorkerCall, factory: QuickJSHandle, fresh: QuickJSContext | undefined): void {
    const context = this.#context;
    const { request } = call;
    const deterministic = request.deterministic;
    const seed = deterministic === false ? (Math.random() * 2 ** 32) >>> 0 : foldSeed(deterministic.seed);
    const now = deterministic === false ? Number.NaN : deterministic.now;
    const target = fresh === undefined ? context.global : fresh.global;
    const seedHandle = context.newNumber(seed);
    const nowHandle = context.newNumber(now);
    const begun = this.#callOrFinish(call, this.#control.beginCall, seedHandle, nowHandle, target);
    seedHandle.dispose();
    nowHandle.dispose();
    if (begun === undefined) return;
    begun.dispose();
    const entry = context.newString(request.entry);
    const input = newGuestString(context, request.inputJson);
    if (input === undefined) {
      entry.dispose();
      this.#finish(call, this.#outOfMemory());
      return;
    }
    const maxChars = context.newNumber(this.#options.maxOutputBytes);
    const result = this.#callOrFinish(
      call,
      this.#control.runCall,
      factory,
      entry,
      input,
      maxChars,
      fresh === undefined ? context.true : context.false,
    );
    entry.dispose();
    input.dispose();
    maxChars.dispose();
    if (result === undefined) return;
    if (context.typeof(result) === 'string') {
      const text = readGuestString(context, result);
      result.dispose();
      this.#finish(call, text === undefined ? this.#outOfMemory() : this.#outcomeFrom(text));
      return;
    }
    call.promise = result;
    this.#pump(call);
  }

  /**
   * Calls a privileged control function of the prelude. A guest exception settles `call` with
   * its classified outcome and yields `undefined`; otherwise the result handle is the caller's.
   */
  #callOrFinish(call: WorkerCall, fn: QuickJSHandle, ...args: QuickJSHandle[]): QuickJSHandle | undefined {
    const context = this.#context;
    const result = context.callFunction(fn, context.undefined, ...args);
    if (result.error) {
      this.#finish(call, this.#classifyException(result.error));
      result.error.dispose();
      return undefined;
    }
    return result.value;
  }

  /** Runs queued guest jobs after any host event and settles the call when its promise did. */
  #pump(call: WorkerCall): void {
    if (!call.active || call !== this.#call || call.promise === undefined) return;
    const context = this.#context;
    try {
      const jobs = this.#runtime.executePendingJobs();
      if (jobs.error) {
        this.#finish(call, this.#classifyException(jobs.error));
        jobs.error.dispose();
        return;
      }
      const fatal = this.#callForString(this.#control.takeFatal);
      if (fatal !== undefined) {
        this.#finish(call, this.#outcomeFrom(fatal));
        return;
      }
      const state = context.getPromiseState(call.promise);
      if (state.type === 'fulfilled') {
        const text =
          context.typeof(state.value) === 'string' ? readGuestString(context, state.value) : undefined;
        if (!state.notAPromise) state.value.dispose();
        this.#finish(call, text === undefined ? this.#outOfMemory() : this.#outcomeFrom(text));
      } else if (state.type === 'rejected') {
        this.#finish(call, this.#classifyException(state.error));
        state.error.dispose();
      } else if (call.timers.size === 0 && call.fetches.size === 0) {
        this.#finish(call, {
          ok: false,
          code: 'TIMEOUT',
          message:
            'The tool returned a promise that can never settle: nothing it waits for is pending (no timer, no request). Make sure every promise it awaits is resolved or rejected.',
          replaceWorker: false,
        });
      }
    } catch (error) {
      this.#finish(call, this.#hostFailure(error));
    }
  }

  #cleanUp(call: WorkerCall, factory: QuickJSHandle | undefined, fresh: QuickJSContext | undefined): boolean {
    let damaged = !call.outcome || (!call.outcome.ok && call.outcome.replaceWorker);
    for (const timer of call.timers.values()) cancelTimer(timer);
    call.timers.clear();
    for (const pending of call.fetches.values()) {
      pending.controller.abort();
      pending.deferred.dispose();
    }
    call.fetches.clear();
    if (!damaged) {
      // Whatever the tool left queued runs out now with the bridges switched off; a job queue
      // that does not drain within the budget (a microtask loop) means the realm is not clean.
      this.#interruptAt = Date.now() + cleanupBudgetMs;
      try {
        const context = this.#context;
        const ended = context.callFunction(this.#control.endCall, context.undefined);
        if (ended.error) {
          ended.error.dispose();
          damaged = true;
        } else {
          ended.value.dispose();
        }
        const drained = this.#runtime.executePendingJobs();
        if (drained.error) {
          drained.error.dispose();
          damaged = true;
        }
        if (this.#runtime.hasPendingJob()) damaged = true;
        call.promise?.dispose();
        factory?.dispose();
        // Disposing a context costs tens of microseconds: done after the result is posted.
        if (fresh) this.#spent.push(fresh);
      } catch {
        damaged = true;
      }
    }
    this.#interruptAt = 0;
    this.#call = undefined;
    return damaged;
  }

  // --- compiling -------------------------------------------------------------------------------

  #compile(
    context: QuickJSContext,
    source: string,
    entry: string,
    useCache: boolean,
  ): { factory: QuickJSHandle; cached: boolean } | { failure: CallOutcome } {
    if (!identifierPattern.test(entry)) {
      return { failure: this.#invalidSource(`"${entry}" is not a function name`) };
    }
    const key = toolKey(source, entry);
    const hit = useCache ? this.#cache.get(key) : undefined;
    if (hit !== undefined) {
      this.#cache.delete(key);
      this.#cache.set(key, hit);
      return { factory: hit, cached: true };
    }
    // The source must parse as a script on its own: that rules out sources that would break
    // out of the function wrapper below (e.g. a stray "})(); ..." ) and top-level return/await.
    // Whether it parses depends on the text alone, so a source that passed once is not parsed
    // twice (saves a parse per `context`-isolated call, which compiles into every new context).
    if (!this.#parsedSources.has(source)) {
      const check = context.evalCode(source, 'tool.js', { type: 'global', compileOnly: true });
      if (check.error) {
        const described = this.#describe(context, check.error);
        check.error.dispose();
        if (described.name === 'InternalError') return { failure: this.#classifyDescribed(described) };
        return {
          failure: this.#invalidSource(
            `it does not parse as a script: ${described.name}: ${described.message}${described.where}. Fix the syntax; import/export and top-level await/return are not supported.`,
          ),
        };
      }
      check.value.dispose();
      remember(this.#parsedSources, source, parsedSourcesLimit);
    }
    // The tool's top level runs inside a function, once per call: its declarations are never
    // globals, and `globalThis` is a per-call view (realm mode) whose writes do not persist.
    const wrapper = `(function (globalThis) { return (function () { ${source}\n;return [typeof ${entry} === 'function' ? ${entry} : undefined]; })(); })`;
    const compiled = context.evalCode(wrapper, 'tool.js', { type: 'global' });
    if (compiled.error) {
      const described = this.#describe(context, compiled.error);
      compiled.error.dispose();
      if (described.name === 'InternalError') return { failure: this.#classifyDescribed(described) };
      return { failure: this.#invalidSource(`${described.name}: ${described.message}${described.where}`) };
    }
    if (!useCache) return { factory: compiled.value, cached: false };
    this.#cache.set(key, compiled.value);
    if (this.#cache.size > this.#options.compileCacheSize) {
      const [oldestKey, oldest] = this.#cache.entries().next().value as [string, QuickJSHandle];
      this.#cache.delete(oldestKey);
      oldest.dispose();
    }
    return { factory: compiled.value, cached: true };
  }

  #takePrepared(request: WorkerRunRequest): PreparedContext {
    const prepared = this.#prepared ?? { context: this.#newFreshContext() };
    this.#prepared = undefined;
    this.#lastContextTool = { source: request.source, entry: request.entry };
    if (prepared.factory !== undefined && prepared.key !== toolKey(request.source, request.entry)) {
      prepared.factory.dispose();
      return { context: prepared.context };
    }
    return prepared;
  }

  #newFreshContext(): QuickJSContext {
    const fresh = this.#runtime.newContext();
    const context = this.#context;
    context
      .unwrapResult(context.callFunction(this.#control.install, context.undefined, fresh.global))
      .dispose();
    return fresh;
  }

  #policyFor(allow: readonly string[]): NetworkPolicy {
    const key = allow.join('\n');
    let policy = this.#policies.get(key);
    if (policy === undefined) {
      policy = new NetworkPolicy(allow);
      remember(this.#policies, key, 32, policy);
    }
    return policy;
  }

  // --- outcomes --------------------------------------------------------------------------------

  #outcomeFrom(text: string): CallOutcome {
    if (text.startsWith('R')) {
      const json = text.slice(1);
      const bytes = Buffer.byteLength(json);
      if (bytes > this.#options.maxOutputBytes) {
        return {
          ok: false,
          code: 'INVALID_OUTPUT',
          message: `Invalid tool output: the result is ${bytes} bytes of JSON, more than maxOutputBytes (${this.#options.maxOutputBytes}). Return less data or raise maxOutputBytes.`,
          replaceWorker: false,
        };
      }
      // The prelude already refuses deeper results; checked again here (one linear pass) so
      // nothing below ever walks an unbounded nesting.
      if (jsonDepthExceeds(json, MAX_VALUE_DEPTH)) {
        return {
          ok: false,
          code: 'INVALID_OUTPUT',
          message: `Invalid tool output: the result is nested more than ${MAX_VALUE_DEPTH} levels deep (the sandbox's value depth limit, MAX_VALUE_DEPTH); return flatter data.`,
          replaceWorker: false,
        };
      }
      const protoPath = findProtoKey(json);
      if (protoPath !== undefined) {
        return {
          ok: false,
          code: 'INVALID_OUTPUT',
          message: `Invalid tool output: the result has a "__proto__" key at ${protoPath}, which is refused so it can never reach an object's prototype on the host. Rename the key.`,
          replaceWorker: false,
        };
      }
      return { ok: true, json };
    }
    const failure = JSON.parse(text.slice(1)) as {
      code: SandboxErrorCode;
      name: string;
      message: string;
      stack?: string;
    };
    const guestError: GuestErrorInfo = {
      name: failure.name,
      message: failure.message,
      ...(failure.stack ? { stack: failure.stack } : {}),
    };
    return { ...this.#classifyDescribed({ ...failure, where: '' }, failure.code), guestError };
  }

  #classifyException(handle: QuickJSHandle): CallOutcome {
    if (this.#interruptAt !== 0 && Date.now() > this.#interruptAt) {
      return this.#timeout(this.#call?.request.timeoutMs ?? 0, false);
    }
    return this.#classifyDescribed(this.#describe(this.#context, handle));
  }

  #classifyDescribed(
    described: { name: string; message: string; where: string },
    code?: SandboxErrorCode,
  ): Exclude<CallOutcome, { ok: true }> {
    const { name, message } = described;
    const limits = this.#options;
    if (code === 'TIMEOUT' || (name === 'InternalError' && message === 'interrupted')) {
      return this.#timeout(this.#call?.request.timeoutMs ?? 0, false);
    }
    if (code === 'MEMORY' || (name === 'InternalError' && message === 'out of memory')) {
      return {
        ok: false,
        code: 'MEMORY',
        message: `The tool ran out of memory (memoryLimitBytes is ${formatBytes(limits.memoryLimitBytes)}). Make it use less memory or raise memoryLimitBytes.`,
        replaceWorker: true,
      };
    }
    if (code === 'STACK' || (name === 'InternalError' && message === 'stack overflow')) {
      return {
        ok: false,
        code: 'STACK',
        message: `The tool overflowed its stack (maxStackBytes is ${formatBytes(limits.maxStackBytes)}), usually through deep or endless recursion. Make the recursion shallower or raise maxStackBytes (at most 384 KiB).`,
        // QuickJS raised a catchable InternalError: the runtime is intact.
        replaceWorker: false,
      };
    }
    switch (code) {
      case 'CAPABILITY_DENIED':
        return {
          ok: false,
          code,
          message: `The tool was denied a capability: ${message}`,
          replaceWorker: false,
        };
      case 'INVALID_OUTPUT':
        return { ok: false, code, message: `Invalid tool output: ${message}`, replaceWorker: false };
      case 'INVALID_SOURCE':
        return this.#invalidSource(message);
      case 'TOOL_ERROR':
        return {
          ok: false,
          code,
          message: `The tool threw ${name}: ${message}. Fix the tool or the input it was given.`,
          replaceWorker: false,
        };
      default:
        // An exception escaped the prelude itself: the realm can no longer be trusted.
        return {
          ok: false,
          code: 'TOOL_ERROR',
          message: `The sandbox failed while running the tool (${name}: ${message}).`,
          replaceWorker: true,
        };
    }
  }

  #timeout(timeoutMs: number, replaceWorker: boolean): Exclude<CallOutcome, { ok: true }> {
    return {
      ok: false,
      code: 'TIMEOUT',
      message: `The tool did not finish within timeoutMs (${timeoutMs} ms) and was stopped. Make it faster (or make it stop waiting) or raise timeoutMs.`,
      replaceWorker,
    };
  }

  #invalidSource(detail: string): Exclude<CallOutcome, { ok: true }> {
    return {
      ok: false,
      code: 'INVALID_SOURCE',
      message: `Invalid tool source: ${detail}`,
      replaceWorker: false,
    };
  }

  /** A failure on the host side of the bridge (a WebAssembly trap, a library error): replace. */
  #hostFailure(error: unknown): Exclude<CallOutcome, { ok: true }> {
    if (this.#interruptAt !== 0 && Date.now() > this.#interruptAt) {
      return this.#timeout(this.#call?.request.timeoutMs ?? 0, true);
    }
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    if (/out of memory|memory access out of bounds|Cannot enlarge memory/i.test(text)) {
      return {
        ok: false,
        code: 'MEMORY',
        message: `The tool ran out of memory (memoryLimitBytes is ${formatBytes(this.#options.memoryLimitBytes)}). Make it use less memory or raise memoryLimitBytes.`,
        replaceWorker: true,
      };
    }
    if (/Maximum call stack size exceeded/.test(text)) {
      return {
        ok: false,
        code: 'STACK',
        message: `The tool overflowed the host stack (maxStackBytes is ${formatBytes(this.#options.maxStackBytes)}). Make the recursion shallower or lower maxStackBytes.`,
        replaceWorker: true,
      };
    }
    return {
      ok: false,
      code: 'TOOL_ERROR',
      message: `The sandbox failed while running the tool (${text}); the worker is being replaced.`,
      replaceWorker: true,
    };
  }

  /** Reads `name`/`message` of a guest error without trusting it (getters are bounded by the interrupt). */
  #describe(
    context: QuickJSContext,
    handle: QuickJSHandle,
  ): { name: string; message: string; where: string } {
    const read = (key: string) => {
      const value = context.getProp(handle, key);
      const text = context.typeof(value) === 'string' ? context.getString(value) : '';
      value.dispose();
      return text;
    };
    try {
      if (context.typeof(handle) !== 'object')
        return { name: 'Error', message: String(context.dump(handle)), where: '' };
      const stack = read('stack');
      const location = /tool\.js:(\d+)(?::(\d+))?/.exec(stack);
      return {
        name: read('name'),
        message: read('message'),
        where: location ? ` (line ${location[1]})` : '',
      };
    } catch {
      return { name: 'Error', message: 'an error that could not be read', where: '' };
    }
  }

  #callForString(fn: QuickJSHandle): string | undefined {
    const context = this.#context;
    const result = context.callFunction(fn, context.undefined);
    if (result.error) {
      const error = result.error;
      result.dispose();
      throw new Error(`guest control call failed: ${this.#describe(context, error).message}`);
    }
    const value = result.value;
    const text = context.typeof(value) === 'string' ? context.getString(value) : undefined;
    value.dispose();
    return text;
  }

  /** The outcome of a call whose guest memory ran out. */
  #outOfMemory(): Exclude<CallOutcome, { ok: true }> {
    return this.#classifyDescribed({ name: 'InternalError', message: 'out of memory', where: '' });
  }

  /**
   * A host-side allocation of a guest value failed: settles the current call with MEMORY
   * (whatever the tool does with the error thrown into it, e.g. catching it) and returns
   * that error.
   */
  #exhausted(): GuestMemoryError {
    const call = this.#call;
    if (call?.active) this.#finish(call, this.#outOfMemory());
    return new GuestMemoryError();
  }

  #fireTimer(call: WorkerCall, id: number): void {
    if (!call.active || call !== this.#call) return;
    try {
      const idHandle = this.#context.newNumber(id);
      const result = this.#callOrFinish(call, this.#control.fireTimer, idHandle);
      idHandle.dispose();
      if (result === undefined) return;
      result.dispose();
    } catch (error) {
      this.#finish(call, this.#hostFailure(error));
      return;
    }
    this.#pump(call);
  }
}

function toolKey(source: string, entry: string): string {
  return `${entry}\u0000${source}`;
}

/**
 * Finds a `__proto__` key in JSON text and returns its path (e.g. `output.a[2]`), if any.
 * Walks with an explicit stack (no recursion) and builds a path only for the key it reports.
 */
function findProtoKey(json: string): string | undefined {
  if (!json.includes('"__proto__"')) return undefined;
  interface Step {
    readonly value: unknown;
    readonly parent: Step | undefined;
    readonly key: string | number;
  }
  const pathOf = (step: Step): string => {
    const parts: string[] = [];
    for (let at: Step | undefined = step; at?.parent !== undefined; at = at.parent) {
      parts.push(typeof at.key === 'number' ? `[${at.key}]` : `.${at.key}`);
    }
    return `output${parts.reverse().join('')}`;
  };
  const stack: Step[] = [{ value: JSON.parse(json), parent: undefined, key: '' }];
  while (stack.length > 0) {
    const step = stack.pop() as Step;
    const value = step.value;
    if (typeof value !== 'object' || value === null) continue;
    const children: Step[] = [];
    if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) children.push({ value: item, parent: step, key: index });
    } else {
      for (const key of Object.keys(value)) {
        if (key === '__proto__') return pathOf({ value: undefined, parent: step, key });
        children.push({ value: (value as Record<string, unknown>)[key], parent: step, key });
      }
    }
    // Reversed so the first key is visited first, as a recursive walk would.
    for (let index = children.length - 1; index >= 0; index -= 1) stack.push(children[index] as Step);
  }
  return undefined;
}

function foldSeed(seed: number): number {
  return ((seed % 2 ** 32) ^ Math.floor(seed / 2 ** 32)) >>> 0;
}

function formatBytes(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

function remember<V>(map: Map<string, V>, key: string, limit: number, value: V = true as V): void {
  map.set(key, value);
  if (map.size > limit) map.delete(map.keys().next().value as string);
}
