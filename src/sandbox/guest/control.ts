/**
 * The bundle's entry: {@link createGuestControl} binds the worker's bridge functions and returns
 * the privileged {@link GuestControl} handle that only the worker holds. The call lifecycle
 * (begin, run, fire timers, end) lives here.
 */
import { bindHost, state } from './call-state.ts';
import { seedRandom } from './determinism.ts';
import type { GuestControl, GuestHost } from './guest-api.ts';
import { harden } from './hardening.ts';
import { install } from './install.ts';
import { ObjectCtor, ownGlobal, type PropertyBag, type RealmGlobal } from './intrinsics.ts';
import { fail, failFromThrown, serialize } from './outcomes.ts';
import { fireTimer } from './timers.ts';

/** `target` is the global object of the realm the call runs in. */
function beginCall(seed: number, now: number, target: RealmGlobal): void {
  // No registry of realms: a map from a context's global would keep that context alive.
  state.realm = { global: target, JSON: target.JSON, Date: target.Date };
  state.active = true;
  state.now = now;
  state.timers = new Map();
  state.nextTimerId = 0;
  state.nextFetchId = 0;
  state.fatal = undefined;
  seedRandom(seed);
}

function runCall(
  factory: (globalView: object) => [unknown],
  entryName: string,
  inputJson: string,
  maxOutputChars: number,
  shadowGlobal: boolean,
): string | Promise<string> {
  const realm = state.realm;
  const input = realm.JSON.parse(inputJson);
  let entry: unknown;
  try {
    entry = factory(shadowGlobal ? ObjectCtor.create(realm.global) : realm.global)[0];
  } catch (error) {
    return failFromThrown(error);
  }
  if (typeof entry !== 'function' || entry === realm.global[entryName]) {
    return fail(
      'INVALID_SOURCE',
      'ReferenceError',
      `the source does not define a function named "${entryName}"; declare it at the top level, e.g. function ${entryName}(input) { ... }`,
    );
  }
  let result: unknown;
  try {
    result = (entry as (input: unknown) => unknown)(input);
  } catch (error) {
    return failFromThrown(error);
  }
  let then: unknown;
  try {
    then = typeof result === 'object' && result !== null ? (result as PropertyBag).then : undefined;
  } catch (error) {
    return failFromThrown(error, 'INVALID_OUTPUT');
  }
  if (typeof then !== 'function') return serialize(result, maxOutputChars);
  return new Promise<unknown>((resolve) => resolve(result)).then(
    (value) => serialize(value, maxOutputChars),
    (error) => failFromThrown(error),
  );
}

function takeFatal(): string | undefined {
  return state.fatal;
}

function endCall(): void {
  state.active = false;
  state.timers.clear();
  // Release the call's realm (a `context`-isolated call's global) so it can be collected.
  state.realm = { global: ownGlobal, JSON, Date: ownGlobal.Date };
}

/**
 * Binds `host` and returns the privileged handle on this realm. The bundle evaluates to this
 * function; the worker calls it once, right after evaluating the bundle, before any tool code.
 */
export function createGuestControl(host: GuestHost): GuestControl {
  bindHost(host);
  return { install, harden, beginCall, runCall, fireTimer, takeFatal, endCall };
}
