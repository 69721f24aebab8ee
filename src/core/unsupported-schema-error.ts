import { SiaError } from './sia-error.ts';

const marker = Symbol.for('self-improving-agent.error.UnsupportedSchemaError');

/**
 * Thrown when a tool's input schema uses a JSON Schema keyword that model providers reject
 * (see `checkProviderSchema` for the list). Names the keyword and where it is; nothing was
 * written. Change the schema as the message says and create the tool again.
 */
export class UnsupportedSchemaError extends SiaError {
  readonly [marker] = true;
  /** The refused keyword, e.g. `propertyNames` or `$ref`. */
  readonly keyword: string;
  /** JSON Pointer of the schema object holding the keyword, `''` for the root. */
  readonly path: string;
  /** The field that held the schema, e.g. `inputSchema` or `spec.inputSchema`. */
  readonly field: string;

  constructor({
    field,
    keyword,
    path,
    reason,
  }: {
    readonly field: string;
    readonly keyword: string;
    readonly path: string;
    /** Why providers reject it and what to write instead, a full sentence. */
    readonly reason: string;
  }) {
    super({
      code: 'UNSUPPORTED_SCHEMA_KEYWORD',
      message: `"${field}" uses "${keyword}" at ${path === '' ? '(schema root)' : path}, which model providers reject: ${reason} Nothing was written.`,
    });
    this.name = 'UnsupportedSchemaError';
    this.keyword = keyword;
    this.path = path;
    this.field = field;
  }

  /** True when `error` is an {@link UnsupportedSchemaError} (from any copy of the package). */
  static override isInstance(error: unknown): error is UnsupportedSchemaError {
    return SiaError.hasMarker(error, marker);
  }
}
