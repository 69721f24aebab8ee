import { randomUUID } from 'node:crypto';

/**
 * Call ids: `<toolName>@<version>:<uuid>`, e.g.
 * `fetch_exchange_rate@3:1b4e28ba-2fa1-41d2-883f-0016d3cca427`. The UUID (`crypto.randomUUID`,
 * 122 random bits) makes an id unique and unguessable; the tool name and version make it
 * attributable after the process forgot the call. The embedded name and version are only a
 * claim: `agent.feedback` checks them against the registry before it counts anything.
 */
const CALL_ID_PATTERN =
  /^([a-z][a-z0-9_]{0,63})@([1-9][0-9]{0,9}):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** What a call id says about its call (unchecked: see {@link parseCallId}). */
export interface CallIdParts {
  /** The tool the id names. */
  readonly toolName: string;
  /** The version the id names. */
  readonly version: number;
}

/** A new call id for a call of `toolName` at `version` (see the module comment for the format). */
export function newCallId(toolName: string, version: number): string {
  return `${toolName}@${version}:${randomUUID()}`;
}

/**
 * The tool name and version a call id names, or `undefined` when `value` is not a call id.
 * The parts are a claim made by whoever holds the id: check them against the registry.
 */
export function parseCallId(value: unknown): CallIdParts | undefined {
  if (typeof value !== 'string') return undefined;
  const match = CALL_ID_PATTERN.exec(value);
  if (match === null) return undefined;
  const version = Number(match[2]);
  if (!Number.isSafeInteger(version)) return undefined;
  return { toolName: match[1] as string, version };
}
