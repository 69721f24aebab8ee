import { describe, expect, it } from 'vitest';
import { extractCode } from './extract-code.ts';

const code = 'function add({ a, b }) {\n  return a + b;\n}';

describe('extractCode', () => {
  it.each(['js', 'javascript', 'ts', 'typescript', 'JS', ''])('strips a ```%s fence', (language) => {
    expect(extractCode(`\`\`\`${language}\n${code}\n\`\`\``)).toBe(code);
  });

  it('strips prose before and after the fence', () => {
    expect(
      extractCode(`Sure, here it is:\n\n\`\`\`js\n${code}\n\`\`\`\n\nLet me know if you need anything else.`),
    ).toBe(code);
  });

  it('returns text without a fence trimmed', () => {
    expect(extractCode(`\n\n  ${code}  \n`)).toBe(code);
    expect(extractCode('   ')).toBe('');
    expect(extractCode("I can't help with that.")).toBe("I can't help with that.");
  });

  it('takes the first fence that declares a function when there are several', () => {
    const text = `Input looks like:\n\`\`\`js\n{ "a": 1, "b": 2 }\n\`\`\`\nCode:\n\`\`\`js\n${code}\n\`\`\`\nUsage:\n\`\`\`js\nadd({ a: 1, b: 2 });\n\`\`\``;
    expect(extractCode(text)).toBe(code);
  });

  it('prefers a JavaScript fence over another language', () => {
    const text = `\`\`\`python\ndef add(a, b):\n    return a + b\n\`\`\`\n\`\`\`js\n${code}\n\`\`\``;
    expect(extractCode(text)).toBe(code);
  });

  it('falls back to the first JavaScript fence, then to any fence', () => {
    expect(extractCode('```js\nconst x = 1;\n```\n```js\nconst y = 2;\n```')).toBe('const x = 1;');
    expect(extractCode('```python\ndef add(a, b): return a + b\n```')).toBe('def add(a, b): return a + b');
  });

  it('keeps an unclosed fence (a truncated answer) to the end of the text', () => {
    expect(extractCode(`\`\`\`js\n${code}`)).toBe(code);
  });

  it('handles longer fences containing triple backticks, tildes, CRLF and info strings', () => {
    const inner = 'function doc() {\n  return "```";\n}';
    expect(extractCode(`\`\`\`\`js\n${inner}\n\`\`\`\`\n`)).toBe(inner);
    expect(extractCode(`~~~javascript\n${code}\n~~~`)).toBe(code);
    expect(extractCode(`\`\`\`js\r\n${code.replaceAll('\n', '\r\n')}\r\n\`\`\`\r\n`)).toBe(code);
    expect(extractCode(`\`\`\`js title="add.js"\n${code}\n\`\`\``)).toBe(code);
  });

  it('does not treat inline backticks in prose as a fence', () => {
    expect(extractCode(`Use \`add\` like this:\n\`\`\`js\n${code}\n\`\`\``)).toBe(code);
  });
});
