import type { CliCommand } from '../cli-command.ts';
import { diffCommand } from './diff-command.ts';
import { disableCommand, enableCommand } from './disable-command.ts';
import { exportCommand } from './export-command.ts';
import { historyCommand } from './history-command.ts';
import { importCommand } from './import-command.ts';
import { improvementsResetCommand } from './improvements-command.ts';
import { mcpCommand } from './mcp-command.ts';
import { pinCommand, unpinCommand } from './pin-command.ts';
import { reportCommand } from './report-command.ts';
import { rollbackCommand } from './rollback-command.ts';
import { testsAddCommand, testsListCommand, testsRemoveCommand } from './tests-command.ts';
import { toolsCommand } from './tools-command.ts';

/** Every `sia` command, in the order the help lists them. */
export const COMMANDS: readonly CliCommand[] = [
  toolsCommand,
  reportCommand,
  historyCommand,
  diffCommand,
  rollbackCommand,
  pinCommand,
  unpinCommand,
  disableCommand,
  enableCommand,
  testsListCommand,
  testsAddCommand,
  testsRemoveCommand,
  exportCommand,
  importCommand,
  improvementsResetCommand,
  mcpCommand,
];
