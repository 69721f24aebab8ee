import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { integerOption, objectOption } from '../core/options.ts';
import { plainJsonProblem } from '../core/plain-json.ts';
import { isolationKey } from './isolation-key.ts';
import {
  type ResolvedNetworkOptions,
  type ResolvedSandboxOptions,
  resolveDeterminism,
  resolveIsolation,
  resolveNetworkOptions,
  type SandboxDeterminism,
  type SandboxIsolation,
  type SandboxNetworkOptions,
  sandboxLimits,
} from './sandbox-options.ts';
import { checkSandboxSecrets, type SandboxSecrets } from './sandbox-secrets.ts';

/**
 * What to run: a tool's source, the function to call, and optional per-call overrides of the
 * sandbox's settings (a regression run, for example, gives each tool its own network
 * allow-list and deterministic clock).
 *
 * The source is a script (not a module) that defines a function named `entry` at its top level,
 * sync or async, taking one object argument and returning JSON data. Its top-level code runs
 * again for every call, so module-level variables never carry over between calls.
 */
export interface SandboxCall {
  /** JavaScript source defining `entry` at its top level. At most 1 MiB. */
  readonly source: string;
  /** Name of the top-level function to call, e.g. `fetch_exchange_rate`. */
  readonly entry: string;
  /** Deadline of this call. @default the sandbox's `timeoutMs` */
  readonly timeoutMs?: number;
  /** Network capability of this call; fields not given fall back to the sandbox's. */
  readonly network?: SandboxNetworkOptions;
  /** Deterministic clock and seed for this call, or `false` to turn the sandbox's off. */
  readonly deterministic?: SandboxDeterminism | false;
  /** Isolation mode of this call. @default the sandbox's `isolation` */
  readonly isolation?: SandboxIsolation;
  /**
   * An identity for the tool (e.g. `name@version`) that is added to the derived isolation key
   * (entry, source and network grant; see `isolationKey`). Calls with different keys never
   * share a QuickJS WebAssembly instance; giving one only ever separates calls further, it
   * never merges calls that the derived key separates. At most 1024 characters.
   * @default none (the derived key alone)
   */
  readonly isolationKey?: string;
  /**
   * Secret values the tool may read with `secrets.get(name)` during this call. Every
   * occurrence of a value in what the call returns (result, console, errors) is replaced by
   * `[secret:NAME]`. @default none
   */
  readonly secrets?: SandboxSecrets;
}

/** A call after validation, with every setting resolved. */
export interface ResolvedCall {
  readonly source: string;
  readonly entry: string;
  readonly inputJson: string;
  readonly timeoutMs: number;
  readonly network: ResolvedNetworkOptions;
  readonly deterministic: SandboxDeterminism | false;
  readonly isolation: SandboxIsolation;
  /** Which QuickJS instance the call may run in (see `isolationKey`). */
  readonly isolationKey: string;
  readonly secrets: SandboxSecrets;
}

const maxSourceLength = 1024 * 1024;
const identifierPattern = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
/** Reserved words and global names that cannot be a tool's entry function. */
export const RESERVED_IDENTIFIERS: ReadonlySet<string> = new Set(
  (
    'await break case catch class const continue debugger default delete do else enum export extends false ' +
    'finally for function if implements import in instanceof interface let new null package private ' +
    'protected public return static super switch this throw true try typeof var void while with yield ' +
    'arguments eval undefined NaN Infinity globalThis'
  ).split(' '),
);

/**
 * Validates a call and its input and resolves its settings on top of the sandbox's.
 * `digest` hashes the source for the isolation key (a cache, see `SourceDigests`).
 * @throws InvalidOptionError naming `call.<field>` or `input`.
 */
export function resolveSandboxCall(
  call: SandboxCall,
  input: unknown,
  defaults: ResolvedSandboxOptions,
  digest?: (source: string) => string,
): ResolvedCall {
  objectOption('call', call);
  if (typeof call.source !== 'string' || call.source.trim() === '' || call.source.length > maxSourceLength) {
    throw new InvalidOptionError({
      field: 'call.source',
      expected: 'a non-empty JavaScript source of at most 1 MiB',
      value: call.source,
    });
  }
  if (
    typeof call.entry !== 'string' ||
    !identifierPattern.test(call.entry) ||
    RESERVED_IDENTIFIERS.has(call.entry)
  ) {
    throw new InvalidOptionError({
      field: 'call.entry',
      expected: 'the name of a function (a JavaScript identifier)',
      value: call.entry,
    });
  }
  if (
    call.isolationKey !== undefined &&
    (typeof call.isolationKey !== 'string' || call.isolationKey === '' || call.isolationKey.length > 1024)
  ) {
    throw new InvalidOptionError({
      field: 'call.isolationKey',
      expected: 'a non-empty string of at most 1024 characters',
      value: call.isolationKey,
    });
  }
  const network = resolveNetworkOptions(call.network, defaults.network, 'call.network');
  const secrets = checkSandboxSecrets(call.secrets);
  return {
    source: call.source,
    entry: call.entry,
    inputJson: serializeInput(input),
    timeoutMs:
      call.timeoutMs === undefined
        ? defaults.timeoutMs
        : integerOption('call.timeoutMs', call.timeoutMs, 1, sandboxLimits.maxTimeoutMs),
    network,
    deterministic: resolveDeterminism(call.deterministic, defaults.deterministic, 'call.deterministic'),
    isolation: resolveIsolation(call.isolation, defaults.isolation, 'call.isolation'),
    isolationKey: isolationKey(
      {
        entry: call.entry,
        source: call.source,
        network,
        explicit: call.isolationKey,
        secretNames: Object.keys(secrets),
      },
      digest,
    ),
    secrets,
  };
}

function serializeInput(input: unknown): string {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidOptionError({
      field: 'input',
      expected: 'an object (the tool takes one object argument)',
      value: input,
    });
  }
  // Checked first: JSON.stringify throws a raw TypeError on cycles and BigInt, a RangeError on
  // deep nesting, and quietly turns Infinity into null and a Date into a string.
  const problem = plainJsonProblem(input, 'input');
  if (problem !== null) {
    throw new InvalidOptionError({
      field: 'input',
      expected: `plain JSON data (${problem.path}: ${problem.message})`,
      value: input,
    });
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(input);
  } catch (error) {
    throw new InvalidOptionError({
      field: 'input',
      expected: `JSON-serialisable data (${String(error)})`,
      value: input,
    });
  }
  if (json === undefined)
    throw new InvalidOptionError({ field: 'input', expected: 'JSON-serialisable data', value: input });
  // No second pass over the text for MAX_VALUE_DEPTH: the plain-JSON check above already bounds
  // input depth at PLAIN_JSON_LIMITS.maxDepth, which is below it.
  return json;
}
