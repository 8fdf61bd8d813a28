import { parseArgs } from 'node:util';
import { Cancelled, oneLine, UsageError, UserInputError } from '../core/errors.ts';
import { SUPPORTED_INPUTS } from '../core/formats/openCheckpoint.ts';
import { VERSION } from '../core/version.ts';
import { runInspect } from './inspectCommand.ts';
import { parseAnalyzeOptions, runAnalyze } from './analyzeCommand.ts';
import { parsePruneOptions, runPrune } from './pruneCommand.ts';
import { parseTrainGatesOptions, runTrainGates } from './trainGatesCommand.ts';

const USAGE = `Usage: prunescope <command> [options]

Commands:
  inspect <model> [--json]   List a checkpoint's weight tensors, their layers and parameter totals.
  analyze <model> [options]  Tail indices, compressibility curves and spectra of every weight layer.
  train-gates <model> --data x.npy --labels y.npy -o <out> [options]
                             Retrain a Dense or Conv2D chain with Bernoulli gates; export it without the units switched off.
  prune <model> -o <out> --method magnitude|singular|node|spectral (--ratio r | --eps e | --budget n | --plan p) [options]
                             Prune weight layers and write a new model (ONNX → .onnx, TF.js → model.json).
  <model> is ${SUPPORTED_INPUTS}.

inspect options:
  --json                 Print exactly one JSON object instead of a table.

analyze options:
  --json <out.json>      Write the report (versioned JSON schema).
  --html <out.html>      Write a self-contained HTML report (charts, no network).
  --mode robust|paper    robust (default): zeros dropped, truncation fallback; paper: the authors' exact procedure.
  --seed <n>             Seed of the permutations (default 0).
  --eps <x>              Target relative error for "prunable at ε" (default 0.1).
  --layers <regex>       Only layers whose name matches.
  --no-spectra           Skip singular values and the ESD fit.
  --node-convention columns|rows   Node scores: input units (paper, default) or output units.
  --workers <n>          Worker threads (default: one per core; 0 = none).
  --memory-budget <MiB>  Memory the workers' layers may hold at once (default: a quarter of the
                         machine's memory); a layer larger than that runs alone.
  --data <calib>         ONNX: also each layer's activation spectrum and degrees of freedom N̂(λ).
                         <calib> is a .npy, a folder of .npy files, or a folder of PNG/JPEG images
                         (then --image-size HxW [--mean r,g,b] [--std r,g,b] [--layout nchw|nhwc]).
  --samples <n>          Calibration samples taken from --data (default 512).
  --input-shape <name=1x16000>   Dims of a dynamic input for the dependency analysis (repeatable;
                         without it symbols and defaults decide, and the report says which).

prune options (see the README):
  --global               With --ratio: one threshold over all layers (magnitude: |w|; node on ONNX:
                         the dependency groups' mean-normalised scores).
  --layers <regex>       Only layers whose name matches.
  --verify               Run the pruned model against the original (32 random inputs; --data for yours).
  --data <x.npy> [--labels <y.npy>]   Verify on these samples (and report accuracy).
  --input-shape <name=1x16000>   Dims of a dynamic input (repeatable): the dependency analysis and
                         random verification inputs; without it symbols and defaults decide.
  --force                Replace an existing output.

spectral prune options (ONNX; see the README):
  --data <calib>         Calibration inputs (the first --samples of them; .npy, folder of .npy, or
                         images as for analyze); also used to verify.
  --random-calibration   Calibrate on seeded random inputs instead (data-free, weaker).
  --samples <n>          Calibration samples (default 512).
  --theta <x>            Weight of the activation term vs. the next layer's outputs (default 0.5).
  --lambda-rel <x>       Ridge λ relative to Tr(Σ̂)/m (default 1e-3).
  --eps <x>              Keep the fewest units whose activations are rebuilt with relative error ≤ x.

train-gates options (see the README):
  --val-data <x.npy> --val-labels <y.npy>   Held-out data, evaluated after each epoch.
  --epochs <n> (20)  --batch-size <n> (64)  --lr <x> (1e-3, Adam)  --gate-lr <x> (0.5)
  --strength <x> (0.005 nats per parameter)  --unit-cost <x> (20 nats per unit)  --polarization <x> (3 × the cost)
  --initial-theta <x> (1)  --warmup <n> (1 epoch)  --settle <n> (4 epochs)
  --seed <n> (0)
  --log <log.json>       Write the training log (per-epoch loss, accuracy, widths; θ histograms).
  --html <out.html>      Write the training report: widths over the epochs, loss, θ histogram.

Options:
  -h, --help   Show this help.
  --version    Show the version.`;

