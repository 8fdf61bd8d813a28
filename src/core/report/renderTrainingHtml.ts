/**
 * The report of a gate-training run (`train-gates --report`): one self-contained HTML page with the
 * run's facts, the surviving units per gated layer over the epochs, loss and accuracy, the θ
 * histogram (when the structure was decided, and at the end), and the per-epoch table.
 */
import * as path from 'node:path';
import type { TrainGatesLog } from '../training/trainGates.ts';
import { loadReportScript, pageHeading, standalonePage } from './renderHtmlReport.ts';

export function trainingBody(title: string): string {
  return `${pageHeading(title)}<h2>Structure over the epochs</h2>
<div class="charts">
  <div class="chart"><canvas id="chart-widths" aria-label="surviving units per gated layer and epoch"></canvas></div>
  <div class="chart"><canvas id="chart-loss" aria-label="loss and accuracy per epoch"></canvas></div>
  <div class="chart"><canvas id="chart-theta" aria-label="histogram of the gate probabilities"></canvas></div>
</div>
<h2>Gated layers</h2>
<table id="layers"><thead><tr><th>layer</th><th>units before</th><th>after</th><th>kept</th></tr></thead><tbody></tbody></table>
<h2>Epochs</h2>
<table id="epochs"><thead><tr><th>epoch</th><th>loss</th><th>accuracy</th><th>val. loss</th><th>val. accuracy</th><th>widths</th><th>undecided θ</th><th>time</th></tr></thead><tbody></tbody></table>
<p class="muted">Every unit (Dense) or filter (Conv2D) of a gated layer is multiplied by ξ ~ Bernoulli(θ) during training; units whose θ
reaches 0 are removed, and at the end every θ is 0 or 1, so the exported network is deterministic. θ still strictly between 0 and 1 when the
structure is decided (the last settle epochs) is rounded to the nearer end: the orange bars show how many were.</p>
`;
}

export function renderTrainingHtml(log: TrainGatesLog, script = loadReportScript()): string {
  const title = `PruneScope gate training: ${path.basename(log.input)} → ${path.basename(log.output)}`;
  return standalonePage(title, trainingBody(title), 'training-data', log, script);
}
