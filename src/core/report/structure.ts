/**
 * The dependency-group summary an analysis report carries for ONNX models (schema 1.3.0; `reads` since 1.4.0): enough
 * for the prune preview to run the same group planner as the export and to size its result tensor
 * by tensor, without the weights. Written by describeStructure, read by previewGroups.
 */

/** A per-class count: one number when every class has the same. */
export type PerClass = number | number[];

export const perClassAt = (p: PerClass, c: number): number => (typeof p === 'number' ? p : p[c]!);

export interface StructureTensor {
  name: string;
  dims: number[];
  /** Bytes per element as stored (int8 weights 1, fp16 2, float 4). */
  bytes: number;
  /** Counted in the model's parameters (a float weight, or a quantized weight's storage). */
  counted: boolean;
  /**
   * How the export writes it when cut: 'slice' in place (every use cut alike), or 'copy' per cut
   * use (a bias or zero point shared by layers of different groups, a computed constant) with the
   * original kept while a use is left uncut.
   */
  write: 'slice' | 'copy';
  /** Main-graph uses (for 'copy'; uses through Identity nodes count as uses). */
  uses: number;
  /** Stored in a Constant node: the node's bytes beyond the tensor's as an initializer (the export writes initializers). */
  wrapper?: number;
  /** Computed from other constants (e.g. a materialised zero point): only its copies are stored. */
  computed?: boolean;
}

export interface StructureCut {
  /** Index into StructureReport.tensors. */
  tensor: number;
  axis: number;
  /** For 'copy' tensors: which use ('node:input'). */
  use?: string;
  /** The name that use reads when it is not the tensor's own (an Identity of it): its copy is named after it. */
  reads?: string;
  /** Indices of the axis removed with each class. */
  perClass: PerClass;
}

export interface StructureGroup {
  id: number;
  /** Weight layers whose own output units the group holds. */
  layers: Array<{ name: string; units: number; perClass: PerClass }>;
  /** Pruning units (a head, a conv group, a shuffled column count as one). */
  classes: number;
  /** Why the outputs are only approximately kept (normalisation statistics change). */
  approximate: string[];
  /** Why the group cannot give anything up (then the fields below are absent). */
  refused?: string;
  /** Group importance per class (spec §4) and each class's share of the group's weight energy. */
  scores?: { raw: number[]; normalized: number[]; energy: number[]; totalEnergy: number };
  /** Parameters each class takes with it (the budget planner's measure). */
  paramsPerClass?: number[];
  cuts?: StructureCut[];
  /** Why spectral pruning cannot use this group (absent: it can). */
  spectralRefused?: string;
}

export interface StructureReport {
  /** Milliseconds the dependency analysis took. */
  ms: number;
  /** Dynamic input dims the analysis had to choose. */
  inputsChosen: string[];
  tensors: StructureTensor[];
  groups: StructureGroup[];
  /** Weight layers no group holds the outputs of, with why. */
  refusals: Record<string, string>;
  /** Bytes of graph structure (shape arithmetic, dead constants no group cuts) the export drops once groups are cut. */
  graphBytesSaved: number;
}
