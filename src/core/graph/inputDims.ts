/**
 * Concrete dims for a graph's inputs: declared sizes stay; dynamic ones (symbols, unknown, ≤ 0)
 * come from the user (`--input-shape name=1x16000`) or from defaults by the input's rank and role.
 * `scale` 2 doubles every defaulted dynamic dim: a second assignment to tell, in shape
 * arithmetic, the values that follow the inputs' sizes from those that do not.
 */
import { UsageError } from '../errors.ts';
import type { Graph } from './graph.ts';

export interface ResolvedInputs {
  dims: Map<string, number[]>;
  /** One line per input whose dims were chosen (for reports and notes). */
  chosen: string[];
}

/** Parses `name=1x3x224x224` (or `1x3x224x224` for a single-input model). */
export function parseInputShape(spec: string): { name: string | null; dims: number[] } {
  const m = /^(?:(.+)=)?(\d+(?:x\d+)*)$/.exec(spec.trim());
  if (!m) throw new UsageError(`--input-shape must look like name=1x3x224x224, not '${spec}'`);
  const dims = m[2]!.split('x').map(Number);
  if (dims.some((d) => !(d > 0))) throw new UsageError(`--input-shape dims must be positive: '${spec}'`);
  return { name: m[1] ?? null, dims };
}

function defaultDim(rank: number, axis: number, elemType: number, channels: number | undefined): number {
  if (axis === 0) return 1; // batch
  if (rank === 4 && axis >= 2) return channels !== undefined && channels <= 4 ? 224 : 32; // image height / width
  if (rank === 2) return elemType === 1 || elemType === 10 || elemType === 11 ? 512 : 16; // audio samples or token ids
  return 16; // sequence and anything else
}

export function resolveInputDims(g: Graph, overrides: ReadonlyArray<{ name: string | null; dims: number[] }> = [], scale = 1): ResolvedInputs {
  const dims = new Map<string, number[]>();
  const chosen: string[] = [];
  /** A symbol (dim_param) gets one value across all inputs: the first input using it decides. */
  const symbols = new Map<string, number>();
  const byName = new Map(overrides.filter((o) => o.name !== null).map((o) => [o.name!, o.dims]));
  const unnamed = overrides.filter((o) => o.name === null);
  if (unnamed.length && g.inputs.length !== 1) throw new UsageError(`the model has ${g.inputs.length} inputs: give --input-shape as name=dims (inputs: ${g.inputs.map((i) => i.name).join(', ')})`);
  for (const name of byName.keys()) if (!g.inputs.some((i) => i.name === name)) throw new UsageError(`--input-shape names '${name}', which is not an input of the model (inputs: ${g.inputs.map((i) => i.name).join(', ')})`);
  for (const input of g.inputs) {
    const declared = input.dims ?? [];
    const given = byName.get(input.name) ?? unnamed[0]?.dims;
    if (given) {
      if (declared.length && given.length !== declared.length) throw new UsageError(`--input-shape for '${input.name}' has ${given.length} dims; the input has ${declared.length}`);
      declared.forEach((d, i) => {
        if (typeof d === 'number' && d > 0 && given[i] !== d) throw new UsageError(`--input-shape for '${input.name}' sets dim ${i} to ${given[i]}, but the model fixes it at ${d}`);
      });
      dims.set(input.name, given.map((d, i) => (typeof declared[i] === 'number' && (declared[i] as number) > 0 ? d : d * scale)));
      given.forEach((d, i) => typeof declared[i] === 'string' && !symbols.has(declared[i] as string) && symbols.set(declared[i] as string, d * scale));
      continue;
    }
    const rank = declared.length;
    const channels = rank === 4 && typeof declared[1] === 'number' ? declared[1] : undefined;
    let defaulted = false;
    const d = declared.map((x, axis) => {
      if (typeof x === 'number' && x > 0) return x;
      defaulted = true;
      if (typeof x === 'string' && symbols.has(x)) return symbols.get(x)!;
      const v = defaultDim(rank, axis, input.elemType, channels) * scale;
      if (typeof x === 'string') symbols.set(x, v);
      return v;
    });
    dims.set(input.name, d);
    if (defaulted) chosen.push(`${input.name}: [${declared.map((x) => (typeof x === 'number' && x > 0 ? x : x ?? '?')).join(', ')}] → [${d.join(', ')}]`);
  }
  return { dims, chosen };
}
