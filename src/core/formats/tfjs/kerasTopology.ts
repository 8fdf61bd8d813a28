/** The Keras topology of a TF.js layers-model: its layer records, and the layer list of a Sequential model. */
export interface KerasLayer {
  class_name: string;
  config: Record<string, unknown> & { name: string };
}

/** The Sequential layer list of a topology (undefined for functional models). */
export function sequentialLayers(topology: Record<string, unknown>): KerasLayer[] | undefined {
  const root = (topology['model_config'] ?? topology) as { class_name?: string; config?: { layers?: KerasLayer[] } | KerasLayer[] };
  if (root.class_name !== 'Sequential') return undefined;
  return Array.isArray(root.config) ? root.config : root.config?.layers;
}
