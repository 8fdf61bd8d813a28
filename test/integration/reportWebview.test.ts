/**
 * The report webview's page in headless Chromium, under its real CSP, with VS Code's webview bridge
 * as the only stand-in: progress and cancel, message validation, the layers table (sort, filter,
 * keyboard selection), the comparison charts, the prune panel's preview and messages, saved state.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { analyzeModel } from '../../src/core/analysis/analyzeModel.ts';
import { previewPlan } from '../../src/core/pruning/previewPlan.ts';
import { layerStatus } from '../../webview-ui/src/report/prunePanel.ts';
import type { AnalysisReport } from '../../src/core/report/report.ts';
import { reportWebviewHtml } from '../../src/extension/reportWebviewHtml.ts';
import { ROOT, fixture, paintedPixels, tempDir } from '../helpers.ts';

const tmp = tempDir();
let browser: Browser;
let report: AnalysisReport;
const config = { defaultMethod: 'magnitude', verifyOnExport: true, pruneUnavailable: null };
before(async () => {
  report = JSON.parse(JSON.stringify(await analyzeModel(fixture('onnx', 'cnn_plain_bn.onnx'), { workers: 0 })));
  browser = await chromium.launch({
    executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--allow-file-access-from-files'],
  });
});
after(async () => {
  await browser?.close();
  tmp.cleanup();
});

test('report webview HTML: strict CSP with a nonce, no inline script without it, no remote sources', () => {
  const html = reportWebviewHtml({ cspSource: 'vscode-resource:', scriptUri: 'vscode-resource:/dist/report-view.js', nonce: 'abc123', title: 'PruneScope report: m.onnx' });
  const csp = /content="([^"]+)"/.exec(html)![1]!;
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'nonce-abc123';/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
  const scripts = html.match(/<script[^>]*>/g)!;
  assert.deepEqual(scripts, ['<script nonce="abc123" src="vscode-resource:/dist/report-view.js">']);
});

/** Uncaught errors of every page opened: each test ends by checking there were none. */
const pageErrors: string[] = [];

type W = { sent: Array<Record<string, unknown>>; saved: unknown; violations: string[] };

async function openPage(saved?: unknown): Promise<Page> {
  const file = path.join(tmp.dir, 'view.html');
  fs.writeFileSync(file, reportWebviewHtml({ cspSource: 'file:', scriptUri: `file://${path.join(ROOT, 'dist', 'report-view.js')}`, nonce: 'n0nce', title: 'PruneScope report: cnn_plain_bn.onnx' }));
  const p = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
  // The only stand-in: VS Code's webview bridge, recording what the page sends and saves.
  // (A string, not a function: tsx's transpiled functions reference helpers the page does not have.)
  await p.addInitScript({
    content: `
      window.sent = []; window.saved = ${JSON.stringify(saved ?? null)} ?? undefined; window.violations = [];
      document.addEventListener('securitypolicyviolation', (e) => window.violations.push(e.violatedDirective + ' ' + e.blockedURI));
      window.acquireVsCodeApi = () => ({ postMessage: (m) => window.sent.push(m), getState: () => window.saved, setState: (s) => { window.saved = s; } });`,
  });
  p.on('pageerror', (e) => pageErrors.push(e.message));
  await p.goto(`file://${file}`);
  await p.waitForFunction(() => (window as unknown as W).sent.length > 0);
  return p;
}

/** A page that has received `r` (the digits report unless given) and rendered it. */
async function openWithReport(r: unknown = report): Promise<Page> {
  const p = await openPage();
  await p.evaluate(([rep, c]) => window.postMessage({ type: 'report', report: rep, config: c }, '*'), [r, config] as const);
  await p.waitForSelector('body[data-rendered="true"]');
  return p;
}

const sent = (p: Page) => p.evaluate(() => (window as unknown as W).sent);
const painted = (p: Page, selector: string) => paintedPixels(p.mainFrame(), selector);

