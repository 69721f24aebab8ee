import type { JsonValue } from '../core/json-value.ts';

/** A JSON copy for audit evidence: drops `undefined`, turns errors into `Name: message` strings. */
export function toJson(value: unknown): JsonValue {
  return JSON.parse(
    JSON.stringify(value, (_key, item: unknown) =>
      item instanceof Error ? `${item.name}: ${item.message}` : item,
    ) ?? 'null',
  ) as JsonValue;
}
