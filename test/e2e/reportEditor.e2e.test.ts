/**
 * End to end, in a real VS Code: code-server runs PruneScope's built extension, headless Chromium
 * (playwright-core) drives it like a user. code-server comes from test/e2e/setup-vscode.sh (run by
 * `npm test` and .ci/run). Set PRUNESCOPE_SKIP_E2E=1 to skip this suite explicitly.
 *
 * Screenshots (light and dark) go to test-artifacts/.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';
import { buildOnnxModel } from '../../src/core/formats/onnx/onnxBuilder.ts';
import { openCheckpoint } from '../../src/core/formats/openCheckpoint.ts';
import { sasSamples } from '../../src/core/analysis/prng.ts';
import { floatBytes, paintedPixels, ROOT, runCli, tempDir } from '../helpers.ts';

const SKIP = process.env['PRUNESCOPE_SKIP_E2E'] === '1';
const CODE_SERVER = path.join(ROOT, '.e2e', 'code-server', 'node_modules', '.bin', 'code-server');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
const tmp = tempDir();
const workspace = path.join(tmp.dir, 'workspace');
let originalSha = '';
const sha256Of = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const userDir = path.join(tmp.dir, 'user');
const exportDir = path.join(workspace, 'exports');
const exportPath = path.join(exportDir, 'mlp.pruned-node.onnx');
const trainedPath = path.join(exportDir, 'digits.gated.onnx');
let server: ChildProcess | undefined;
let url = '';
let browser: Browser | undefined;
let page: Page;

function writeUserSettings(theme: string): void {
  fs.mkdirSync(path.join(userDir, 'User'), { recursive: true });
  fs.writeFileSync(
    path.join(userDir, 'User', 'settings.json'),
    JSON.stringify({ 'security.workspace.trust.enabled': false, 'workbench.startupEditor': 'none', 'workbench.colorTheme': theme, 'workbench.tips.enabled': false, 'prunescope.workers': 1, 'prunescope.trainingData': 'digits_x.npy', 'prunescope.trainingLabels': 'digits_y.npy' }),
  );
}

/** A model whose analysis takes long enough to cancel (about 30 s on one worker): 10 dense 1024×1024 layers. */
function writeSlowModel(file: string): void {
  const n = 1024;
  const layers = 10;
  buildOnnxModel({
    producer: 'e2e',
    opset: 13,
    graphName: 'slow',
    inputs: [{ name: 'x', elemType: 1, dims: [1, n] }],
    outputs: [{ name: `h${layers}`, elemType: 1, dims: [1, n] }],
    nodes: Array.from({ length: layers }, (_, i) => ({ name: `mm${i}`, opType: 'MatMul', inputs: [i ? `h${i}` : 'x', `w${i}`], outputs: [`h${i + 1}`] })),
    initializers: Array.from({ length: layers }, (_, i) => ({ name: `w${i}`, dataType: 1, dims: [n, n], raw: floatBytes(sasSamples(1.8, n * n, i + 1).map((v) => 0.02 * v)) })),
  }).writeToFile(file);
}

/**
 * Opens the Command Palette and runs the command with this label. Keys are unreliable here (focus
 * may sit inside a webview's iframe), so the palette is opened with the mouse and retried until its
 * input shows.
 */
