/** Entry of the self-contained HTML reports: an analysis report or a gate-training log, embedded as JSON in the page. */
import type { AnalysisReport } from '../../src/core/report/report.ts';
import type { TrainGatesLog } from '../../src/core/training/trainGates.ts';
import { renderReport } from './report/renderReport.ts';
import { renderTraining } from './report/renderTraining.ts';

const training = document.getElementById('training-data');
if (training) renderTraining(JSON.parse(training.textContent!) as TrainGatesLog);
else renderReport(JSON.parse(document.getElementById('report-data')!.textContent!) as AnalysisReport);