test('report webview: progress, cancel, invalid messages ignored, then the report under the CSP', async () => {
  const p = await openPage();
  assert.deepEqual(await sent(p), [{ type: 'ready' }]);
  await p.evaluate(() => window.postMessage({ type: 'progress', done: 1, total: 3, layer: 'conv1.weight' }, '*'));
  await p.waitForFunction(() => document.getElementById('status')!.textContent!.includes('1 of 3'));
  await p.click('#cancel');
  assert.deepEqual(await sent(p), [{ type: 'ready' }, { type: 'cancel' }]);
  await p.evaluate((r) => window.postMessage({ type: 'report', report: { ...r, schemaVersion: '9.0' }, config: { defaultMethod: 'magnitude', verifyOnExport: true, pruneUnavailable: null } }, '*'), report);
  await p.evaluate((r) => window.postMessage({ type: 'report', report: r }, '*'), report); // no config
  await p.evaluate(() => window.postMessage({ type: 'nonsense' }, '*'));
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(await p.getAttribute('body', 'data-rendered'), null);
  await p.evaluate(([r, c]) => window.postMessage({ type: 'report', report: r, config: c }, '*'), [report, config] as const);
  await p.waitForSelector('body[data-rendered="true"]', { timeout: 10_000 });
  assert.equal(await p.locator('#layers tbody tr').count(), report.layers.length);
  assert.ok((await painted(p, '#chart-alpha, #chart-alpha-esd')).every((n) => n > 1000));
  assert.deepEqual(await p.evaluate(() => (window as unknown as W).violations), []);
  assert.deepEqual(pageErrors, []);
  await p.close();
});

