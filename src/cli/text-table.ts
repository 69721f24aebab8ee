/**
 * Plain aligned columns: each column as wide as its widest cell, two spaces apart, the last
 * column not padded (so long reasons do not drag trailing spaces).
 */
export function textTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, column) => Math.max(...all.map((row) => [...(row[column] ?? '')].length)));
  return all
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : pad(cell, widths[column] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function pad(cell: string, width: number): string {
  return cell + ' '.repeat(Math.max(0, width - [...cell].length));
}

/**
 * Text from storage made safe for a terminal: control characters (escape sequences could
 * recolour or rewrite the screen) become `?`, and line breaks become spaces unless kept.
 */
export function terminalText(value: string, options: { keepNewlines?: boolean } = {}): string {
  const flat = options.keepNewlines ? value : value.replace(/\r?\n|\r/g, ' ');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
  return flat.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '?');
}

/** At most `length` characters, with `…` when cut. */
export function truncate(value: string, length: number): string {
  const characters = [...value];
  return characters.length <= length ? value : `${characters.slice(0, length - 1).join('')}…`;
}