const OPTIONS = {
  json: { type: 'string' },
  html: { type: 'string' },
  mode: { type: 'string' },
  seed: { type: 'string' },
  eps: { type: 'string' },
  layers: { type: 'string' },
  'no-spectra': { type: 'boolean' },
  'node-convention': { type: 'string' },
  workers: { type: 'string' },
  'memory-budget': { type: 'string' },
  output: { type: 'string', short: 'o' },
  method: { type: 'string' },
  ratio: { type: 'string' },
  global: { type: 'boolean' },
  center: { type: 'string' },
  verify: { type: 'boolean' },
  force: { type: 'boolean' },
  dtype: { type: 'string' },
  sparse: { type: 'boolean' },
  'external-data': { type: 'boolean' },
  data: { type: 'string' },
  labels: { type: 'string' },
  budget: { type: 'string' },
  plan: { type: 'string' },
  theta: { type: 'string' },
  'lambda-rel': { type: 'string' },
  'random-calibration': { type: 'boolean' },
  samples: { type: 'string' },
  'val-data': { type: 'string' },
  'val-labels': { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  'gate-lr': { type: 'string' },
  strength: { type: 'string' },
  'initial-theta': { type: 'string' },
  warmup: { type: 'string' },
  'unit-cost': { type: 'string' },
  polarization: { type: 'string' },
  settle: { type: 'string' },
  log: { type: 'string' },
  'image-size': { type: 'string' },
  mean: { type: 'string' },
  std: { type: 'string' },
  layout: { type: 'string' },
  'input-shape': { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

/** Where the CLI writes: the process's streams, or (the fuzz harness, tests) a capture. */
export interface CliOutput {
  stdout(text: string): void;
  stderr(text: string): void;
  /** stderr is a terminal (progress lines are drawn). */
  isTTY: boolean;
}

const PROCESS_OUTPUT: CliOutput = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
  isTTY: process.stderr.isTTY === true,
};

/** An AbortSignal raised by SIGINT or SIGTERM while `run` is in flight (then the default handlers return). */
async function cancellable<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await run(abort.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * Exit codes: 0 success, 1 bad model, data or output path (UserInputError), 2 usage error,
 * 3 internal error (a bug), 130 cancelled.
 */
export async function main(argv: string[], out: CliOutput = PROCESS_OUTPUT): Promise<number> {
  // `inspect --json` and `prune --json` are flags; `analyze --json <file>` takes a value.
  const args = argv[0] === 'inspect' || argv[0] === 'prune' ? argv.map((a) => (a === '--json' ? '--json=' : a)) : argv;
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: OPTIONS });
  } catch (e) {
    out.stderr(`prunescope: ${oneLine((e as Error).message)}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    out.stdout(`${VERSION}\n`);
    return 0;
  }
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    out.stdout(`${USAGE}\n`);
    return command || values.help ? 0 : 2;
  }
  if (['inspect', 'analyze', 'prune', 'train-gates'].includes(command) && rest.length !== 1) {
    out.stderr(`prunescope ${command}: expected one model file, got ${rest.length}\n${USAGE}\n`);
    return 2;
  }
  const model = rest[0]!;
  try {
    switch (command) {
      case 'inspect':
        out.stdout(`${runInspect(model, values.json !== undefined)}\n`);
        return 0;
      case 'analyze': {
        const opts = parseAnalyzeOptions(values, out.isTTY);
        out.stdout(`${await cancellable((signal) => runAnalyze(model, opts, signal, out.stderr))}\n`);
        return 0;
      }
      case 'prune': {
        const opts = parsePruneOptions(values);
        out.stdout(`${await cancellable((signal) => runPrune(model, opts, signal))}\n`);
        return 0;
      }
      case 'train-gates': {
        const opts = parseTrainGatesOptions(values);
        const log = await cancellable((signal) => runTrainGates(model, opts, signal, (line) => out.stdout(`${line}\n`)));
        return log.cancelled ? 130 : 0;
      }
      default:
        out.stderr(`prunescope: unknown command '${oneLine(command)}'\n${USAGE}\n`);
        return 2;
    }
  } catch (e) {
    if (e instanceof UsageError) {
      out.stderr(`prunescope ${command}: ${e.message}\n`);
      return 2;
    }
    if (e instanceof Cancelled) {
      out.stderr('prunescope: cancelled\n');
      return 130;
    }
    if (e instanceof UserInputError) {
      out.stderr(`prunescope: error: ${e.message}\n`);
      return 1;
    }
    out.stderr(`prunescope: internal error: ${oneLine((e as Error)?.message ?? String(e))} (set PRUNESCOPE_DEBUG=1 for details)\n`);
    if (process.env['PRUNESCOPE_DEBUG']) out.stderr(`${(e as Error)?.stack}\n`);
    return 3;
  }
}