test('layers table: sort by a column both ways, filter, keyboard selection drives Compare', async () => {
  const p = await openWithReport();
  await p.click('vscode-tab-header[data-view="layers"]');
  const names = () => p.locator('#layers tbody tr td:first-child').allTextContents();
  const byParams = [...report.layers].sort((a, b) => a.params - b.params).map((l) => l.name);
  await p.click('#layers th:nth-child(4) button');
  assert.deepEqual(await names(), byParams);
  assert.equal(await p.getAttribute('#layers th:nth-child(4)', 'aria-sort'), 'ascending');
  await p.click('#layers th:nth-child(4) button');
  assert.deepEqual(await names(), [...byParams].reverse());
  const first = report.layers[0]!.name;
  await p.locator('#filter input').fill(first);
  assert.deepEqual(await names(), report.layers.filter((l) => l.name.toLowerCase().includes(first.toLowerCase())).map((l) => l.name));
  await p.locator('#filter input').fill('');
  // Keyboard: Enter selects one row, Space adds the next one.
  await p.locator('#layers tbody tr').first().focus();
  await p.keyboard.press('Enter');
  await p.keyboard.press('ArrowDown');
  await p.keyboard.press('Space');
  const selected = await p.locator('#layers tbody tr[aria-selected="true"] td:first-child').allTextContents();
  assert.equal(selected.length, 2);
  await p.click('vscode-tab-header[data-view="compare"]');
  await p.waitForSelector('#compare-curves-1');
  assert.deepEqual(await p.locator('#compare h3').allTextContents(), [...byParams].reverse().slice(0, 2));
  for (let i = 0; i < 50 && !(await painted(p, '#compare canvas')).every((n) => n > 500); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok((await painted(p, '#compare canvas')).every((n) => n > 500), 'comparison charts are drawn');
  const saved = (await p.evaluate(() => (window as unknown as W).saved)) as { table: { selected: string[]; sort: unknown }; view: string };
  assert.deepEqual(saved.table.selected, [...byParams].reverse().slice(0, 2));
  assert.equal(saved.view, 'compare');
  await p.close();

  // The saved state restores the same view without the host re-sending anything.
  const again = await openPage(saved);
  await again.waitForSelector('body[data-rendered="true"]');
  assert.equal(await again.locator('#compare h3').count(), 2);
  assert.deepEqual(pageErrors, []);
  await again.close();
});

test('prune panel: the preview equals previewPlan, and Prune & export sends a valid request', async () => {
  const p = await openWithReport();
  await p.evaluate(() => window.postMessage({ type: 'show', view: 'prune' }, '*'));
  await p.waitForFunction(() => document.querySelectorAll('#preview tbody tr').length > 0);
  await p.locator('#target-value input').fill('0.3');
  const expected = previewPlan(report, { method: 'magnitude', target: { kind: 'ratio', ratio: 0.3 }, global: false, alphaBelow: null });
  await p.waitForFunction((n) => document.querySelector('#preview-summary b')?.textContent?.startsWith(n), expected.paramsAfter.toLocaleString('en-US'));
  const rows = await p.locator('#preview tbody tr').evaluateAll((trs) => trs.map((tr) => Array.from(tr.children).map((td) => td.textContent)));
  assert.deepEqual(
    rows.map((r) => [r[0], r[4]]),
    expected.layers.map((l) => [l.name, l.paramsAfter.toLocaleString('en-US')]),
  );
  await p.click('#prune');
  const request = (await sent(p)).find((m) => m['type'] === 'prune');
  assert.deepEqual(request, { type: 'prune', request: { method: 'magnitude', target: { kind: 'ratio', ratio: 0.3 }, global: false, alphaBelow: null }, layers: null, verify: true });
  // An invalid value disables the button and says why.
  await p.locator('#target-value input').fill('1.5');
  await p.waitForFunction(() => document.getElementById('preview-problem')!.textContent!.includes('[0, 1)'));
  await p.evaluate(() =>
    window.postMessage({ type: 'pruneDone', result: { input: 'a.onnx', output: '/w/a.pruned-magnitude.onnx', method: 'magnitude', paramsBefore: 100, paramsAfter: 70, bytes: { before: 400, after: 400, afterGzip: 300, afterSparse: 400, afterSparseIsEstimate: true }, notes: [], layers: [], plan: { version: 1, method: 'magnitude', centre: 'none', layers: [] }, multiplyAdds: null, verify: { runtime: 'onnxruntime-node', samples: 8, data: 'random', maxAbs: 0.01, relErr: 0.002, cosine: 0.99999, top1Agreement: 1, accuracyBefore: null, accuracyAfter: null } } }, '*'),
  );
  await p.waitForSelector('#verification');
  assert.equal(await p.textContent('#verification'), 'verified in onnxruntime-node on 8 random inputs: max |Δ| 1.000e-2, relative error 2.000e-3, cosine 0.999990, top-1 agreement 100.0%');
  assert.deepEqual(pageErrors, []);
  await p.close();
});

test('prune panel: with calibration data the spectral method is offered, previewed and requested', async () => {
  const withData = JSON.parse(JSON.stringify(await analyzeModel(fixture('onnx', 'digits_mlp.onnx'), { workers: 0, data: fixture('npy', 'digits_calib_x.npy') })));
  const p = await openWithReport(withData);
  assert.equal(await p.isVisible('#chart-act'), false); // on the Layers tab, not Overview
  await p.click('vscode-tab-header[data-view="layers"]');
  // The chart is drawn once the tab is shown and chart.js has seen the canvas resize.
  for (let i = 0; i < 50 && !((await painted(p, '#chart-act'))[0]! > 1000); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok((await painted(p, '#chart-act'))[0]! > 1000, 'the activation spectrum is drawn');
  await p.click('vscode-tab-header[data-view="prune"]');
  assert.deepEqual(await p.locator('#method vscode-option').evaluateAll((os) => os.map((o) => o.getAttribute('value'))), ['magnitude', 'node', 'singular', 'spectral']);
  // The select takes the value once it has seen the option added for calibrated reports.
  await p.waitForFunction(() => {
    const m = document.getElementById('method') as HTMLElement & { value: string };
    m.value = 'spectral';
    return m.value === 'spectral';
  });
  await p.evaluate(() => document.getElementById('method')!.dispatchEvent(new Event('change')));
  await p.waitForFunction(() => document.getElementById('preview-error')!.textContent === 'activation error (lower bound)');
  const expected = previewPlan(withData, { method: 'spectral', target: { kind: 'ratio', ratio: 0.5 }, global: false, alphaBelow: null });
  const rows = await p.locator('#preview tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.children[0]!.textContent, tr.children[4]!.textContent]));
  assert.deepEqual(rows, expected.layers.map((l) => [l.name, l.paramsAfter.toLocaleString('en-US')]));
  await p.click('#prune');
  const request = (await sent(p)).find((m) => m['type'] === 'prune');
  assert.deepEqual(request, { type: 'prune', request: { method: 'spectral', target: { kind: 'ratio', ratio: 0.5 }, global: false, alphaBelow: null }, layers: expected.layersPattern, verify: true });
  assert.deepEqual(pageErrors, []);
  await p.close();
});

test('prune panel: node pruning on a ViT previews its dependency groups (status per layer) and allows one global threshold', async () => {
  const vit = JSON.parse(JSON.stringify(await analyzeModel(fixture('onnx', 'zoo', 'vit_op13.onnx'), { workers: 0 })));
  const p = await openWithReport(vit);
  await p.click('vscode-tab-header[data-view="prune"]');
  await p.waitForFunction(() => {
    const m = document.getElementById('method') as HTMLElement & { value: string };
    m.value = 'node';
    return m.value === 'node';
  });
  await p.evaluate(() => document.getElementById('method')!.dispatchEvent(new Event('change')));
  await p.waitForFunction(() => !(document.getElementById('global') as HTMLElement & { disabled: boolean }).disabled);
  await p.locator('#target-value input').fill('0.3');
  const expected = previewPlan(vit, { method: 'node', target: { kind: 'ratio', ratio: 0.3 }, global: false, alphaBelow: null });
  await p.waitForFunction((n) => document.querySelector('#preview-summary b')?.textContent?.startsWith(n), expected.paramsAfter.toLocaleString('en-US'));
  const rows = await p.locator('#preview tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.children[0]!.textContent, tr.children[4]!.textContent, tr.children[5]!.textContent, tr.children[6]!.textContent]));
  assert.deepEqual(rows.map((r) => [r[0], r[1], r[2]]), expected.layers.map((l) => [l.name, l.paramsAfter.toLocaleString('en-US'), layerStatus(l)]));
  const statuses = new Set(rows.map((r) => r[2]));
  for (const s of ['approximate', 'refused']) assert.ok(statuses.has(s), `${s} in ${[...statuses]}`); // the residual stream's LayerNorms; the head
  const head = rows.find((r) => r[2] === 'refused')!;
  assert.match(head[3]!, /graph output/); // the reason is shown
  await p.evaluate(() => {
    const g = document.getElementById('global') as HTMLElement & { checked: boolean };
    g.checked = true;
    g.dispatchEvent(new Event('change'));
  });
  const global = previewPlan(vit, { method: 'node', target: { kind: 'ratio', ratio: 0.3 }, global: true, alphaBelow: null });
  await p.waitForFunction((n) => document.querySelector('#preview-summary b')?.textContent?.startsWith(n), global.paramsAfter.toLocaleString('en-US'));
  await p.click('#prune');
  const request = (await sent(p)).find((m) => m['type'] === 'prune');
  assert.deepEqual(request, { type: 'prune', request: { method: 'node', target: { kind: 'ratio', ratio: 0.3 }, global: true, alphaBelow: null }, layers: null, verify: true });
  assert.deepEqual(pageErrors, []);
  await p.close();
});

test('learn structure: the button asks the host, epochs stream into the widths and loss charts', async () => {
  const p = await openWithReport();
  await p.evaluate(() => window.postMessage({ type: 'show', view: 'prune' }, '*'));
  await p.click('#learn');
  assert.deepEqual((await sent(p)).filter((m) => m['type'] === 'learnStructure'), [{ type: 'learnStructure' }]);
  for (const [epoch, widths, loss] of [[1, [40], 0.9], [2, [31], 0.6], [3, [20], 0.4]] as const) {
    await p.evaluate(([e, w, l]) => window.postMessage({ type: 'trainEpoch', epochs: 3, log: { epoch: e, loss: l, accuracy: 0.8, valLoss: null, valAccuracy: null, widths: w, undecided: [0], ms: 10 } }, '*'), [epoch, widths, loss] as const);
  }
  await p.waitForFunction(() => document.getElementById('chart-widths')?.dataset['points'] === '3');
  assert.equal(await p.getAttribute('#chart-loss', 'data-datasets'), '2');
  assert.match((await p.textContent('#learn-status'))!, /^Epoch 3 of 3: loss 0\.400, accuracy 80\.0%; widths 20$/);
  assert.equal(await p.isVisible('#chart-theta'), false);
  const histogram = (bins: number[]) => ({ bins, zero: bins[0], one: bins[11], between: 40 - bins[0]! - bins[11]! });
  const done = { type: 'trainDone', output: '/w/m.gated.onnx', widthsBefore: [40], widthsAfter: [20], accuracy: 0.95, valAccuracy: null, cancelled: false, gatedLayers: ['fc1'] };
  // A message without the θ histograms is not a trainDone: the page ignores it.
  await p.evaluate((m) => window.postMessage(m, '*'), done);
  await new Promise((r) => setTimeout(r, 200));
  assert.match((await p.textContent('#learn-status'))!, /^Epoch 3 of 3/);
  await p.evaluate((m) => window.postMessage(m, '*'), { ...done, thetaAtDecision: histogram([18, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 19]), thetaFinal: histogram([20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20]) });
  await p.waitForFunction(() => document.getElementById('learn-status')!.className === 'ok');
  assert.equal(await p.textContent('#learn-status'), 'Widths 40 → 20; accuracy 95.0%. Wrote /w/m.gated.onnx');
  await p.waitForFunction(() => document.getElementById('chart-theta')?.dataset['points'] === '12');
  assert.equal(await p.getAttribute('#chart-theta', 'data-datasets'), '2');
  assert.ok((await paintedPixels(p.mainFrame(), '#chart-theta'))[0]! > 1000, 'the θ histogram is blank');
  assert.deepEqual(pageErrors, []);
  await p.close();
});
