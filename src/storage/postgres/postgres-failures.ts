/**
 * How the adapter reads a failure from `pg` or the server: may the operation be tried again,
 * did the connection break, or is the configuration wrong.
 */

/** SQLSTATEs after which the transaction is known to have been rolled back and may be rerun. */
const rerunCodes: ReadonlySet<string> = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
]);

/** SQLSTATEs meaning the connection (or the server) went away or is not accepting yet. */
const connectionCodes: ReadonlySet<string> = new Set([
  '57P01', // admin_shutdown: pg_terminate_backend, or a fast shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: the server is starting up or shutting down
  '08000', // connection_exception
  '08001', // sqlclient_unable_to_establish_sqlconnection
  '08003', // connection_does_not_exist
  '08004', // sqlserver_rejected_establishment_of_sqlconnection
  '08006', // connection_failure
  '53300', // too_many_connections
]);

/** Errors of Node's sockets meaning the server cannot be reached right now. */
const socketCodes: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** Messages `pg` and `pg-pool` use for a broken or unobtainable connection (they carry no code). */
const connectionMessages =
  /Connection terminated|not queryable|timeout exceeded when trying to connect|Connection ended|terminating connection/i;

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** True when the server rolled the transaction back to resolve a conflict: rerunning it is safe. */
export function isRerunnable(error: unknown): boolean {
  const code = codeOf(error);
  return code !== undefined && rerunCodes.has(code);
}

/** True when the connection broke or could not be made (the server may be back soon). */
export function isConnectionFailure(error: unknown): boolean {
  const code = codeOf(error);
  if (code !== undefined && (connectionCodes.has(code) || socketCodes.has(code))) return true;
  return error instanceof Error && connectionMessages.test(error.message);
}

/** What the server said about a login that cannot succeed, and what to check; else undefined. */
export function loginProblem(error: unknown, target: string): string | undefined {
  const code = codeOf(error);
  const detail = error instanceof Error ? error.message : String(error);
  switch (code) {
    case '28P01':
      return `PostgreSQL at ${target} rejected the password (28P01: ${detail}). Check the user and password in the connection string (or PGUSER/PGPASSWORD).`;
    case '28000':
      return `PostgreSQL at ${target} refused the login (28000: ${detail}). Check that the role exists and that the server's pg_hba.conf lets it connect from this host.`;
    case '3D000':
      return `PostgreSQL at ${target} has no such database (3D000: ${detail}). Create it (createdb <name>) or fix the database name in the connection string.`;
    case '42501':
      return `PostgreSQL at ${target} denied a privilege the storage needs (42501: ${detail}). Grant the role CREATE on the database (for the first migration) and USAGE plus read/write on the schema's tables, or run the first start as the schema's owner.`;
    default:
      return undefined;
  }
}

/** A short description of a failure for messages: its code and message. */
export function describeFailure(error: unknown): string {
  const code = codeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  return code === undefined ? message : `${code}: ${message}`;
}
