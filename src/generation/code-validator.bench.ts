/**
 * CodeValidator benchmark (`npm run bench generation`): what the real-parser validation costs
 * per answer, against a bare acorn parse (its floor) and the article's substring bans (what it
 * replaces; they miss `new Function`, `require`, implicit globals and every misnamed function).
 */
import { parse } from 'acorn';
import { measure, printTable } from '../../test/support/benchmark.ts';
import { CodeValidator } from './code-validator.ts';

const helper = (index: number) =>
  `const helper_${index} = (value) => {\n  const parts = String(value).split(',').map((part) => part.trim());\n  return parts.filter((part) => part.length > 0).map((part, position) => ({ part, position, index: ${index} }));\n};\n`;

const entry = `async function fetch_rate({ from, to, amount = 1 }) {
  const url = new URL('https://api.example.com/latest/' + encodeURIComponent(from));
  const response = await fetch(url.toString());
  if (!response.ok) throw new Error('HTTP ' + response.status);
  const body = await response.json();
  const rate = body.rates?.[to];
  if (rate === undefined) throw new Error('unknown currency ' + to);
  return { rate, converted: amount * rate };
}`;

const small = `\`\`\`js\n${helper(0)}${helper(1)}${entry}\n\`\`\``;
const large = `${Array.from({ length: 150 }, (_, index) => helper(index)).join('')}${entry}`;
const validator = new CodeValidator();

const bannedSubstrings = ['import os', 'subprocess', 'eval(', 'exec(', '__import__', 'open('];
const articleCheck = (source: string) => !bannedSubstrings.some((banned) => source.includes(banned));

for (const [label, source] of [
  ['small', small],
  ['large', large],
] as const) {
  const bytes = Buffer.byteLength(source);
  if (!validator.validate(source, { name: 'fetch_rate' }).ok)
    throw new Error(`${label} source must validate`);
  const operations = label === 'small' ? 2_000 : 50;
  const rows = [
    await measure('substring bans (article)', () => articleCheck(source), { operations }),
    await measure(
      'acorn parse only',
      () => parse(source.replace(/```js\n|\n```/g, ''), { ecmaVersion: 'latest' }),
      {
        operations,
      },
    ),
    await measure('CodeValidator.validate', () => validator.validate(source, { name: 'fetch_rate' }), {
      operations,
    }),
  ];
  printTable(`${label} tool (${bytes} bytes)`, rows, { baseline: 'acorn parse only' });
}
