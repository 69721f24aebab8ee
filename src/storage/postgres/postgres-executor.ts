import { setTimeout as delay } from 'node:timers/promises';
import { SiaError } from '../../core/sia-error.ts';
import { StorageUnavailableError } from '../storage-errors.ts';
import { describeFailure, isConnectionFailure, isRerunnable, loginProblem } from './postgres-failures.ts';
import {
  connectGuarded,
  type PostgresPool,
  type PostgresPoolClient,
  type PostgresQueryable,
} from './postgres-pool.ts';

/** Bounded exponential back-off between attempts. */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

/** How {@link PostgresExecutor.write} treats a transaction. */
export interface WriteOptions<T> {
  /**
   * Rerunning the whole transaction is harmless even after it committed (e.g. migrations):
   * connection failures are retried in every phase.
   */
  idempotent?: boolean;
  /**
   * Called when the connection broke while COMMIT was in flight, so it is unknown whether the
   * transaction committed: resolves true when it did (then `result` is returned), false when
   * it did not (then the transaction is rerun). Without it such a failure is thrown.
   */
  committed?: (queryable: PostgresQueryable, result: T) => Promise<boolean>;
  /** Extra failures after which a rerun is safe (the transaction rolled back), e.g. a unique violation. */
  rerunOn?: (error: unknown) => boolean;
}

/** Runs the adapter's statements with retries; see {@link postgresExecutor}. */
export interface PostgresExecutor {
  /** Runs a read (or another statement that is harmless to repeat) on the pool, retrying failures. */
  read<T>(body: (queryable: PostgresQueryable) => Promise<T>): Promise<T>;
  /** Runs `body` in a transaction on one connection, rerunning it when that is known to be safe. */
  write<T>(body: (client: PostgresQueryable) => Promise<T>, options?: WriteOptions<T>): Promise<T>;
}

/**
 * Retries on a pool, for every operation of the PostgreSQL adapter:
 * - reads, and transactions the server rolled back (serialization failure, deadlock) or that
 *   broke before COMMIT was sent, are rerun after a back-off with jitter;
 * - a break while COMMIT was in flight is ambiguous: only rerun when the caller can tell
 *   whether it committed (`committed`) or the transaction is idempotent;
 * - a login that cannot succeed (wrong password, unknown role or database, missing privilege)
 *   fails at once with `StorageUnavailableError` saying what to check, and a server still
 *   unreachable after the last attempt does too;
 * - the library's own errors (ToolNotFoundError, …) are thrown as they are.
 *
 * A connection that broke is discarded, never returned to the pool.
 */
export function postgresExecutor(pool: PostgresPool, retry: RetryPolicy, target: string): PostgresExecutor {
  const backoff = (attempt: number) => {
    const exponential = Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** (attempt - 1));
    return Math.round(exponential / 2 + Math.random() * (exponential / 2));
  };
  const fail = (error: unknown, attempts: number): unknown => {
    const login = loginProblem(error, target);
    if (login !== undefined) return new StorageUnavailableError('postgres', login, error);
    if (isConnectionFailure(error))
      return new StorageUnavailableError(
        'postgres',
        `PostgreSQL at ${target} could not be used after ${attempts} attempt${attempts === 1 ? '' : 's'} (${describeFailure(error)}). Check that the server is running and reachable; later calls try again.`,
        error,
      );
    return error;
  };

  const read = async <T>(body: (queryable: PostgresQueryable) => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await body(pool);
      } catch (error) {
        const retryable = isRerunnable(error) || isConnectionFailure(error);
        if (SiaError.isInstance(error) || !retryable || attempt >= retry.maxAttempts)
          throw fail(error, attempt);
        await delay(backoff(attempt));
      }
    }
  };

  const write = async <T>(
    body: (client: PostgresQueryable) => Promise<T>,
    options: WriteOptions<T> = {},
  ): Promise<T> => {
    for (let attempt = 1; ; attempt += 1) {
      const state: TransactionState<T> = { committing: false, result: undefined, hasResult: false };
      try {
        return await transaction(pool, body, state);
      } catch (error) {
        if (SiaError.isInstance(error)) throw error;
        const connection = isConnectionFailure(error);
        if (connection && state.committing && !options.idempotent) {
          if (!options.committed || !state.hasResult) throw fail(error, attempt);
          const result = state.result as T;
          const check = options.committed;
          if (await read((queryable) => check(queryable, result))) return result;
        } else {
          const retryable = connection || isRerunnable(error) || options.rerunOn?.(error) === true;
          if (!retryable || attempt >= retry.maxAttempts) throw fail(error, attempt);
        }
        if (attempt >= retry.maxAttempts) throw fail(error, attempt);
        await delay(backoff(attempt));
      }
    }
  };

  return { read, write };
}

interface TransactionState<T> {
  /** COMMIT was sent: a broken connection now leaves the outcome unknown. */
  committing: boolean;
  result: T | undefined;
  hasResult: boolean;
}

async function transaction<T>(
  pool: PostgresPool,
  body: (client: PostgresQueryable) => Promise<T>,
  state: TransactionState<T>,
): Promise<T> {
  let broken: Error | undefined;
  // A checked-out client with no 'error' listener would crash the process when its
  // connection drops between two statements (or right as it is handed out: connectGuarded).
  const onError = (error: Error) => {
    broken ??= error;
  };
  const client: PostgresPoolClient = await connectGuarded(pool, onError);
  try {
    await client.query('BEGIN');
    const result = await body(client);
    state.result = result;
    state.hasResult = true;
    state.committing = true;
    await client.query('COMMIT');
    return result;
  } catch (error) {
    if (isConnectionFailure(error)) broken ??= error as Error;
    if (!state.committing && broken === undefined) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError as Error;
      }
    }
    throw error;
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
}
