#!/usr/bin/env node
/**
 * The `sia` command (bin of the package). Never imported by the library: it is an application
 * on top of it. Everything it does lives in run-cli.ts; this file binds it to the process.
 */
import { runCli } from './run-cli.ts';

// node:sqlite prints an ExperimentalWarning on Node 22 (`--driver node-sqlite`); a one-off
// command should not print it. Every other warning still reaches stderr.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name === 'ExperimentalWarning' && /SQLite/i.test(warning.message)) return;
  process.stderr.write(`${warning.name}: ${warning.message}\n`);
});

process.exitCode = await runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  cwd: process.cwd(),
  env: process.env,
});
