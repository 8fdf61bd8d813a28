/**
 * End to end, in a real VS Code: code-server runs PruneScope's built extension, headless Chromium
 * (playwright-core) opens a model file, and the report must render inside the extension's webview.
 * code-server comes from test/e2e/setup-code-server.sh (run by .ci/run).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';
import { ROOT, tempDir } from '../helpers.ts';

const CODE_SERVER = path.join(ROOT, '.e2e', 'code-server', 'node_modules', '.bin', 'code-server');
const tmp = tempDir();
let server: ChildProcess | undefined;
let url = '';
let browser: Browser | undefined;

before(async () => {
  if (!fs.existsSync(CODE_SERVER)) return;
  const ext = path.join(tmp.dir, 'extensions');
  const workspace = path.join(tmp.dir, 'workspace');
  fs.mkdirSync(ext, { recursive: true });
  fs.mkdirSync(workspace, { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'examples', 'mlp.onnx'), path.join(workspace, 'mlp.onnx'));
  // Register the repository itself as an installed extension (as a VSIX install would).
  const { publisher, name, version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const folder = `${publisher}.${name}-${version}`;
  fs.symlinkSync(ROOT, path.join(ext, folder));
  fs.writeFileSync(
    path.join(ext, 'extensions.json'),
    JSON.stringify([{ identifier: { id: `${publisher}.${name}` }, version, location: { $mid: 1, path: path.join(ext, folder), scheme: 'file' }, relativeLocation: folder, metadata: { installedTimestamp: Date.now(), source: 'vsix' } }]),
  );
  server = spawn(CODE_SERVER, ['--auth', 'none', '--bind-addr', '127.0.0.1:0', '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--user-data-dir', path.join(tmp.dir, 'user'), '--extensions-dir', ext, workspace], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
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
});

after(async () => {
  await browser?.close();
  if (server?.pid) process.kill(-server.pid, 'SIGTERM'); // the whole process group
  tmp.cleanup();
});

async function reportFrame(page: Page, timeoutMs: number): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const f of page.frames()) {
      if (await f.$('body[data-rendered="true"]').catch(() => null)) return f;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('the PruneScope report did not render in any webview frame');
}

test('opening mlp.onnx in VS Code shows the PruneScope report with its charts and layer table', async (t) => {
  if (!fs.existsSync(CODE_SERVER)) return t.skip('code-server is not installed (bash test/e2e/setup-code-server.sh)');
  const page = await browser!.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${url}/?folder=${encodeURIComponent(path.join(tmp.dir, 'workspace'))}`);
  await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
  // Open the model from the Explorer, as a user would. Right after start-up the extension may not be
  // registered yet and VS Code falls back to its text editor: then close that editor and reopen.
  const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'mlp.onnx' });
  await row.waitFor({ state: 'visible', timeout: 60_000 });
  let frame: Frame | undefined;
  for (let attempt = 0; attempt < 3 && !frame; attempt++) {
    await row.dblclick();
    frame = await reportFrame(page, attempt < 2 ? 15_000 : 90_000).catch(async () => {
      await page.keyboard.press('Control+W');
      return undefined;
    });
  }
  if (!frame) {
    await page.screenshot({ path: path.join(ROOT, '.e2e', 'failure.png') }); // for whoever debugs this
    assert.fail('the PruneScope report did not render (screenshot: .e2e/failure.png)');
  }
  const seen = await frame!.evaluate(() => ({
    title: document.querySelector('h1')?.textContent,
    rows: Array.from(document.querySelectorAll('#layers tbody tr')).map((tr) => tr.firstElementChild!.textContent),
    charts: Array.from(document.querySelectorAll('canvas')).map((c) => Number(c.dataset['datasets'] ?? 0) > 0),
    params: document.querySelector('.fact b')?.textContent,
  }));
  assert.deepEqual(seen, { title: 'PruneScope report: mlp.onnx', rows: ['0.weight', '2.weight', '4.weight'], charts: [true, true, true, true], params: '50,826' });
  if (process.env['PRUNESCOPE_SCREENSHOT_E2E']) await page.screenshot({ path: process.env['PRUNESCOPE_SCREENSHOT_E2E'] });
});