async function runFromCommandPalette(label: string): Promise<void> {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  for (let attempt = 1; ; attempt++) {
    // The Command Center in the title bar opens Quick Open; '>' turns it into the Command Palette.
    await page.locator('.command-center .command-center-center').first().click();
    try {
      await input.waitFor({ state: 'visible', timeout: 5_000 });
      break;
    } catch (e) {
      if (attempt === 3) {
        await page.screenshot({ path: path.join(ARTIFACTS, 'failure.png') });
        throw e;
      }
    }
  }
  await input.fill(`>${label}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: label }).first().click();
}

before(async () => {
  if (SKIP) return;
  assert.ok(fs.existsSync(CODE_SERVER), 'code-server is not installed: run `bash test/e2e/setup-vscode.sh` (or set PRUNESCOPE_SKIP_E2E=1 to skip the e2e suite)');
  const ext = path.join(tmp.dir, 'extensions');
  fs.mkdirSync(ext, { recursive: true });
  fs.mkdirSync(workspace, { recursive: true });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'examples', 'mlp.onnx'), path.join(workspace, 'mlp.onnx'));
  originalSha = sha256Of(path.join(workspace, 'mlp.onnx'));
  writeSlowModel(path.join(workspace, 'slow.onnx'));
  fs.copyFileSync(path.join(ROOT, 'test', 'fixtures', 'onnx', 'digits_mlp.onnx'), path.join(workspace, 'digits.onnx'));
  fs.copyFileSync(path.join(ROOT, 'test', 'fixtures', 'npy', 'digits_test_x.npy'), path.join(workspace, 'digits_x.npy'));
  fs.copyFileSync(path.join(ROOT, 'test', 'fixtures', 'npy', 'digits_test_y.npy'), path.join(workspace, 'digits_y.npy'));
  writeUserSettings('Default Dark Modern');
  // Register the repository itself as an installed extension (as a VSIX install would).
  const { publisher, name, version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const folder = `${publisher}.${name}-${version}`;
  fs.symlinkSync(ROOT, path.join(ext, folder));
  fs.writeFileSync(
    path.join(ext, 'extensions.json'),
    JSON.stringify([{ identifier: { id: `${publisher}.${name}` }, version, location: { $mid: 1, path: path.join(ext, folder), scheme: 'file' }, relativeLocation: folder, metadata: { installedTimestamp: Date.now(), source: 'vsix' } }]),
  );
  server = spawn(CODE_SERVER, ['--auth', 'none', '--bind-addr', '127.0.0.1:0', '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--user-data-dir', userDir, '--extensions-dir', ext, workspace], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    env: { ...process.env, PRUNESCOPE_TEST_EXPORT_DIR: exportDir },
  });
  url = await new Promise<string>((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error(`code-server did not start:\n${log}`)), 60_000);
    const onData = (d: Buffer) => {
      log += d.toString();
      const m = /HTTP server listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    server!.stdout!.on('data', onData);
    server!.stderr!.on('data', onData);
  });
  browser = await chromium.launch({
    executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${url}/?folder=${encodeURIComponent(workspace)}`);
  await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
});

after(async () => {
  await browser?.close();
  if (server?.pid) process.kill(-server.pid, 'SIGTERM'); // the whole process group
  tmp.cleanup();
});

