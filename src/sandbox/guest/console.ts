/**
 * `console`: formats its arguments Node-style inside the guest (bounded depth, length and item
 * counts) and hands the worker one string per entry. Only `log`, `info`, `warn`, `error`,
 * `debug` (with `trace`, `dir`, `table`, `assert`) record anything; grouping, timing and
 * counting are no-ops so tools written for Node run unchanged.
 */
import { host, state } from './call-state.ts';
import { type ErrorFields, isErrorObject, safeText, truncate } from './errors.ts';
import {
  apply,
  isArray,
  jsonStringify,
  ObjectCtor,
  objectKeys,
  objectToString,
  type PropertyBag,
  StringCtor,
} from './intrinsics.ts';

export const maxLogEntryChars = 8192;

export function formatValue(value: unknown, depth: number, seen: unknown[]): string {
  switch (typeof value) {
    case 'string':
      return depth === 0 ? value : jsonStringify(value);
    case 'number':
      return ObjectCtor.is(value, -0) ? '-0' : StringCtor(value);
    case 'boolean':
    case 'undefined':
      return StringCtor(value);
    case 'bigint':
      return `${value}n`;
    case 'symbol':
      return value.toString();
    case 'function':
      return `[Function: ${value.name || 'anonymous'}]`;
  }
  if (value === null) return 'null';
  if (seen.includes(value)) return '[Circular]';
  if (isErrorObject(value)) {
    const error = value as ErrorFields;
    const head = `${safeText(error.name) || 'Error'}: ${safeText(error.message)}`;
    return depth === 0 && error.stack ? `${head}\n${safeText(error.stack)}` : head;
  }
  const tag = apply(objectToString, value, []);
  if (tag === '[object Date]') {
    const time = (value as Date).getTime();
    return Number.isNaN(time) ? 'Invalid Date' : new Date(time).toISOString();
  }
  if (depth > 2) return isArray(value) ? '[Array]' : '[Object]';
  seen.push(value);
  try {
    if (isArray(value)) {
      const items = value.slice(0, 50).map((item) => formatValue(item, depth + 1, seen));
      if (value.length > 50) items.push(`... ${value.length - 50} more items`);
      return `[ ${items.join(', ')} ]`;
    }
    if (tag === '[object Map]') {
      const entries: string[] = [];
      for (const [key, item] of value as Map<unknown, unknown>) {
        if (entries.length >= 50) break;
        entries.push(`${formatValue(key, depth + 1, seen)} => ${formatValue(item, depth + 1, seen)}`);
      }
      return `Map(${(value as Map<unknown, unknown>).size}) { ${entries.join(', ')} }`;
    }
    if (tag === '[object Set]') {
      const entries: string[] = [];
      for (const item of value as Set<unknown>) {
        if (entries.length >= 50) break;
        entries.push(formatValue(item, depth + 1, seen));
      }
      return `Set(${(value as Set<unknown>).size}) { ${entries.join(', ')} }`;
    }
    const names = objectKeys(value as object);
    const fields = names
      .slice(0, 50)
      .map(
        (name) =>
          `${/^[A-Za-z_$][\w$]*$/.test(name) ? name : jsonStringify(name)}: ${formatValue((value as PropertyBag)[name], depth + 1, seen)}`,
      );
    if (names.length > 50) fields.push(`... ${names.length - 50} more keys`);
    return fields.length === 0 ? '{}' : `{ ${fields.join(', ')} }`;
  } finally {
    seen.pop();
  }
}

export function formatArgs(args: unknown[]): string {
  let rest = args;
  let head = '';
  if (typeof args[0] === 'string' && args[0].includes('%') && args.length > 1) {
    let index = 1;
    head = args[0].replace(/%([sdifoOjc%])/g, (match, kind: string) => {
      if (kind === '%') return '%';
      if (index >= args.length) return match;
      const arg = args[index++];
      switch (kind) {
        case 's':
          return typeof arg === 'string' ? arg : formatValue(arg, 1, []);
        case 'd':
        case 'i': {
          const number = typeof arg === 'bigint' ? arg : Number(arg);
          return kind === 'i' && typeof number === 'number'
            ? StringCtor(Math.trunc(number))
            : StringCtor(number);
        }
        case 'f':
          return StringCtor(Number(arg));
        case 'c':
          return '';
        default:
          return formatValue(arg, 1, []);
      }
    });
    rest = args.slice(index);
  }
  const parts = rest.map((arg) => formatValue(arg, 0, []));
  const text = head === '' ? parts.join(' ') : [head, ...parts].join(' ');
  return truncate(text, maxLogEntryChars);
}

export function emit(level: string, args: unknown[]): void {
  if (!state.active) return;
  let text: string;
  try {
    text = formatArgs(args);
  } catch {
    text = '[a value that could not be formatted]';
  }
  host().log(level, text);
}

export const noop = () => undefined;
export const consoleObject = {
  log: (...args: unknown[]) => emit('log', args),
  info: (...args: unknown[]) => emit('info', args),
  warn: (...args: unknown[]) => emit('warn', args),
  error: (...args: unknown[]) => emit('error', args),
  debug: (...args: unknown[]) => emit('debug', args),
  trace: (...args: unknown[]) => emit('debug', args),
  dir: (value: unknown) => emit('log', [value]),
  table: (value: unknown) => emit('log', [value]),
  assert: (condition: unknown, ...args: unknown[]) => {
    if (!condition) emit('error', ['Assertion failed', ...args]);
  },
  group: noop,
  groupCollapsed: noop,
  groupEnd: noop,
  time: noop,
  timeEnd: noop,
  timeLog: noop,
  count: noop,
  countReset: noop,
};
