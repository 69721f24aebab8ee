/**
 * Fence languages that hold JavaScript (or TypeScript, which the validator then rejects with a
 * precise syntax error rather than a confusing "no function" one). An empty tag is a bare fence.
 */
const JAVASCRIPT_TAGS = new Set(['', 'js', 'javascript', 'mjs', 'cjs', 'jsx', 'ts', 'typescript', 'tsx']);

const OPENING_FENCE = /^[ \t]*(`{3,}|~{3,})[ \t]*([^\s`]*)[^`]*$/;

interface Fence {
  readonly language: string;
  readonly body: string;
}

/**
 * Turns a model's answer into the code it contains: strips ONE Markdown code fence and any
 * prose around it. Text without a fence is returned trimmed (the validator then says what is
 * wrong with it).
 *
 * Which fence, when there are several:
 * 1. the first JavaScript-like fence (```` ```js ````, `javascript`, `ts`, `typescript`, `jsx`,
 *    `mjs`, or a bare ```` ``` ````) whose body contains a `function` declaration;
 * 2. else the first JavaScript-like fence;
 * 3. else the first fence of any language (so a Python answer is reported as a syntax error).
 *
 * A fence that is never closed (an answer cut off by the token limit) runs to the end of the
 * text. Fences are lines starting with three or more backticks or tildes; the closing fence must
 * use the same character and at least as many of them, as in CommonMark.
 *
 * @example
 * extractCode('Here it is:\n```js\nfunction add({ a, b }) { return a + b; }\n```\nEnjoy!');
 * // 'function add({ a, b }) { return a + b; }'
 */
export function extractCode(text: string): string {
  const fences = findFences(text);
  if (fences.length === 0) return text.trim();
  const javascript = fences.filter((fence) => JAVASCRIPT_TAGS.has(fence.language));
  const chosen =
    javascript.find((fence) => declaresFunction(fence.body)) ?? javascript[0] ?? (fences[0] as Fence);
  return chosen.body.trim();
}

function findFences(text: string): Fence[] {
  const lines = text.split(/\r?\n/);
  const fences: Fence[] = [];
  let index = 0;
  while (index < lines.length) {
    const match = OPENING_FENCE.exec(lines[index] as string);
    index += 1;
    if (match === null) continue;
    const marker = match[1] as string;
    const language = (match[2] as string).toLowerCase();
    const body: string[] = [];
    while (index < lines.length && !closesFence(lines[index] as string, marker)) {
      body.push(lines[index] as string);
      index += 1;
    }
    index += 1; // skip the closing fence (or run past the end of an unclosed one)
    fences.push({ language, body: body.join('\n') });
  }
  return fences;
}

function closesFence(line: string, marker: string): boolean {
  const trimmed = line.trim();
  if (trimmed.length < marker.length) return false;
  const character = marker[0] as string;
  for (const symbol of trimmed) if (symbol !== character) return false;
  return true;
}

// Only chooses between fences; the validator parses the chosen one for real.
function declaresFunction(body: string): boolean {
  return /(^|[\s;{}()])function[\s*]/.test(body);
}
