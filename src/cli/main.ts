import { parseArgs } from 'node:util';
import { isCheckpointError } from '../core/errors.ts';
import { SUPPORTED_INPUTS } from '../core/formats/openCheckpoint.ts';
import { runInspect } from './inspectCommand.ts';

/** Replaced with package.json's version by the esbuild bundle. */
declare const PRUNESCOPE_VERSION: string | undefined;

const USAGE = `Usage: prunescope <command> [options]

Commands:
  inspect <model> [--json]   List a checkpoint's weight tensors, their layers and parameter totals.
                             <model> is ${SUPPORTED_INPUTS}.

Options:
  --json       Print exactly one JSON object instead of a table.
  -h, --help   Show this help.
  --version    Show the version.`;

/** Exit codes: 0 success, 1 bad model or input file, 2 usage error, 3 internal error. */
export function main(argv: string[]): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } },
    });
  } catch (e) {
    process.stderr.write(`prunescope: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    process.stdout.write(`${typeof PRUNESCOPE_VERSION === 'string' ? PRUNESCOPE_VERSION : 'dev'}\n`);
    return 0;
  }
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return command || values.help ? 0 : 2;
  }
  try {
    switch (command) {
      case 'inspect': {
        if (rest.length !== 1) {
          process.stderr.write(`prunescope inspect: expected one model file, got ${rest.length}\n${USAGE}\n`);
          return 2;
        }
        process.stdout.write(`${runInspect(rest[0]!, values.json === true)}\n`);
        return 0;
      }
      default:
        process.stderr.write(`prunescope: unknown command '${command}'\n${USAGE}\n`);
        return 2;
    }
  } catch (e) {
    if (isCheckpointError(e)) {
      process.stderr.write(`prunescope: error: ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`prunescope: internal error: ${(e as Error)?.message ?? String(e)} (set PRUNESCOPE_DEBUG=1 for details)\n`);
    if (process.env['PRUNESCOPE_DEBUG']) process.stderr.write(`${(e as Error)?.stack}\n`);
    return 3;
  }
}

