// Plain JavaScript on purpose: it must run on any Node.js, to say in one line what is wrong
// before a development script (written in TypeScript, run by Node's type stripping) fails.
//
//   node scripts/check-node.mjs          # exits 1 with one line on stderr when Node is too old
import { pathToFileURL } from 'node:url';

/** The oldest Node.js the development scripts run on: type stripping without a flag (22.18). */
export const DEVELOPMENT_NODE = Object.freeze({ major: 22, minor: 18, text: '22.18' });

/**
 * Returns `undefined` when `version` (like `v22.23.3`) can run the development scripts, else the
 * one-line message that says what to do.
 */
export function nodeProblem(version = process.version, execPath = process.execPath) {
  const [major, minor] = version.replace(/^v/, '').split('.').map(Number);
  if (major > DEVELOPMENT_NODE.major || (major === DEVELOPMENT_NODE.major && minor >= DEVELOPMENT_NODE.minor))
    return undefined;
  return (
    `self-improving-agent's development scripts need Node.js ${DEVELOPMENT_NODE.text} or later, ` +
    `but found ${version} (${execPath}). \`npm install\` brings one (the "node" devDependency): ` +
    'run it again without --ignore-scripts, or use Node.js 22 or later.'
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const problem = nodeProblem();
  if (problem !== undefined) {
    process.stderr.write(`${problem}\n`);
    process.exit(1);
  }
}
