const replacements: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Escapes text for HTML (and SVG) element content and quoted attribute values. Every string
 * read from storage goes through it: tool names, reasons, sources and diffs may have been
 * written by an LLM.
 */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (character) => replacements[character] as string);
}
