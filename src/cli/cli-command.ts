import type { StorageAdapter } from '../storage/storage-adapter.ts';

/** One option of a command, as `node:util` `parseArgs` takes it, plus its help text. */
export interface CliOption {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
  /** Placeholder of the value in the help, e.g. `<version>`. */
  readonly value?: string;
  /** One line of help. */
  readonly description: string;
}

/** Parsed option values of a command (global options included). */
export type CliValues = Readonly<Record<string, string | boolean | string[] | undefined>>;

/** What a command gets to do its work. */
export interface CommandContext {
  /** The positional arguments after the command's name. */
  readonly args: readonly string[];
  /** Option values (global and the command's). */
  readonly values: CliValues;
  /** The working directory that relative paths are resolved against. */
  readonly cwd: string;
  /** The environment (`SIA_MCP_TOKEN`, …). */
  readonly env: NodeJS.ProcessEnv;
  /** Opens the database on first call (and closes it when the command ends). */
  storage(): Promise<StorageAdapter>;
  /** The database, for messages: a file path or a PostgreSQL URL without its password. */
  readonly target: string;
  /** Writes a line (or lines) to stdout. */
  out(text: string): void;
  /** Writes a line (or lines) to stderr (notes that must not mix with `--json` output). */
  err(text: string): void;
}

/** A `sia` command: its name, help and work. */
export interface CliCommand {
  /** One or two words, e.g. `tools` or `tests add`. */
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Positional arguments: `<tool>` required, `[name]` optional. */
  readonly positionals: readonly string[];
  /** The command's own options (the global ones are added to every command). */
  readonly options: Readonly<Record<string, CliOption>>;
  /**
   * The command only reads: its database is opened read-only (no lock file, no migration,
   * never created or written). Commands without it open the database for writing, after a
   * read-only check that the file is a self-improving-agent database.
   */
  readonly readOnly?: boolean;
  /**
   * The command serves until stopped (`sia mcp`): its database is opened as an agent opens it
   * (sql.js written periodically from the storage thread, a full PostgreSQL pool), not as a
   * one-off command's.
   */
  readonly serve?: boolean;
  /** A few lines shown in `sia <command> --help` under the usage line. */
  readonly help: string;
  /** Runs the command; throws `CliUsageError` / `CliFailure` / library errors on failure. */
  run(context: CommandContext): Promise<void>;
}
