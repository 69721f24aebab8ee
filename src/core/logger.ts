/**
 * An optional logger that library classes accept through their options. The library never
 * writes to the console itself; pass `console` or an adapter for pino/winston to see its
 * diagnostics. Every method is optional.
 *
 * @example
 * ```ts
 * const sandbox = new QuickJsSandbox({ logger: console });
 * ```
 */
export interface Logger {
  debug?(message: string, fields?: Record<string, unknown>): void;
  info?(message: string, fields?: Record<string, unknown>): void;
  warn?(message: string, fields?: Record<string, unknown>): void;
  error?(message: string, fields?: Record<string, unknown>): void;
}
