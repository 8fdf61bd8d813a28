import type { Checkpoint, GraphOp, WeightTensor } from '../../checkpoint.ts';
import { CheckpointError, quote } from '../../errors.ts';
import { ByteSourcePool, readRegularFile } from '../../io/byteSource.ts';
import { parseJsonFile } from '../../io/parseJson.ts';
import { classifyGraphDefWeight, classifyKerasWeight } from './classifyTfjsLayers.ts';
import { locateTfjsWeights } from './tfjsManifest.ts';

const MAX_MODEL_JSON = 256 * 1024 * 1024;

/** Reads a TF.js model.json (layers-model or graph-model) and lazy handles on its float weights. */
export function readTfjs(file: string): Checkpoint {
  const json = readModelJson(file);
  const rawTopology = json['modelTopology'] ?? undefined;
  if (rawTopology !== undefined && rawTopology !== null && (typeof rawTopology !== 'object' || Array.isArray(rawTopology))) throw new CheckpointError(file, 'modelTopology must be an object');
  const topology = (rawTopology ?? undefined) as Record<string, unknown> | undefined;
  if (!topology && !json['weightsManifest']) {
    throw new CheckpointError(file, "not a TF.js model.json: it has neither 'modelTopology' nor 'weightsManifest'");
  }
  const isGraph = json['format'] === 'graph-model' || Array.isArray(topology?.['node']);
  const pool = new ByteSourcePool();
  try {
    const files = [file];
    const entries = locateTfjsWeights(file, json['weightsManifest'], pool, files);
    const ops = topology ? (isGraph ? graphDefOps(file, topology) : kerasOps(topology)) : [];
    const warnings: string[] = [];
    if (!topology) warnings.push('model.json has no modelTopology; layers are unknown');
    const byName = new Map(ops.map((o) => [o.name, o]));
    const uses = new Map<string, Array<{ op: GraphOp; index: number }>>();
    for (const op of ops) {
      op.inputs.forEach((input, index) => {
        const list = uses.get(input) ?? [];
        list.push({ op, index });
        uses.set(input, list);
      });
    }
    const weights: WeightTensor[] = entries
      .filter((e) => e.dtype === 'float32')
      .map((e) => ({
        name: e.name,
        dtype: e.storedDtype,
        shape: e.shape,
        size: e.size,
        byteLength: e.byteLength,
        ...(e.quantized && e.quantized.scheme !== 'float16' ? { quantized: e.quantized } : {}),
        layer: isGraph
          ? classifyGraphDefWeight(e.name, e.shape.length, ops, uses)
          : classifyKerasWeight(e.name, e.shape.length, byName),
        readBytes: e.readBytes,
        read: e.read,
      }));
    const producer = [json['generatedBy'], json['convertedBy']].filter((s) => typeof s === 'string' && s).join(' / ');
    return {
      format: isGraph ? 'tfjs-graph' : 'tfjs-layers',
      file,
      files,
      producer,
      ops,
      weights,
      warnings,
      bytesRead: () => pool.bytesRead(),
      close: () => pool.closeAll(),
    };
  } catch (e) {
    pool.closeAll();
    throw e;
  }
}

/** A TF.js model.json, parsed (a regular file of at most 256 MB, bounded nesting). */
export function readModelJson(file: string): Record<string, unknown> {
  const json = parseJsonFile(file, readRegularFile(file, MAX_MODEL_JSON).toString('utf8'), 'the file');
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new CheckpointError(file, 'not a TF.js model.json: the top level is not an object');
  return json as Record<string, unknown>;
}

/** Keras topology → one op per layer, recursing into nested models and wrappers. */
function kerasOps(topology: Record<string, unknown>): GraphOp[] {
  const root = (topology['model_config'] ?? topology) as { class_name?: string; config?: unknown };
  const ops: GraphOp[] = [];
  const visit = (layer: { class_name?: string; config?: Record<string, unknown>; name?: string; inbound_nodes?: unknown }) => {
    if (!layer || typeof layer !== 'object') return;
    const cfg = (layer.config && typeof layer.config === 'object' ? layer.config : {}) as Record<string, unknown>;
    const inner = Array.isArray(cfg['layers']) ? (cfg['layers'] as Array<typeof layer>) : undefined;
    if (inner) {
      inner.forEach(visit);
      return;
    }
    const className = typeof layer.class_name === 'string' ? layer.class_name : 'Unknown';
    const name = typeof cfg['name'] === 'string' ? cfg['name'] : typeof layer.name === 'string' ? layer.name : `${className}_${ops.length}`;
    const attributes: Record<string, unknown> = {};
    if (typeof cfg['groups'] === 'number') attributes['groups'] = cfg['groups'];
    const wrapped = cfg['layer'] as { class_name?: string } | undefined;
    if (wrapped?.class_name) attributes['innerClass'] = wrapped.class_name;
    ops.push({ name, opType: className, inputs: inboundNames(layer.inbound_nodes), outputs: [name], graph: '', attributes });
  };
  const cfg = root.config as { layers?: unknown } | unknown[] | undefined;
  const layers = Array.isArray(cfg) ? cfg : Array.isArray((cfg as { layers?: unknown })?.layers) ? ((cfg as { layers: unknown[] }).layers) : [];
  (layers as Array<Parameters<typeof visit>[0]>).forEach(visit);
  return ops;
}

