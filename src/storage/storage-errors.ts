import { InvalidValueError, type InvalidValueInit } from '../core/invalid-value-error.ts';
import { SiaError } from '../core/sia-error.ts';

const toolExistsMarker = Symbol.for('self-improving-agent.error.ToolExistsError');
const toolNotFoundMarker = Symbol.for('self-improving-agent.error.ToolNotFoundError');
const versionNotFoundMarker = Symbol.for('self-improving-agent.error.VersionNotFoundError');
const storageLockedMarker = Symbol.for('self-improving-agent.error.StorageLockedError');
const storageCorruptMarker = Symbol.for('self-improving-agent.error.StorageCorruptError');
const storageClosedMarker = Symbol.for('self-improving-agent.error.StorageClosedError');
const storageInputMarker = Symbol.for('self-improving-agent.error.StorageInputError');
const storageUnavailableMarker = Symbol.for('self-improving-agent.error.StorageUnavailableError');

/** Thrown by a storage's `createTool` (so by `registry.create` and `agent.addTool`) when a tool with that name is already stored. */
export class ToolExistsError extends SiaError {
  readonly [toolExistsMarker] = true;
  /** The name that is taken. */
  readonly toolName: string;

  constructor(toolName: string) {
    super({
      code: 'TOOL_EXISTS',
      message: `Tool "${toolName}" already exists. Pick another name, or change the existing tool with a new version: registry.addCandidate("${toolName}", …), then registry.promote().`,
    });
    this.name = 'ToolExistsError';
    this.toolName = toolName;
  }

  /** True when `error` is a {@link ToolExistsError} (from any copy of the package). */
  static override isInstance(error: unknown): error is ToolExistsError {
    return SiaError.hasMarker(error, toolExistsMarker);
  }
}

/** Thrown by writers that need an existing tool when there is none with that name. */
export class ToolNotFoundError extends SiaError {
  readonly [toolNotFoundMarker] = true;
  /** The name that was not found. */
  readonly toolName: string;

  constructor(toolName: string) {
    super({
      code: 'TOOL_NOT_FOUND',
      message: `Tool "${toolName}" does not exist. Check the name (registry.list() lists the tools), or create the tool first: agent.addTool(), registry.create(), or the model's request_new_tool.`,
    });
    this.name = 'ToolNotFoundError';
    this.toolName = toolName;
  }

  /** True when `error` is a {@link ToolNotFoundError} (from any copy of the package). */
  static override isInstance(error: unknown): error is ToolNotFoundError {
    return SiaError.hasMarker(error, toolNotFoundMarker);
  }
}

/** Thrown by writers that need an existing version of a tool when it does not exist. */
export class VersionNotFoundError extends SiaError {
  readonly [versionNotFoundMarker] = true;
  /** The tool. */
  readonly toolName: string;
  /** The version that was not found. */
  readonly version: number;

  constructor(toolName: string, version: number) {
    super({
      code: 'VERSION_NOT_FOUND',
      message: `Tool "${toolName}" has no version ${version}. List its versions with registry.versions("${toolName}") and use one of them.`,
    });
    this.name = 'VersionNotFoundError';
    this.toolName = toolName;
    this.version = version;
  }

  /** True when `error` is a {@link VersionNotFoundError} (from any copy of the package). */
  static override isInstance(error: unknown): error is VersionNotFoundError {
    return SiaError.hasMarker(error, versionNotFoundMarker);
  }
}

/**
 * Thrown when a storage file is already opened for writing by a live process (possibly this
 * one). Names the process id found in the lock file and the lock file's path.
 */
export class StorageLockedError extends SiaError {
  readonly [storageLockedMarker] = true;
  /** The database file. */
  readonly path: string;
  /** The lock file, `<path>.lock`. */
  readonly lockPath: string;
  /** Process id of the owner, as written in the lock file. */
  readonly pid: number;

