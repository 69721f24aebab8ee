import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { packageVersion } from '../core/package-version.ts';
import { SiaError } from '../core/sia-error.ts';
import type { StorageAdapter } from '../storage/storage-adapter.ts';
import { StorageLockedError, ToolNotFoundError } from '../storage/storage-errors.ts';
import type { CliCommand, CliOption, CliValues, CommandContext } from './cli-command.ts';
import { CliFailure, CliUsageError } from './cli-errors.ts';
import { COMMANDS } from './commands/index.ts';
import { cliMessageOf } from './library-error-hint.ts';
import { DEFAULT_DB, openStorage, type StorageTarget, storageTarget } from './open-storage.ts';
import { unknownToolMessage } from './require-tool.ts';
import { terminalText } from './text-table.ts';

/** Where `sia` reads and writes: the process's streams, or a test's buffers. */
export interface CliIo {
  /** Writes text (a line or lines, no trailing newline) to stdout. */
  out(text: string): void;
  /** Writes text to stderr. */
  err(text: string): void;
  /** The working directory. */
  readonly cwd: string;
  /** The environment (`SIA_DB`, `SIA_DEBUG`). */
  readonly env: NodeJS.ProcessEnv;
}

/** Exit codes of `sia`. */
export const EXIT = Object.freeze({ ok: 0, failure: 1, usage: 2 } as const);

const GLOBAL_OPTIONS: Readonly<Record<string, CliOption>> = {
  db: {
    type: 'string',
    value: '<file>',
    description: `SQLite database file (default: $SIA_DB, else ${DEFAULT_DB})`,
  },
  driver: {
    type: 'string',
    value: '<name>',
    description: 'how to open --db: sql.js (default) or node-sqlite',
  },
  postgres: { type: 'string', value: '<url>', description: 'PostgreSQL connection string instead of a file' },
  schema: {
    type: 'string',
    value: '<name>',
    description: 'PostgreSQL schema holding the tables (default: sia)',
  },
  help: { type: 'boolean', short: 'h', description: 'show help; sia <command> --help for one command' },
  version: { type: 'boolean', short: 'v', description: 'print the version' },
};

/**
 * Runs `sia` with `argv` (the arguments after the program name) and returns the exit code:
 * 0 done, 1 the command failed (message on stderr, no stack), 2 the command line was wrong.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let commandName: string | undefined;
  try {
    const first = parseArgs({
      args: [...argv],
      options: parseArgsConfig(GLOBAL_OPTIONS),
      strict: false,
      allowPositionals: true,
    });
    const words = first.positionals;
    if (words[0] === 'help') {
      io.out(helpFor(words.slice(1)));
      return EXIT.ok;
    }
    if (words.length === 0) {
      if (first.values.version === true) {
        io.out(packageVersion());
        return EXIT.ok;
      }
      if (first.values.help === true) {
        io.out(mainHelp());
        return EXIT.ok;
      }
      throw new CliUsageError('missing command');
    }
    const command = findCommand(words, first.values.help === true, io);
    if (command === undefined) return EXIT.ok; // a group's help was printed
    commandName = command.name;
    return await runCommand(command, argv, io);
  } catch (error) {
    return report(error, io, commandName, undefined, '');
  }
}

/** The command named by the first one or two positionals; undefined after printing a group's help. */
function findCommand(words: readonly string[], help: boolean, io: CliIo): CliCommand | undefined {
  const [first, second] = words as [string, string | undefined];
  const single = COMMANDS.find((command) => command.name === first);
  if (single) return single;
  const group = COMMANDS.filter((command) => command.name.startsWith(`${first} `));
  if (group.length === 0) {
    throw new CliUsageError(
      `unknown command "${terminalText(first)}"; commands: ${commandNames().join(', ')}`,
    );
  }
  const sub = group.find((command) => command.name === `${first} ${second}`);
  if (sub) return sub;
  if (help && second === undefined) {
    io.out(groupHelp(first, group));
    return undefined;
  }
  const subcommands = group.map((command) => command.name.split(' ')[1]).join(', ');
  throw new CliUsageError(
    second === undefined
      ? `"${first}" needs a subcommand: ${subcommands}`
      : `unknown command "${first} ${terminalText(second)}"; use one of: ${subcommands}`,
    first,
  );
}

async function runCommand(command: CliCommand, argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: { values: CliValues; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...argv],
      options: parseArgsConfig({ ...GLOBAL_OPTIONS, ...command.options }),
      strict: true,
      allowPositionals: true,
    }) as { values: CliValues; positionals: string[] };
  } catch (error) {
    if ((error as { code?: unknown }).code?.toString().startsWith('ERR_PARSE_ARGS')) {
      throw new CliUsageError(
        (error as Error).message.split('\n')[0]?.replace(/\. To specify .*$/, '') ?? 'invalid arguments',
        command.name,
      );
    }
    throw error;
  }
  const { values } = parsed;
  if (values.help === true) {
    io.out(commandHelp(command));
    return EXIT.ok;
  }
  if (values.version === true) {
    io.out(packageVersion());
    return EXIT.ok;
  }
  const args = parsed.positionals.slice(command.name.split(' ').length);
  const required = command.positionals.filter((name) => name.startsWith('<'));
  if (args.length < required.length) {
    throw new CliUsageError(`missing ${required.slice(args.length).join(' ')}`, command.name);
  }
  if (args.length > command.positionals.length) {
    throw new CliUsageError(
      `unexpected argument "${terminalText(args[command.positionals.length] as string)}"`,
      command.name,
    );
  }
  const target: StorageTarget = storageTarget(values, io.env, io.cwd);
  let opening: Promise<StorageAdapter> | undefined;
  const context: CommandContext = {
    args,
    values,
    cwd: io.cwd,
    env: io.env,
    target: target.display,
    out: io.out,
    err: io.err,
    storage() {
      opening ??= openStorage(target, { readOnly: command.readOnly === true, serve: command.serve === true });
      return opening;
    },
  };
  let code: number = EXIT.ok;
  let failure: unknown;
  let failed = false;
  try {
    await command.run(context);
  } catch (error) {
    failure = error;
    failed = true;
  }
  // Settled even when the command failed before awaiting it: an adapter opened meanwhile is
  // closed too, so nothing (lock file, pool, timer) outlives the command in this process.
  const storage = opening === undefined ? undefined : await opening.catch(() => undefined);
  if (failed) code = await report(failure, io, command.name, storage, target.display);
  if (storage) {
    try {
      // Writes the sql.js file only if the command changed something; releases its lock.
      await storage.close();
    } catch (error) {
      if (code === EXIT.ok) code = await report(error, io, command.name, undefined, target.display);
    }
  }
  return code;
}

