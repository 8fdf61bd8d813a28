/**
 * The format-neutral graph the structured pruner works on: nodes in topological order, tensors with
 * their producer and consumers, stored constants, and the declared graph inputs and outputs. Front
 * ends (onnxGraph.ts; TF.js next) build it from a Checkpoint; the dependency analysis, shape
 * inference and the pruning edits only read it.
 */
import type { DeclaredValue, StoredTensor } from '../checkpoint.ts';

export interface GNode {
  /** Position in the (topological) node list. */
  index: number;
  name: string;
  /** Op type in the front end's vocabulary (ONNX: 'Conv', 'Gemm', …). */
  op: string;
  /** Input tensor names; '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attrs: Record<string, unknown>;
  /** '' for the main graph, else the subgraph's path (e.g. `If_0/then_branch`). */
  graph: string;
  /** Its encoded size in the file, when the front end knows it. */
  bytes?: number;
}

export interface Use {
  node: GNode;
  /** Which input of the node. */
  index: number;
}

export interface GTensor {
  name: string;
  /** The node computing it (undefined for graph inputs and initializers). */
  producer?: GNode;
  consumers: Use[];
  /** A stored constant: an initializer, or a Constant node's value (then `producer` is that node). */
  stored?: StoredTensor;
  input: boolean;
  output: boolean;
  /** Its declared type (graph input/output or value_info), when the file has one. */
  declared?: DeclaredValue;
}

export class Graph {
  readonly tensors = new Map<string, GTensor>();

  constructor(
    readonly nodes: readonly GNode[],
    readonly inputs: readonly DeclaredValue[],
    readonly outputs: readonly DeclaredValue[],
    stored: (name: string) => StoredTensor | undefined,
    valueInfo: readonly DeclaredValue[] = [],
    /** ONNX default-domain opset (attributes vs. inputs for axes, splits, pads…). */
    readonly opset = 13,
  ) {
    const declared = new Map<string, DeclaredValue>();
    for (const v of [...valueInfo, ...inputs, ...outputs]) declared.set(v.name, v);
    const get = (name: string): GTensor => {
      let t = this.tensors.get(name);
      if (!t) {
        const s = stored(name);
        const d = declared.get(name);
        t = { name, consumers: [], input: false, output: false, ...(s ? { stored: s } : {}), ...(d ? { declared: d } : {}) };
        this.tensors.set(name, t);
      }
      return t;
    };
    for (const v of inputs) get(v.name).input = true;
    for (const n of nodes) {
      if (n.graph !== '') continue;
      n.inputs.forEach((name, index) => name && get(name).consumers.push({ node: n, index }));
      for (const o of n.outputs) if (o) get(o).producer = n;
    }
    for (const v of outputs) get(v.name).output = true;
  }

  tensor(name: string): GTensor {
    const t = this.tensors.get(name);
    if (!t) throw new RangeError(`no tensor '${name}' in the graph`);
    return t;
  }

  /** Main-graph nodes only (subgraph nodes are kept for reference, not analysed here). */
  get mainNodes(): GNode[] {
    return this.nodes.filter((n) => n.graph === '');
  }
}

/** Typed attribute reads (the ONNX reader has already checked the well-known ones' types). */
export function attrInt(n: GNode, name: string, fallback: number): number {
  const v = n.attrs[name];
  return typeof v === 'number' ? v : fallback;
}

export function attrInts(n: GNode, name: string): number[] | undefined {
  const v = n.attrs[name];
  return Array.isArray(v) ? (v as number[]) : undefined;
}

export function attrFloat(n: GNode, name: string, fallback: number): number {
  const v = n.attrs[name];
  return typeof v === 'number' ? v : fallback;
}

export function attrString(n: GNode, name: string, fallback: string): string {
  const v = n.attrs[name];
  return typeof v === 'string' ? v : fallback;
}
