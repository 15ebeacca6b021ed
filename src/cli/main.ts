/**
 * The command line (cli-contract.md): parses arguments and runs a command. Exit codes: 0 success,
 * 1 invalid input or failed check, 2 usage or I/O error. Errors are one sentence on stderr, with a
 * stack trace only under --debug. Each command registers its own flags and help from its file
 * (`registerX(program, context)`); this file puts them in order and maps errors to exit codes.
 */
import { Command, CommanderError } from 'commander';
import { ConfigReadError } from '../sources/file/read-files.js';
import { UsageError } from './output.js';
import { ControlPlaneUnreachable, StoreUnreachable } from './errors.js';
import { StoreUrlError } from '../model/config/store.js';
import { SecretsKeyError } from '../security/secrets-at-rest.js';
import type { CommandContext } from './command-context.js';
import { ListenRefused } from '../app/start-errors.js';
import { StateDirLocked } from '../sources/file/state-lock.js';
import { registerValidate } from './validate-command.js';
import { registerEndpoints } from './endpoints-command.js';
import { registerServe } from './serve-command.js';
import { registerProxyStatus } from './proxy-status-command.js';
import { registerGet } from './get-command.js';
import { registerWorkload } from './workload-command.js';
import { registerAgent } from './agent-tools-command.js';
import { registerApply } from './apply-command.js';
import { registerDelete } from './delete-command.js';
import { registerProxyConfig } from './proxy-config-command.js';
import { registerVersion } from './version-command.js';
import { registerCompletion } from './completion-command.js';
import { registerAnalyze } from './analyze-command.js';
import { registerDiff } from './diff-command.js';
import { errorMessage } from '../lib/errors.js';
export { isLoopbackAddress } from './serve-command.js';

/**
 * `inspect`: called with the complete command tree instead of parsing `argv` (docs/cli.md is
 * generated from it: scripts/docs-cli.mjs, cli-reference.ts).
 */
export async function runCli(argv: readonly string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr, inspect?: (program: Command) => void): Promise<number> {
  const debug = argv.includes('--debug');
  let exitCode = 0;
  const program = new Command('meshbridge')
    .description('A service-mesh control plane for VMs and Kubernetes, speaking Istio\'s API')
    .option('--debug', 'print stack traces of internal errors')
    .exitOverride()
    .configureOutput({ writeOut: (s) => out.write(s), writeErr: (s) => err.write(s) });
  const context: CommandContext = { out, err, setExitCode: (code) => (exitCode = code) };
  // The order of the commands in help and in docs/cli.md.
  for (const register of [registerValidate, registerEndpoints, registerServe, registerProxyStatus, registerGet, registerWorkload, registerAgent, registerApply, registerDelete, registerProxyConfig, registerVersion, registerCompletion, registerAnalyze, registerDiff]) {
    register(program, context);
  }
  if (inspect !== undefined) {
    inspect(program);
    return 0;
  }

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return 2; // commander already printed the message
    }
    if (e instanceof UsageError || e instanceof ConfigReadError || e instanceof ControlPlaneUnreachable || e instanceof StoreUnreachable || e instanceof StoreUrlError || e instanceof SecretsKeyError || e instanceof StateDirLocked || e instanceof ListenRefused) {
      err.write(`meshbridge: ${e.message}\n`);
      return 2;
    }
    err.write(`meshbridge: internal error: ${errorMessage(e)}\n`);
    if (debug && e instanceof Error && e.stack) err.write(`${e.stack}\n`);
    return 2;
  }
}