/** Prints an error as one clear message (no stack unless SIA_DEBUG is set); returns the exit code. */
async function report(
  error: unknown,
  io: CliIo,
  command: string | undefined,
  storage: StorageAdapter | undefined,
  target: string,
): Promise<number> {
  if (CliUsageError.isInstance(error)) {
    const about = error.command ?? command;
    io.err(`sia: ${error.message}\nRun "sia ${about === undefined ? '' : `${about} `}--help" for usage.`);
    return EXIT.usage;
  }
  let message: string;
  if (CliFailure.isInstance(error)) {
    message = error.message;
  } else if (StorageLockedError.isInstance(error)) {
    message = `${error.path} is in use by process ${error.pid} (an agent or another sia holds the lock file ${error.lockPath}); stop that process or wait until it closes the database, then try again`;
  } else if (ToolNotFoundError.isInstance(error) && storage) {
    message = await unknownToolMessage(storage, error.toolName, target).catch(
      () => cliMessageOf(error) ?? error.message,
    );
  } else if (cliMessageOf(error) !== undefined) {
    message = cliMessageOf(error) as string; // a library error that says what to do in code
  } else if (SiaError.isInstance(error)) {
    message = error.message;
  } else if (typeof (error as NodeJS.ErrnoException)?.code === 'string' && error instanceof Error) {
    message = error.message; // a system error such as EACCES: its message names the path
  } else {
    message = `unexpected error: ${error instanceof Error ? error.message : String(error)}`;
    if (io.env.SIA_DEBUG) message += `\n${error instanceof Error ? error.stack : ''}`;
    else message += ' (set SIA_DEBUG=1 to print the stack)';
  }
  io.err(`sia: ${terminalText(message, { keepNewlines: true })}`);
  return EXIT.failure;
}

function parseArgsConfig(options: Readonly<Record<string, CliOption>>): ParseArgsOptionsConfig {
  const config: ParseArgsOptionsConfig = {};
  for (const [name, option] of Object.entries(options)) {
    config[name] = {
      type: option.type,
      ...(option.short === undefined ? {} : { short: option.short }),
      ...(option.multiple === undefined ? {} : { multiple: option.multiple }),
    };
  }
  return config;
}

function commandNames(): string[] {
  return [...new Set(COMMANDS.map((command) => command.name.split(' ')[0] as string))];
}

function usageLine(command: CliCommand): string {
  const options = Object.entries(command.options)
    .map(([name, option]) => `[--${name}${option.value ? ` ${option.value}` : ''}]`)
    .join(' ');
  return `sia ${command.name}${command.positionals.map((name) => ` ${name}`).join('')}${options ? ` ${options}` : ''}`;
}

function optionLines(options: Readonly<Record<string, CliOption>>): string {
  const rows = Object.entries(options).map(([name, option]) => [
    `${option.short ? `-${option.short}, ` : '    '}--${name}${option.value ? ` ${option.value}` : ''}`,
    option.description,
  ]);
  const width = Math.max(...rows.map(([flag]) => (flag as string).length));
  return rows.map(([flag, text]) => `  ${(flag as string).padEnd(width)}  ${text}`).join('\n');
}

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  return [
    'sia: inspect and manage the tools of a self-improving agent',
    '',
    'Usage: sia [--db <file> | --postgres <url>] <command> [arguments] [options]',
    '',
    'Commands:',
    ...COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    'Database and global options (accepted by every command):',
    optionLines(GLOBAL_OPTIONS),
    '',
    'Exit codes: 0 done, 1 the command failed, 2 wrong command line.',
    'Run "sia <command> --help" for a command\'s arguments and options.',
  ].join('\n');
}

function groupHelp(group: string, commands: readonly CliCommand[]): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  return [
    `Usage: sia ${group} <${commands.map((command) => command.name.split(' ')[1]).join('|')}> …`,
    '',
    ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    `Run "sia ${group} <subcommand> --help" for details.`,
  ].join('\n');
}

function commandHelp(command: CliCommand): string {
  const own = Object.keys(command.options).length > 0;
  return [
    `Usage: ${usageLine(command)}`,
    '',
    command.help,
    '',
    ...(own ? ['Options:', optionLines(command.options), ''] : []),
    'Database and global options:',
    optionLines(GLOBAL_OPTIONS),
  ].join('\n');
}

function helpFor(words: readonly string[]): string {
  if (words.length === 0) return mainHelp();
  const name = words.join(' ');
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (command) return commandHelp(command);
  const group = COMMANDS.filter((candidate) => candidate.name.startsWith(`${words[0]} `));
  if (group.length > 0) return groupHelp(words[0] as string, group);
  throw new CliUsageError(`unknown command "${terminalText(name)}"; commands: ${commandNames().join(', ')}`);
}