/** The webview frame holding `selector` (webviews live in nested iframes). */
async function frameWith(selector: string, timeoutMs: number): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const f of page.frames()) {
      if (await f.$(selector).catch(() => null)) return f;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no webview frame has ${selector}`);
}

/**
 * Opens a model from the Explorer, as a user would. Right after start-up the extension may not be
 * registered yet and VS Code falls back to its text editor: then close that editor and reopen.
 */
async function openFromExplorer(file: string, selector: string): Promise<Frame> {
  const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: file });
  await row.waitFor({ state: 'visible', timeout: 60_000 });
  for (let attempt = 0; attempt < 3; attempt++) {
    await row.dblclick();
    const frame = await frameWith(selector, attempt < 2 ? 15_000 : 90_000).catch(async () => {
      await page.keyboard.press('Control+W');
      return undefined;
    });
    if (frame) return frame;
  }
  await page.screenshot({ path: path.join(ARTIFACTS, 'failure.png') });
  throw new Error(`the PruneScope report of ${file} did not open (screenshot: test-artifacts/failure.png)`);
}

test('PruneScope in VS Code: report, comparison, prune & export, themes, cancel, learn structure', { skip: SKIP && 'PRUNESCOPE_SKIP_E2E=1' }, async (t) => {
  let frame: Frame;

  await t.test('1. opening mlp.onnx from the Explorer shows the report and its layers table', async () => {
    frame = await openFromExplorer('mlp.onnx', 'body[data-rendered="true"]');
    assert.equal(await frame.textContent('h1'), 'PruneScope report: mlp.onnx');
    assert.equal(await frame.locator('.fact b').nth(1).textContent(), '50,826');
  });

  await t.test("2. the table has one row per weight layer that `prunescope inspect` lists", async () => {
    const inspect = JSON.parse(runCli(['inspect', path.join(workspace, 'mlp.onnx'), '--json']).stdout) as { layers: Array<{ name: string; kind: string }> };
    const weightLayers = inspect.layers.filter((l) => !['bias', 'norm'].includes(l.kind)).map((l) => l.name);
    assert.ok(weightLayers.length >= 3);
    await frame.click('vscode-tab-header[data-view="layers"]');
    assert.deepEqual(await frame.locator('#layers tbody tr td:first-child').allTextContents(), weightLayers);
  });

  await t.test('3. two selected layers are drawn side by side in Compare', async () => {
    const rows = frame.locator('#layers tbody tr');
    await rows.nth(0).click();
    await rows.nth(1).click({ modifiers: ['Control'] });
    assert.equal(await frame.locator('#layers tbody tr[aria-selected="true"]').count(), 2);
    await frame.click('vscode-tab-header[data-view="compare"]');
    await frame.waitForSelector('#compare-hist-1');
    await frame.waitForFunction(() => Array.from(document.querySelectorAll<HTMLCanvasElement>('#compare canvas')).every((c) => c.width > 0));
    let painted = await paintedPixels(frame, '#compare canvas');
    for (let i = 0; i < 50 && !painted.every((n) => n > 2000); i++) {
      await new Promise((r) => setTimeout(r, 100)); // chart.js draws after it has seen the canvas resize
      painted = await paintedPixels(frame, '#compare canvas');
    }
    assert.equal(painted.length, 4); // curves + histogram per layer
    for (const n of painted) assert.ok(n > 2000, `a comparison chart is blank (${painted})`);
  });

  await t.test('4. Node pruning: the preview shows each layer\'s group status, and Prune & export writes a verified model of those sizes', async () => {
    await frame.click('vscode-tab-header[data-view="prune"]');
    await frame.waitForFunction(() => document.querySelectorAll('#preview tbody tr').length > 0);
    await frame.waitForFunction(() => {
      const m = document.getElementById('method') as HTMLElement & { value: string };
      m.value = 'node';
      return m.value === 'node';
    });
    await frame.evaluate(() => document.getElementById('method')!.dispatchEvent(new Event('change')));
    // 64 → 256 → 128 → 10 at ratio 0.5: the two hidden layers lose half their units; the last feeds the graph output.
    await frame.waitForFunction(() => Array.from(document.querySelectorAll('#preview tbody tr')).some((tr) => tr.children[5]?.textContent === 'refused'));
    const rows = await frame.locator('#preview tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.children[0]!.textContent, tr.children[4]!.textContent, tr.children[5]!.textContent]));
    assert.deepEqual(rows, [
      ['0.weight', '8,192', 'pruned'],
      ['2.weight', '8,192', 'pruned'],
      ['4.weight', '640', 'refused'],
    ]);
    await page.screenshot({ path: path.join(ARTIFACTS, 'prune-node.png') });
    await frame.click('#prune');
    await frame.waitForSelector('#verification', { timeout: 120_000 });
    const line = (await frame.textContent('#verification'))!;
    assert.match(line, /^verified in onnxruntime-node on 32 random inputs \([^)]+\): max \|Δ\| [\d.e+-]+, relative error [\d.e+-]+, cosine [\d.]+, top-1 agreement [\d.]+%$/);
    assert.ok(fs.statSync(exportPath).size > 1000);
    const pruned = openCheckpoint(exportPath);
    assert.deepEqual(Object.fromEntries(pruned.weights.map((w) => [w.name, w.shape.join('x')])), { '0.weight': '128x64', '0.bias': '128', '2.weight': '64x128', '2.bias': '64', '4.weight': '10x64', '4.bias': '10' });
    pruned.close();
    assert.equal(sha256Of(path.join(workspace, 'mlp.onnx')), originalSha, 'the original is untouched, byte for byte');
    await page.locator('.notification-toast', { hasText: 'Open report of pruned model' }).waitFor({ timeout: 10_000 });
    await page.keyboard.press('Escape');
  });

  await t.test('5. screenshots in dark and light themes', async () => {
    await frame.click('vscode-tab-header[data-view="layers"]');
    await new Promise((r) => setTimeout(r, 500));
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-dark.png') });
    // Switch the colour theme as a user would: Command Palette → Preferences: Color Theme.
    await runFromCommandPalette('Preferences: Color Theme');
    await page.keyboard.type('Light Modern');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Light Modern' }).first().click();
    await page.waitForSelector('.monaco-workbench.vs:not(.vs-dark)', { timeout: 20_000 });
    await new Promise((r) => setTimeout(r, 1000)); // the webview redraws its charts with the new colours
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-light.png') });
    for (const f of ['report-dark.png', 'report-light.png']) assert.ok(fs.statSync(path.join(ARTIFACTS, f)).size > 20_000, f);
  });

  await t.test('6. cancelling a long analysis removes its progress and leaves no files behind', async () => {
    const before = fs.readdirSync(workspace).sort();
    // This time through the Explorer's context menu: PruneScope: Analyze Model…
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'slow.onnx' }).click({ button: 'right' });
    const item = page.getByRole('menuitem', { name: 'Analyze Model…' });
    await item.hover();
    await page.keyboard.press('Enter'); // VS Code's menus act on key or mouse-up after their own mouse-down
    const slow = await frameWith('h1:has-text("slow.onnx")', 30_000).catch(async (e) => {
      await page.screenshot({ path: path.join(ARTIFACTS, 'failure.png') });
      const seen = await Promise.all(page.frames().map((f) => f.evaluate(() => document.querySelector('h1')?.textContent ?? null).catch(() => 'detached')));
      throw new Error(`${(e as Error).message}; frames' h1: ${JSON.stringify(seen)}`);
    });
    await slow.waitForFunction(() => /Analysing layer/.test(document.getElementById('status')!.textContent ?? ''), undefined, { timeout: 60_000 }).catch(async (e) => {
      await page.screenshot({ path: path.join(ARTIFACTS, 'failure.png') });
      throw e;
    });
    const toast = page.locator('.notification-toast', { hasText: 'PruneScope: analysing slow.onnx' });
    await toast.waitFor({ timeout: 10_000 });
    await slow.click('#cancel');
    await slow.waitForFunction(() => /cancelled/.test(document.getElementById('status')!.textContent ?? ''), undefined, { timeout: 10_000 });
    await toast.waitFor({ state: 'detached', timeout: 10_000 });
    assert.equal(await slow.locator('body[data-rendered="true"]').count(), 0);
    assert.deepEqual(fs.readdirSync(workspace).sort(), before);
    const leftovers = fs.readdirSync(userDir, { recursive: true }).map(String).filter((f) => f.endsWith('.tmp'));
    assert.deepEqual(leftovers, []);
  });
  await t.test('7. Learn structure retrains the digits MLP with gates in a worker and draws every epoch', async () => {
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'digits.onnx' }).click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Analyze Model…' }).hover();
    await page.keyboard.press('Enter');
    const digits = await frameWith('body[data-rendered="true"] h1:has-text("digits.onnx")', 60_000);
    await digits.click('vscode-tab-header[data-view="prune"]');
    await digits.click('#learn');
    await digits.waitForFunction(() => document.getElementById('learn-status')!.className !== '', undefined, { timeout: 180_000 });
    const status = (await digits.textContent('#learn-status'))!;
    assert.match(status, /^Widths 128-64 → \d+-\d+; accuracy [\d.]+%\. Wrote .*digits\.gated\.onnx$/, status);
    assert.equal(await digits.getAttribute('#chart-widths', 'data-points'), '20');
    assert.equal(await digits.getAttribute('#chart-theta', 'data-points'), '12'); // the θ histogram, drawn when training ends
    // The trained model runs, with the widths the page reported.
    const m = /→ (\d+)-(\d+)/.exec(status)!;
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(trainedPath);
    const y = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', new Float32Array(2 * 64), [2, 64]) });
    assert.deepEqual(y[session.outputNames[0]!]!.dims, [2, 10]);
    assert.ok(Number(m[1]) >= 1 && Number(m[1]) < 128 && Number(m[2]) >= 1 && Number(m[2]) <= 64, status);
  });
});
