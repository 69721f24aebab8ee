/** An error as data: a stable code and its message. */
export interface ErrorInfo {
  /** The error's `code` when it has a non-empty string one (`TOOL_ERROR`, `TIMEOUT`, …), else `ERROR`. */
  code: string;
  /** The error's message, or the value as a string. */
  message: string;
}

/** Turns anything thrown into `{ code, message }` for records, events and reports. */
export function errorInfo(error: unknown): ErrorInfo {
  if (typeof error === 'object' && error !== null) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    return {
      code: typeof code === 'string' && code !== '' ? code : 'ERROR',
      message: typeof message === 'string' ? message : String(error),
    };
  }
  return { code: 'ERROR', message: String(error) };
}
