/** Any JSON-serialisable value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object, e.g. a JSON Schema. */
export type JsonObject = { [key: string]: JsonValue };