  constructor({
    path,
    lockPath,
    pid,
  }: {
    readonly path: string;
    readonly lockPath: string;
    readonly pid: number;
  }) {
    const owner = pid === process.pid ? `this process (pid ${pid})` : `process ${pid}`;
    super({
      code: 'STORAGE_LOCKED',
      message:
        `Storage file "${path}" is locked by ${owner} (lock file "${lockPath}"). ` +
        'Close the other storage first, or give each process its own file. ' +
        `If no process ${pid} uses this file any more, delete "${lockPath}".`,
    });
    this.name = 'StorageLockedError';
    this.path = path;
    this.lockPath = lockPath;
    this.pid = pid;
  }

  /** True when `error` is a {@link StorageLockedError} (from any copy of the package). */
  static override isInstance(error: unknown): error is StorageLockedError {
    return SiaError.hasMarker(error, storageLockedMarker);
  }
}

/**
 * Thrown when a storage file cannot be used: it is not a SQLite database, or it was written
 * by a newer release of this library (schema version unknown to this one).
 */
export class StorageCorruptError extends SiaError {
  readonly [storageCorruptMarker] = true;
  /** The file concerned. */
  readonly path: string;

  constructor({
    path,
    problem,
    remedy,
    cause,
  }: {
    /** The file concerned. */
    path: string;
    /** What is wrong with it, completing "Storage file <path> …". */
    problem: string;
    /** What to do next. */
    remedy: string;
    /** The underlying error, if any. */
    cause?: unknown;
  }) {
    super({ code: 'STORAGE_CORRUPT', message: `Storage file "${path}" ${problem}. ${remedy}`, cause });
    this.name = 'StorageCorruptError';
    this.path = path;
  }

  /** True when `error` is a {@link StorageCorruptError} (from any copy of the package). */
  static override isInstance(error: unknown): error is StorageCorruptError {
    return SiaError.hasMarker(error, storageCorruptMarker);
  }
}

/** Thrown by every method of a storage adapter (except `close`) after it was closed. */
export class StorageClosedError extends SiaError {
  readonly [storageClosedMarker] = true;
  /** Name of the adapter. */
  readonly adapter: string;

  constructor(adapter: string) {
    super({
      code: 'STORAGE_CLOSED',
      message: `The ${adapter} storage is closed. Create a new adapter to keep using the data.`,
    });
    this.name = 'StorageClosedError';
    this.adapter = adapter;
  }

  /** True when `error` is a {@link StorageClosedError} (from any copy of the package). */
  static override isInstance(error: unknown): error is StorageClosedError {
    return SiaError.hasMarker(error, storageClosedMarker);
  }
}

/**
 * Thrown when a value passed to a storage method cannot be stored as given, e.g. a record
 * whose `latencyMs` is `NaN`. Names the field by its path (`records[3].latencyMs`).
 * Nothing of the call was written.
 */
export class StorageInputError extends InvalidValueError {
  readonly [storageInputMarker] = true;

  constructor({ field, expected, value, cause }: InvalidValueInit) {
    super({
      code: 'STORAGE_INPUT',
      field,
      expected,
      value,
      label: 'Cannot store',
      remedy: 'Fix the value before storing it; nothing was written.',
      cause,
    });
    this.name = 'StorageInputError';
  }

  /** True when `error` is a {@link StorageInputError} (from any copy of the package). */
  static override isInstance(error: unknown): error is StorageInputError {
    return SiaError.hasMarker(error, storageInputMarker);
  }
}

/** Thrown when an adapter's backend is not available in this runtime, e.g. `node:sqlite`. */
export class StorageUnavailableError extends SiaError {
  readonly [storageUnavailableMarker] = true;
  /** Name of the adapter. */
  readonly adapter: string;

  constructor(adapter: string, remedy: string, cause?: unknown) {
    super({
      code: 'STORAGE_UNAVAILABLE',
      message: `The ${adapter} storage is not available in this runtime. ${remedy}`,
      cause,
    });
    this.name = 'StorageUnavailableError';
    this.adapter = adapter;
  }

  /** True when `error` is a {@link StorageUnavailableError} (from any copy of the package). */
  static override isInstance(error: unknown): error is StorageUnavailableError {
    return SiaError.hasMarker(error, storageUnavailableMarker);
  }
}
