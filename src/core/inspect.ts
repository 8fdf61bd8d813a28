import * as fs from 'node:fs';
import type { Checkpoint, LayerKind } from './checkpoint.ts';
import { MATRIX_KINDS } from './checkpoint.ts';
import { canonicalShape } from './tensor/layout.ts';

/** One row of `prunescope inspect`: a weight tensor and the layer that uses it. */
export interface InspectLayer {
  name: string;
  kind: LayerKind;
  op: string;
  opType: string;
  /** Canonical `out × in (× kh × kw)` shape (stored shape for non-matrix weights). */
  shape: number[];
  storedShape: number[];
  dtype: string;
  params: number;
  quantized: boolean;
  inferred: boolean;
}

export interface InspectResult {
  format: Checkpoint['format'];
  file: string;
  producer: string;
  opset: number | null;
  layers: InspectLayer[];
  /**
   * `bytes`: the weight tensors' stored bytes. `fileBytes`: every file of the model on disk (the
   * model file, its external data, weight shards or index shards), and `files` how many.
   */
  totals: { params: number; weightParams: number; bytes: number; fileBytes: number; files: number };
  warnings: string[];
}

/** Summarises a checkpoint's weights without reading any tensor bytes (the files are only stat'ed). */
export function inspectCheckpoint(ck: Checkpoint): InspectResult {
  const layers: InspectLayer[] = ck.weights.map((w) => ({
    name: w.name,
    kind: w.layer.kind,
    op: w.layer.op,
    opType: w.layer.opType,
    shape: canonicalShape(w.layer.layout, w.shape),
    storedShape: w.shape,
    dtype: w.dtype,
    params: w.size,
    quantized: w.quantized !== undefined,
    inferred: w.layer.inferred,
  }));
  let params = 0;
  let weightParams = 0;
  let bytes = 0;
  for (const w of ck.weights) {
    params += w.size;
    bytes += w.byteLength;
    if (MATRIX_KINDS.has(w.layer.kind)) weightParams += w.size;
  }
  return {
    format: ck.format,
    file: ck.file,
    producer: ck.producer,
    opset: ck.opset ?? null,
    layers,
    totals: { params, weightParams, bytes, fileBytes: ck.files.reduce((a, f) => a + fs.statSync(f).size, 0), files: ck.files.length },
    warnings: ck.warnings,
  };
}