function inboundNames(inbound: unknown): string[] {
  const names: string[] = [];
  const walk = (x: unknown) => {
    if (Array.isArray(x)) {
      if (typeof x[0] === 'string' && typeof x[1] === 'number') names.push(x[0]);
      else x.forEach(walk);
    } else if (x && typeof x === 'object' && Array.isArray((x as { args?: unknown }).args)) {
      walk((x as { args: unknown }).args);
    } else if (x && typeof x === 'object' && (x as { class_name?: string }).class_name === '__keras_tensor__') {
      const h = (x as { config?: { keras_history?: unknown[] } }).config?.keras_history;
      if (h && typeof h[0] === 'string') names.push(h[0]);
    }
  };
  walk(inbound);
  return names;
}

/** GraphDef nodes → ops; inputs normalised (`^ctrl` dropped, `name:0` → `name`). Malformed nodes are refused by name. */
function graphDefOps(file: string, topology: Record<string, unknown>): GraphOp[] {
  const nodes = topology['node'] ?? [];
  if (!Array.isArray(nodes)) throw new CheckpointError(file, "modelTopology.node must be a list of nodes");
  return nodes.map((n: unknown, i) => {
    if (!isObject(n) || typeof n['name'] !== 'string' || typeof n['op'] !== 'string') {
      throw new CheckpointError(file, `modelTopology.node ${i} needs a string 'name' and 'op'`);
    }
    const name = n['name'];
    const input = n['input'] ?? [];
    if (!Array.isArray(input) || !input.every((x) => typeof x === 'string')) throw new CheckpointError(file, `node '${quote(name)}': 'input' must be a list of tensor names`);
    const attr = n['attr'] ?? {};
    if (!isObject(attr)) throw new CheckpointError(file, `node '${quote(name)}': 'attr' must be an object`);
    return {
      name,
      opType: n['op'],
      inputs: (input as string[]).filter((x) => !x.startsWith('^')).map((x) => x.replace(/:\d+$/, '')),
      outputs: [name],
      graph: '',
      attributes: graphDefAttributes(file, name, attr),
    };
  });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** AttrValue JSON (tfjs-converter's protobuf JSON): b, i (int64 as string), f, s (base64), list.s / list.i. */
function graphDefAttributes(file: string, node: string, attr: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const bad = (k: string) => new CheckpointError(file, `node '${quote(node)}' has a malformed attribute '${quote(k)}'`);
  const int = (x: unknown, k: string) => {
    const v = typeof x === 'string' || typeof x === 'number' ? Number(x) : Number.NaN;
    if (!Number.isFinite(v)) throw bad(k);
    return v;
  };
  const text = (x: unknown, k: string) => {
    if (typeof x !== 'string') throw bad(k);
    return Buffer.from(x, 'base64').toString('utf8');
  };
  for (const [k, v] of Object.entries(attr)) {
    if (!isObject(v)) throw bad(k);
    if ('b' in v) out[k] = v['b'] === true;
    else if ('i' in v) out[k] = int(v['i'], k);
    else if ('f' in v) out[k] = Number(v['f']);
    else if ('s' in v) out[k] = text(v['s'], k);
    else if ('list' in v) {
      const list = v['list'];
      if (!isObject(list)) throw bad(k);
      if (list['s'] !== undefined) {
        if (!Array.isArray(list['s'])) throw bad(k);
        out[k] = list['s'].map((x) => text(x, k));
      } else if (list['i'] !== undefined) {
        if (!Array.isArray(list['i'])) throw bad(k);
        out[k] = list['i'].map((x) => int(x, k));
      }
    }
  }
  return out;
}
