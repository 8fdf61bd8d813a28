import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import type { AnalysisReport } from '../../src/core/report/report.ts';
import { ReportCache } from '../../src/extension/reportCache.ts';
import { tempDir } from '../helpers.ts';

const tmp = tempDir();
after(tmp.cleanup);
const fake = (tag: string) => ({ schemaVersion: '1.1.0', tag }) as unknown as AnalysisReport;

test('reports are cached by content and settings, on disk across instances', async () => {
  const a = path.join(tmp.dir, 'a.onnx');
  const copy = path.join(tmp.dir, 'copy.onnx');
  fs.writeFileSync(a, 'model bytes');
  fs.writeFileSync(copy, 'model bytes');
  const store = path.join(tmp.dir, 'store');
  const cache = new ReportCache(store);
  const first = await cache.get(a, { eps: 0.1 });
  assert.equal(first.report, undefined);
  assert.equal(first.sha256, createHash('sha256').update('model bytes').digest('hex')); // handed to the analysis as model.sha256
  await cache.set(first.key, fake('a'));
  assert.deepEqual((await cache.get(copy, { eps: 0.1 })).report, fake('a')); // same content, other path
  assert.equal((await cache.get(a, { eps: 0.2 })).report, undefined); // other settings
  assert.deepEqual((await new ReportCache(store).get(a, { eps: 0.1 })).report, fake('a')); // from disk
  assert.deepEqual(fs.readdirSync(store).filter((f) => f.endsWith('.tmp')), []);
  fs.writeFileSync(a, 'other bytes!');
  fs.utimesSync(a, new Date(), new Date(Date.now() + 5000));
  const changed = await cache.get(a, { eps: 0.1 });
  assert.equal(changed.report, undefined); // changed content
  await cache.set(changed.key, fake('a2'));
  // An edit of the same size: only the modification time (and the bytes) tell.
  fs.writeFileSync(a, 'other bytes?');
  fs.utimesSync(a, new Date(), new Date(Date.now() + 10000));
  const sameSize = await cache.get(a, { eps: 0.1 });
  assert.equal(sameSize.report, undefined);
  assert.equal(sameSize.sha256, createHash('sha256').update('other bytes?').digest('hex'));
});

test("a model.json's key changes when a weight shard next to it changes", async () => {
  const dir = path.join(tmp.dir, 'tfjs');
  fs.mkdirSync(dir);
  const json = path.join(dir, 'model.json');
  fs.writeFileSync(json, '{}');
  fs.writeFileSync(path.join(dir, 'group1-shard1of1.bin'), 'abcd');
  const cache = new ReportCache(undefined);
  const first = await cache.get(json, {});
  fs.writeFileSync(path.join(dir, 'group1-shard1of1.bin'), 'abcdef');
  const second = await cache.get(json, {});
  assert.notEqual(second.key, first.key);
  assert.equal(second.sha256, first.sha256); // model.json itself did not change
  fs.writeFileSync(path.join(dir, 'group1-shard1of1.bin'), 'abcdeg'); // same size, later time
  fs.utimesSync(path.join(dir, 'group1-shard1of1.bin'), new Date(), new Date(Date.now() + 10000));
  const third = await cache.get(json, {});
  assert.notEqual(third.key, second.key);
});
