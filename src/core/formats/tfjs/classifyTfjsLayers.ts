import type { GraphOp, LayerInfo, LayerKind } from '../../checkpoint.ts';
import type { CanonicalLayout } from '../../tensor/layout.ts';

const NONE: CanonicalLayout = { kind: 'none' };

function info(kind: LayerKind, op: string, opType: string, inputIndex: number, layout: CanonicalLayout, note?: string): LayerInfo {
  return { kind, op, opType, inputIndex, layout, inferred: false, ...(note ? { note } : {}) };
}

const RECURRENT = new Set(['LSTM', 'GRU', 'SimpleRNN', 'ConvLSTM2D']);
const NORMS = new Set(['BatchNormalization', 'LayerNormalization']);

/**
 * Layers-model: a weight named `<layer>/.../<role>` belongs to the Keras layer `<layer>`; its role
 * (kernel, bias, gamma, …) and the layer's class decide the kind.
 */
export function classifyKerasWeight(weightName: string, rank: number, layers: ReadonlyMap<string, GraphOp>): LayerInfo {
  const segments = weightName.split('/');
  const role = segments[segments.length - 1]!.replace(/:\d+$/, '');
  let layer: GraphOp | undefined;
  for (let i = segments.length - 2; i >= 0 && !layer; i--) layer = layers.get(segments[i]!);
  if (!layer) return { ...info('other', '', '', -1, NONE, 'no layer of the topology owns this weight'), inferred: true };
  let cls = layer.opType;
  if (cls === 'Bidirectional' || cls === 'TimeDistributed') cls = (layer.attributes['innerClass'] as string) ?? cls;
  const at = (kind: LayerKind, layout: CanonicalLayout, index = 1) => info(kind, layer!.name, cls, index, layout);
  if (role === 'bias' || role === 'recurrent_bias') return at('bias', NONE, 2);
  switch (cls) {
    case 'Dense':
      if (role === 'kernel' && rank === 2) return at('dense', { kind: 'transpose' });
      break;
    case 'Conv1D':
    case 'Conv2D':
    case 'Conv3D': {
      if (role !== 'kernel') break;
      const groups = (layer.attributes['groups'] as number | undefined) ?? 1;
      return at(groups > 1 ? 'grouped-conv' : 'conv', { kind: 'hwio' });
    }
    case 'DepthwiseConv2D':
      if (role === 'depthwise_kernel' && rank === 4) return at('depthwise-conv', { kind: 'hwim' });
      break;
    case 'SeparableConv2D':
      if (role === 'depthwise_kernel' && rank === 4) return at('depthwise-conv', { kind: 'hwim' });
      if (role === 'pointwise_kernel' && rank === 4) return at('conv', { kind: 'hwio' }, 2);
      break;
    case 'Embedding':
      if (role === 'embeddings' && rank === 2) return at('embedding', { kind: 'identity' }, 0);
      break;
  }
  if (RECURRENT.has(cls) && (role === 'kernel' || role === 'recurrent_kernel') && rank === 2) {
    return at('recurrent', { kind: 'transpose' }, role === 'kernel' ? 1 : 2);
  }
  if (NORMS.has(cls)) return at('norm', NONE);
  return info('other', layer.name, cls, -1, NONE);
}

/** Graph-model: a weight is a Const node; its consuming GraphDef node decides the kind. */
export function classifyGraphDefWeight(weightName: string, rank: number, ops: readonly GraphOp[], uses: ReadonlyMap<string, Array<{ op: GraphOp; index: number }>>): LayerInfo {
  let current = weightName;
  for (let depth = 0; depth < 8; depth++) {
    const list = uses.get(current) ?? [];
    if (list.length === 0) return info('other', '', '', -1, NONE, 'not consumed by any node');
    const { op, index } = list[0]!;
    const t = op.opType;
    if ((t === 'Identity' || t === 'Cast') && index === 0) {
      current = op.name;
      continue;
    }
    const at = (kind: LayerKind, layout: CanonicalLayout) => info(kind, op.name, t, index, layout);
    if ((t === 'MatMul' || t === '_FusedMatMul' || t === 'BatchMatMulV2') && rank === 2 && index <= 1) {
      const transposed = index === 1 ? op.attributes['transpose_b'] === true : op.attributes['transpose_a'] === true;
      // X·W with W (in, out) unless transpose_b; W·X with W (out, in) unless transpose_a.
      const canonical = index === 1 ? transposed : !transposed;
      return at('dense', { kind: canonical ? 'identity' : 'transpose' });
    }
    if ((t === 'Conv2D' || t === '_FusedConv2D' || t === 'Conv3D') && index === 1) return at('conv', { kind: 'hwio' });
    if ((t === 'DepthwiseConv2dNative' || t === 'FusedDepthwiseConv2dNative') && index === 1 && rank === 4) {
      return at('depthwise-conv', { kind: 'hwim' });
    }
    if ((t === '_FusedConv2D' || t === '_FusedMatMul' || t === 'FusedDepthwiseConv2dNative') && index >= 2) {
      const fused = (op.attributes['fused_ops'] as string[] | undefined) ?? [];
      return at(fused.some((f) => f.includes('BatchNorm')) ? 'norm' : 'bias', NONE);
    }
    if ((t === 'FusedBatchNorm' || t === 'FusedBatchNormV3') && index >= 1) return at('norm', NONE);
    if ((t === 'BiasAdd' || t === 'Add' || t === 'AddV2') && rank === 1) return at('bias', NONE);
    if ((t === 'GatherV2' || t === 'Gather' || t === 'ResourceGather') && index === 0 && rank === 2) {
      return at('embedding', { kind: 'identity' });
    }
    return info('other', op.name, t, index, NONE);
  }
  void ops;
  return info('other', '', '', -1, NONE, 'too many pass-through nodes');
}
