import type { GraphOp, LayerInfo } from '../../checkpoint.ts';
import type { CanonicalLayout } from '../../tensor/layout.ts';

interface Use {
  op: GraphOp;
  index: number;
}

/** Ops a weight may pass through on its way to the op that really uses it. */
const PASS_THROUGH = new Set(['Identity', 'Cast', 'DequantizeLinear', 'Transpose']);
const NORM_OPS = new Set(['BatchNormalization', 'LayerNormalization', 'InstanceNormalization', 'GroupNormalization', 'SimplifiedLayerNormalization', 'SkipLayerNormalization']);
const RECURRENT_OPS = new Set(['LSTM', 'GRU', 'RNN']);
const LINEAR_OPS = new Set(['MatMul', 'Gemm', 'Conv', 'ConvTranspose']);

/** Index of ops by the names they read and write, across the main graph and all subgraphs. */
export class OnnxGraphIndex {
  private readonly uses = new Map<string, Use[]>();
  private readonly producers = new Map<string, GraphOp>();

  constructor(ops: readonly GraphOp[]) {
    for (const op of ops) {
      op.inputs.forEach((name, index) => {
        if (!name) return;
        let list = this.uses.get(name);
        if (!list) this.uses.set(name, (list = []));
        list.push({ op, index });
      });
      for (const o of op.outputs) if (o) this.producers.set(o, op);
    }
  }

  usesOf(name: string): readonly Use[] {
    return this.uses.get(name) ?? [];
  }

  producerOf(name: string): GraphOp | undefined {
    return this.producers.get(name);
  }

  /** The DequantizeLinear that reads `name` as its quantized input, if any. */
  dequantizerOf(name: string): GraphOp | undefined {
    return this.usesOf(name).find((u) => u.op.opType === 'DequantizeLinear' && u.index === 0)?.op;
  }

  /** Decides a weight's layer from the op that consumes it (following pass-through ops). */
  classify(name: string, shape: readonly number[]): LayerInfo {
    const rank = shape.length;
    let current = name;
    let transposed = false;
    const via: string[] = [];
    for (let depth = 0; depth < 8; depth++) {
      const uses = this.usesOf(current);
      if (uses.length === 0) return other('', '', -1, via.length ? `reaches no consumer after ${via.join(' → ')}` : 'not consumed by any op');
      // Prefer a use by a linear op when a weight is shared (e.g. tied embeddings).
      const use = uses.find((u) => LINEAR_OPS.has(u.op.opType)) ?? uses[0]!;
      const { op, index } = use;
      if (PASS_THROUGH.has(op.opType) && index === 0 && op.outputs[0]) {
        if (op.opType === 'Transpose') {
          const perm = op.attributes['perm'] as number[] | undefined;
          if (rank !== 2 || (perm && !(perm[0] === 1 && perm[1] === 0))) {
            return other(op.name, op.opType, index, 'transposed with a permutation that is not a 2-D transpose');
          }
          transposed = !transposed;
        }
        via.push(op.opType);
        current = op.outputs[0];
        continue;
      }
      return this.classifyUse(op, index, shape, transposed);
    }
    return other('', '', -1, 'too many pass-through ops');
  }

  private classifyUse(op: GraphOp, index: number, shape: readonly number[], transposed: boolean): LayerInfo {
    const t = op.opType;
    const rank = shape.length;
    const matrix = (layout: CanonicalLayout): LayerInfo => info('dense', op, index, flip(layout, transposed));
    if (t === 'Gemm') {
      if (index === 1 && rank === 2) return matrix({ kind: (op.attributes['transB'] as number) === 1 ? 'identity' : 'transpose' });
      if (index === 2) return info('bias', op, index, { kind: 'none' });
      if (index === 0 && rank === 2) {
        // Y = W·X: W is (out, in) unless transA.
        return matrix({ kind: (op.attributes['transA'] as number) === 1 ? 'transpose' : 'identity' });
      }
    }
    if (t === 'MatMul' && rank === 2) {
      // X·W with W (in, out), or W·X with W (out, in).
      return matrix({ kind: index === 1 ? 'transpose' : 'identity' });
    }
    if ((t === 'Conv' || t === 'ConvTranspose') && index === 1 && (rank === 3 || rank === 4 || rank === 5)) {
      const group = (op.attributes['group'] as number | undefined) ?? 1;
      const layout: CanonicalLayout = t === 'ConvTranspose' ? { kind: 'swap01' } : { kind: 'identity' };
      if (group === 1) return info('conv', op, index, layout);
      if (t === 'ConvTranspose') return other(op.name, t, index, `grouped ConvTranspose (group=${group})`);
      // Depthwise: every group sees exactly one input channel (C/group = 1).
      return info(shape[1] === 1 ? 'depthwise-conv' : 'grouped-conv', op, index, layout);
    }
    if ((t === 'Conv' || t === 'ConvTranspose') && index === 2) return info('bias', op, index, { kind: 'none' });
    if (t === 'Gather' && index === 0 && rank === 2) return info('embedding', op, index, { kind: 'identity' });
    if (RECURRENT_OPS.has(t)) {
      if ((index === 1 || index === 2) && rank === 3) return info('recurrent', op, index, { kind: 'merge-leading' });
      if (index === 3) return info('bias', op, index, { kind: 'none' });
    }
    if (NORM_OPS.has(t) && index >= 1) return info('norm', op, index, { kind: 'none' });
    if (t === 'Add' && rank === 1) {
      const other = op.inputs[1 - index];
      const producer = other ? this.producerOf(other) : undefined;
      if (producer && LINEAR_OPS.has(producer.opType)) return info('bias', op, index, { kind: 'none' });
    }
    return other(op.name, t, index, undefined);
  }
}

function flip(layout: CanonicalLayout, transposed: boolean): CanonicalLayout {
  if (!transposed) return layout;
  if (layout.kind === 'identity') return { kind: 'transpose' };
  if (layout.kind === 'transpose') return { kind: 'identity' };
  return layout;
}

function info(kind: LayerInfo['kind'], op: GraphOp, index: number, layout: CanonicalLayout): LayerInfo {
  return { kind, op: op.name, opType: op.opType, inputIndex: index, layout, inferred: false };
}

function other(op: string, opType: string, index: number, note: string | undefined): LayerInfo {
  return { kind: 'other', op, opType, inputIndex: index, layout: { kind: 'none' }, inferred: false, ...(note ? { note } : {}) };
}
