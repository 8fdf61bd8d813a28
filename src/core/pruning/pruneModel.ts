/**
 * `prunescope prune`: checks the options, opens the checkpoint and an output transaction (the
 * inputs are never written over), and hands over to the format's pruner. Nothing reaches the
 * final name unless it was written whole (and verified, when asked).
 */
import * as path from 'node:path';
import { CheckpointError, UsageError } from '../errors.ts';
import { OutputTransaction, testPause, yieldToSignals } from '../io/outputTransaction.ts';
import { openCheckpoint } from '../formats/openCheckpoint.ts';
import { loadVerification, validatePruneOptions } from './pruneOptions.ts';
import { filesOfExistingModel, runInputs, sideFilesOf } from './prunedOutput.ts';
import { pruneOnnxModel } from './pruneOnnxModel.ts';
import { checkSafetensorsOptions, pruneSafetensorsModel } from './pruneSafetensorsModel.ts';
import { pruneTfjsModel } from './pruneTfjsModel.ts';
import type { PruneOptions, PruneReport } from './types.ts';

export type { PruneLayerReport, PruneMethod, PruneOptions, PruneReport } from './types.ts';

export async function pruneModel(file: string, output: string, o: PruneOptions): Promise<PruneReport> {
  validatePruneOptions(o);
  const verifyOn = loadVerification(o);
  const input = path.resolve(file);
  const out = path.resolve(output);
  const ck = openCheckpoint(input);
  let tx: OutputTransaction | undefined;
  try {
    if (ck.format === 'tfjs-graph') throw new UsageError('pruning TF.js graph-models is not implemented yet (ONNX, TF.js layers-models and safetensors are)');
    const wantExt = ck.format === 'onnx' ? '.onnx' : ck.format === 'safetensors' ? '.safetensors' : '.json';
    if (!out.toLowerCase().endsWith(wantExt)) throw new UsageError(`the output must be a ${wantExt} file for a ${ck.format} model: ${output}`);
    if (o.method === 'spectral' && ck.format !== 'onnx' && ck.format !== 'tfjs-layers') throw new UsageError(`spectral pruning is implemented for ONNX models and TF.js layers-models, not ${ck.format}`);
    if (ck.format === 'safetensors') checkSafetensorsOptions(input, o);
    if (o.method === 'node' && o.global && ck.format !== 'onnx') throw new UsageError(`--global node pruning (one threshold over the dependency groups) is implemented for ONNX models, not ${ck.format}`);
    if (ck.format === 'tfjs-layers' && path.dirname(out) === path.dirname(input)) throw new CheckpointError(input, "refusing to write the pruned model into the original model's folder (its weight shards would mix)");
    tx = OutputTransaction.open(out, { inputs: runInputs(ck, o), force: o.force ?? false, sideFiles: sideFilesOf(ck.format, out, o), ...(o.tempTag ? { tag: o.tempTag } : {}) });
    tx.replaces(filesOfExistingModel(out));
    await testPause('opened', o.signal);
    await yieldToSignals(o.signal);
    if (ck.format === 'tfjs-layers') return await pruneTfjsModel(ck, input, tx, o, verifyOn);
    if (ck.format === 'safetensors') return await pruneSafetensorsModel(ck, input, tx, o);
    return await pruneOnnxModel(ck, tx, o, verifyOn);
  } finally {
    tx?.dispose();
    ck.close();
  }
}
