import type { ToolKind, ToolRecord } from './records.ts';

/**
 * The kind of a stored tool: its `kind`, or `'sandboxed'` when the record has none (an adapter
 * written before host tools).
 */
export function toolKind(record: Pick<ToolRecord, 'kind'>): ToolKind {
  return record.kind === 'host' ? 'host' : 'sandboxed';
}

/** Whether a stored tool is disabled: its `disabled`, or `false` when the record has none. */
export function isDisabled(record: Pick<ToolRecord, 'disabled'>): boolean {
  return record.disabled === true;
}
