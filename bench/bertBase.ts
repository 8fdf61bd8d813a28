import type { OnnxModelSpec } from '../src/core/formats/onnx/onnxBuilder.ts';
import type { StreamedBytes } from '../src/core/formats/protobufWriter.ts';

const FLOAT = 1;
const INT64 = 7;

/** Random float32 bytes from a seeded xorshift, produced in 1 MiB chunks. */
function randomFloats(count: number, seed: number, scale = 0.02): StreamedBytes {
  return {
    length: count * 4,
    produce(emit) {
      let s = seed >>> 0 || 1;
      const chunk = new Float32Array(1 << 18);
      for (let done = 0; done < count; ) {
        const n = Math.min(chunk.length, count - done);
        for (let i = 0; i < n; i++) {
          s ^= s << 13;
          s ^= s >>> 17;
          s ^= s << 5;
          chunk[i] = ((s >>> 0) / 4294967296 - 0.5) * scale;
        }
        emit(new Uint8Array(chunk.buffer, 0, n * 4));
        done += n;
      }
    },
  };
}

/**
 * A BERT-base-shaped encoder (vocab 30522, hidden 768, 12 layers, FFN 3072; ≈110M float32
 * parameters, ≈440 MB) with random weights: Gather embeddings, MatMul + Add linears,
 * LayerNormalization. Structure only — it is for measuring the readers, not for running.
 */
export function bertBaseSpec(): { spec: OnnxModelSpec; params: number; weightParams: number } {
  const H = 768;
  const F = 3072;
  const inits: OnnxModelSpec['initializers'] = [];
  const nodes: OnnxModelSpec['nodes'] = [];
  let seed = 1;
  let params = 0;
  let weightParams = 0;
  const init = (name: string, dims: number[], matrix: boolean) => {
    const n = dims.reduce((a, b) => a * b, 1);
    params += n;
    if (matrix) weightParams += n;
    inits.push({ name, dataType: FLOAT, dims, raw: randomFloats(n, seed++) });
    return name;
  };
  const linear = (prefix: string, x: string, inDim: number, outDim: number) => {
    const w = init(`${prefix}.weight`, [inDim, outDim], true);
    const b = init(`${prefix}.bias`, [outDim], false);
    nodes.push({ name: `${prefix}/MatMul`, opType: 'MatMul', inputs: [x, w], outputs: [`${prefix}/mm`] });
    nodes.push({ name: `${prefix}/Add`, opType: 'Add', inputs: [`${prefix}/mm`, b], outputs: [`${prefix}/out`] });
    return `${prefix}/out`;
  };
  const layerNorm = (prefix: string, x: string) => {
    const g = init(`${prefix}.weight`, [H], false);
    const b = init(`${prefix}.bias`, [H], false);
    nodes.push({ name: `${prefix}/LN`, opType: 'LayerNormalization', inputs: [x, g, b], outputs: [`${prefix}/out`], ints: { axis: -1 } });
    return `${prefix}/out`;
  };
  const emb = (name: string, rows: number, ids: string) => {
    init(name, [rows, H], true);
    nodes.push({ name: `${name}/Gather`, opType: 'Gather', inputs: [name, ids], outputs: [`${name}/out`] });
    return `${name}/out`;
  };
  const w = emb('embeddings.word_embeddings.weight', 30522, 'input_ids');
  const p = emb('embeddings.position_embeddings.weight', 512, 'position_ids');
  const t = emb('embeddings.token_type_embeddings.weight', 2, 'token_type_ids');
  nodes.push({ name: 'embeddings/Add0', opType: 'Add', inputs: [w, p], outputs: ['emb_sum0'] });
  nodes.push({ name: 'embeddings/Add1', opType: 'Add', inputs: ['emb_sum0', t], outputs: ['emb_sum1'] });
  let x = layerNorm('embeddings.LayerNorm', 'emb_sum1');
  for (let l = 0; l < 12; l++) {
    const pre = `encoder.layer.${l}`;
    const q = linear(`${pre}.attention.self.query`, x, H, H);
    const k = linear(`${pre}.attention.self.key`, x, H, H);
    const v = linear(`${pre}.attention.self.value`, x, H, H);
    nodes.push({ name: `${pre}/Attention`, opType: 'Mul', inputs: [q, k], outputs: [`${pre}/scores`] });
    nodes.push({ name: `${pre}/Context`, opType: 'Add', inputs: [`${pre}/scores`, v], outputs: [`${pre}/ctx`] });
    const o = linear(`${pre}.attention.output.dense`, `${pre}/ctx`, H, H);
    nodes.push({ name: `${pre}/Res1`, opType: 'Add', inputs: [o, x], outputs: [`${pre}/res1`] });
    const a = layerNorm(`${pre}.attention.output.LayerNorm`, `${pre}/res1`);
    const i = linear(`${pre}.intermediate.dense`, a, H, F);
    nodes.push({ name: `${pre}/Gelu`, opType: 'Gelu', inputs: [i], outputs: [`${pre}/gelu`] });
    const out = linear(`${pre}.output.dense`, `${pre}/gelu`, F, H);
    nodes.push({ name: `${pre}/Res2`, opType: 'Add', inputs: [out, a], outputs: [`${pre}/res2`] });
    x = layerNorm(`${pre}.output.LayerNorm`, `${pre}/res2`);
  }
  const pooled = linear('pooler.dense', x, H, H);
  nodes.push({ name: 'pooler/Tanh', opType: 'Tanh', inputs: [pooled], outputs: ['pooler_output'] });
  const ids = (name: string) => ({ name, elemType: INT64, dims: ['batch', 'sequence'] as Array<number | string> });
  return {
    spec: {
      producer: 'prunescope-bench',
      opset: 17,
      graphName: 'bert-base-random',
      inputs: [ids('input_ids'), ids('position_ids'), ids('token_type_ids')],
      outputs: [{ name: 'pooler_output', elemType: FLOAT, dims: ['batch', 'sequence', H] }],
      nodes,
      initializers: inits,
    },
    params,
    weightParams,
  };
}
