import * as path from 'node:path';
import { openCheckpoint } from '../core/formats/openCheckpoint.ts';
import { type InspectResult, inspectCheckpoint } from '../core/inspect.ts';
import { formatBytes, formatCount, formatTable } from './formatTable.ts';

/** The JSON shape of `prunescope inspect --json` (documented in the README). */
export function inspectJson(r: InspectResult): object {
  return {
    format: r.format,
    producer: r.producer,
    opset: r.opset,
    layers: r.layers.map((l) => ({
      name: l.name,
      kind: l.kind,
      op: l.opType,
      node: l.op,
      shape: l.shape,
      storedShape: l.storedShape,
      dtype: l.dtype,
      params: l.params,
      quantized: l.quantized,
      inferred: l.inferred,
    })),
    totals: r.totals,
    warnings: r.warnings,
  };
}

export function inspectText(r: InspectResult): string {
  const rows = r.layers.map((l) => [
    l.name,
    l.kind,
    l.opType || '—',
    l.shape.join('×') || 'scalar',
    l.dtype + (l.quantized ? ' (q)' : ''),
    formatCount(l.params),
  ]);
  const lines = [
    `${path.basename(r.file)}: ${r.format}${r.producer ? `, made by ${r.producer}` : ''}${r.opset !== null ? `, opset ${r.opset}` : ''}`,
    '',
    formatTable(['name', 'kind', 'op', 'shape (out×in×kh×kw)', 'dtype', 'params'], rows, new Set([5])),
    '',
    `${r.layers.length} weight tensors · ${formatCount(r.totals.params)} params · ${formatCount(r.totals.weightParams)} in weight matrices/kernels · ${formatBytes(r.totals.bytes)} stored · ${formatBytes(r.totals.fileBytes)} on disk in ${r.totals.files} file${r.totals.files === 1 ? '' : 's'}`,
  ];
  if (r.layers.some((l) => l.quantized)) lines.push('(q) = quantized; values are dequantized when read');
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}

export function runInspect(file: string, json: boolean): string {
  const ck = openCheckpoint(file);
  try {
    const result = inspectCheckpoint(ck);
    return json ? JSON.stringify(inspectJson(result), null, 2) : inspectText(result);
  } finally {
    ck.close();
  }
}
