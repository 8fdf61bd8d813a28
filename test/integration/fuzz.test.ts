/**
 * A short seeded fuzz campaign (test/fuzz/): mutants of every committed fixture through inspect,
 * analyze and prune (magnitude; node for ONNX). Any internal error, hang over 5 s, crash, multi-line message or leftover
 * temp file fails the test and is listed. `npm run fuzz -- --count 5000` runs a long campaign.
 */
import assert from 'node:assert/strict';
import * as os from 'node:os';
import { test } from 'node:test';
import { runCampaign } from '../fuzz/campaign.ts';

test('fuzz: 1,500 seeded mutants give only successes and clean one-line input errors', async () => {
  const r = await runCampaign({ seed: 12, count: 1500, timeoutMs: 5000, workers: os.availableParallelism() });
  const listed = r.findings.map((f) => `${f.verdict} in ${f.command} on mutant ${f.mutant} of ${f.seed} (${f.how}): ${f.detail}`);
  assert.deepEqual(listed, []);
  // inspect, analyze and magnitude pruning of every mutant; node pruning too for the ONNX ones.
  assert.equal(r.commands, 5500); // 1,000 of the 1,500 mutants are ONNX
  // The campaign reaches every stage: some mutants still open and prune, most are refused cleanly.
  assert.ok(r.verdicts.ok > 1000 && r.verdicts['input-error'] > 1000, JSON.stringify(r.verdicts));
});

test('fuzz harness self-check: a command that does not answer within the limit is reported as a hang', async () => {
  // The pause hook makes every prune that gets as far as opening its output wait for 60 s.
  const r = await runCampaign({ seed: 12, count: 6, timeoutMs: 1500, workers: 2, env: { PRUNESCOPE_TEST_PAUSE: 'opened' } });
  assert.ok(r.verdicts.hang >= 1, JSON.stringify(r.verdicts));
  assert.ok(r.findings.every((f) => f.verdict === 'hang' && f.command === 'prune'));
});
