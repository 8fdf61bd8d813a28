/** Which channel rule each op follows (ONNX op types). An op without a rule refuses its groups. */
import type { ChannelRule } from '../slots.ts';
import { BROADCAST_OPS, broadcast, softmax, UNARY_OPS, unary } from './elementwise.ts';
import { concat, expandOp, flatten, pool, readsShape, reshape, sameSizeAxes, slice, split, squeeze, transpose } from './layout.ts';
import { conv, convTranspose, gather, gemm, matmul } from './linear.ts';
import { batchNorm, groupNorm, instanceNorm, layerNorm, reduce } from './normalization.ts';
import { quantize } from './quantization.ts';

const RULES = new Map<string, ChannelRule>();
for (const op of UNARY_OPS) RULES.set(op, unary);
for (const op of BROADCAST_OPS) RULES.set(op, broadcast);
for (const op of ['Softmax', 'LogSoftmax', 'Hardmax']) RULES.set(op, softmax);
for (const op of ['ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceSumSquare', 'ReduceLogSum', 'ReduceLogSumExp']) RULES.set(op, reduce);
for (const op of ['MaxPool', 'AveragePool', 'LpPool', 'GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool']) RULES.set(op, pool);
for (const op of ['Pad', 'Resize', 'Upsample', 'Tile']) RULES.set(op, sameSizeAxes);
for (const op of ['Shape', 'Size']) RULES.set(op, readsShape);
for (const op of ['QuantizeLinear', 'DequantizeLinear']) RULES.set(op, quantize);
RULES.set('Conv', conv);
RULES.set('ConvTranspose', convTranspose);
RULES.set('Gemm', gemm);
RULES.set('MatMul', matmul);
RULES.set('Gather', gather);
RULES.set('BatchNormalization', batchNorm);
RULES.set('InstanceNormalization', instanceNorm);
RULES.set('GroupNormalization', groupNorm);
RULES.set('LayerNormalization', layerNorm);
RULES.set('Transpose', transpose);
RULES.set('Squeeze', squeeze);
RULES.set('Unsqueeze', squeeze);
RULES.set('Reshape', reshape);
RULES.set('Flatten', flatten);
RULES.set('Concat', concat);
RULES.set('Split', split);
RULES.set('Slice', slice);
RULES.set('Expand', expandOp);

export function ruleFor(op: string): ChannelRule | undefined {
  return RULES.get(op);
}
