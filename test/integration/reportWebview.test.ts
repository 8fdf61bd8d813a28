import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { chromium } from 'playwright-core';
import { analyzeModel } from '../../src/core/analysis/analyzeModel.ts';
import { reportWebviewHtml } from '../../src/extension/reportWebviewHtml.ts';
import { ROOT, fixture, tempDir } from '../helpers.ts';

const tmp = tempDir();
after(tmp.cleanup);

test('report webview HTML: strict CSP with a nonce, no inline script without it, no remote sources', () => {
  const html = reportWebviewHtml({ cspSource: 'vscode-resource:', scriptUri: 'vscode-resource:/dist/report-view.js', nonce: 'abc123', title: 'PruneScope report: m.onnx' });
  const csp = /content="([^"]+)"/.exec(html)![1]!;
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'nonce-abc123';/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
  const scripts = html.match(/<script[^>]*>/g)!;
  assert.deepEqual(scripts, ['<script nonce="abc123" src="vscode-resource:/dist/report-view.js">']);
});

test('report webview in Chromium: progress, then the report renders under the CSP; bad messages are ignored; state is saved', async () => {
  const report = await analyzeModel(fixture('onnx', 'cnn_plain_bn.onnx'), { workers: 0 });
  const page = path.join(tmp.dir, 'view.html');
  fs.writeFileSync(page, reportWebviewHtml({ cspSource: 'file:', scriptUri: `file://${path.join(ROOT, 'dist', 'report-view.js')}`, nonce: 'n0nce', title: 'PruneScope report: cnn_plain_bn.onnx' }));
  const browser = await chromium.launch({
    executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--allow-file-access-from-files'],
  });
  try {
    const p = await browser.newPage();
    // The only stand-in: VS Code's webview bridge, recording what the page sends and saves.
    // (A string, not a function: tsx's transpiled functions reference helpers the page does not have.)
    await p.addInitScript({
      content: `
        window.sent = []; window.saved = undefined; window.violations = [];
        document.addEventListener('securitypolicyviolation', (e) => window.violations.push(e.violatedDirective + ' ' + e.blockedURI));
        window.acquireVsCodeApi = () => ({ postMessage: (m) => window.sent.push(m), getState: () => window.saved, setState: (s) => { window.saved = s; } });`,
    });
    await p.goto(`file://${page}`);
    await p.waitForFunction(() => (window as unknown as { sent: unknown[] }).sent.length > 0);
    assert.deepEqual(await p.evaluate(() => (window as unknown as { sent: unknown[] }).sent), [{ type: 'ready' }]);
    await p.evaluate(() => window.postMessage({ type: 'progress', done: 1, total: 3, layer: 'conv1.weight' }, '*'));
    await p.waitForFunction(() => document.getElementById('status')!.textContent!.includes('1 of 3'));
    await p.click('#cancel');
    assert.deepEqual(await p.evaluate(() => (window as unknown as { sent: unknown[] }).sent), [{ type: 'ready' }, { type: 'cancel' }]);
    await p.evaluate(() => window.postMessage({ type: 'report', report: { schemaVersion: '9.0', layers: [] } }, '*')); // wrong version: ignored
    await p.evaluate(() => window.postMessage({ type: 'nonsense' }, '*'));
    await p.evaluate((r) => window.postMessage({ type: 'report', report: r }, '*'), JSON.parse(JSON.stringify(report)));
    await p.waitForSelector('body[data-rendered="true"]', { timeout: 10_000 });
    const state = await p.evaluate(() => {
      const w = window as unknown as { saved: { report: { layers: unknown[] } }; violations: string[] };
      return {
        rows: document.querySelectorAll('#layers tbody tr').length,
        charts: Array.from(document.querySelectorAll('canvas')).map((c) => Number(c.dataset['datasets'] ?? 0)),
        savedLayers: w.saved.report.layers.length,
        violations: w.violations,
        hidden: document.getElementById('report')!.hidden,
      };
    });
    assert.deepEqual(state, { rows: 3, charts: [3, 3, 5, 2], savedLayers: 3, violations: [], hidden: false });
    assert.equal(await p.isVisible('#cancel'), false);
  } finally {
    await browser.close();
  }
});
