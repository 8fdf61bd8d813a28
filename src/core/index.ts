/** The public surface of PruneScope's core (also bundled as dist/core.js for workers and benches). */
export * from './checkpoint.ts';
export { CheckpointError, isCheckpointError } from './errors.ts';
export { openCheckpoint, SUPPORTED_INPUTS } from './formats/openCheckpoint.ts';
export { readOnnx } from './formats/onnx/readOnnx.ts';
export { readTfjs } from './formats/tfjs/readTfjs.ts';
export { readSafetensors, readSafetensorsIndex } from './formats/safetensors/readSafetensors.ts';
export { inspectCheckpoint, type InspectResult, type InspectLayer } from './inspect.ts';
export { canonicalShape, toCanonical, type CanonicalLayout } from './tensor/layout.ts';
export { decodeValues, type DType } from './tensor/dtype.ts';
export { analyzeModel, AnalysisCancelled, type AnalyzeOptions } from './analysis/analyzeModel.ts';
export { analyzeLayer, elementwiseStats, isAnalysable, DEFAULT_SETTINGS, type AnalysisSettings, type LayerResult } from './analysis/analyzeLayer.ts';
export { fitEsdPowerLaw } from './analysis/esd.ts';
export { columnMedians } from './analysis/order.ts';
export { gramEigenvaluesRawAndCentred } from './linalg/spectrum.ts';
export { renderHtmlReport } from './report/renderHtmlReport.ts';
export { SCHEMA_VERSION, type AnalysisReport } from './report/report.ts';
export { REPORT_SCHEMA } from './report/reportSchema.ts';
