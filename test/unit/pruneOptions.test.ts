/**
 * The prune options' checks called directly (the CLI tests reach them through a whole process):
 * every refusal's exact message, the boundaries that are accepted, the verification inputs, and
 * the refusal of a prune that removes nothing with its reasons counted and ordered.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError, UserInputError } from '../../src/core/errors.ts';
import { loadVerification, refuseNothingRemoved, validatePruneOptions } from '../../src/core/pruning/pruneOptions.ts';
import type { PruneLayerReport, PruneOptions } from '../../src/core/pruning/types.ts';
import { fixture } from '../helpers.ts';

const refused = (o: PruneOptions, message: string) => assert.throws(() => validatePruneOptions(o), (e: Error) => e instanceof UsageError && e.message === message, message);

test('validatePruneOptions: each refusal, word for word', () => {
  const spectral = { method: 'spectral', ratio: 0.5, randomCalibration: true } as const;
  refused({ method: 'spectral', ratio: 0.5 }, 'spectral pruning needs calibration data: --data calib.npy (or --random-calibration for a data-free, weaker result)');
  refused({ ...spectral, data: 'x.npy' }, 'give --data or --random-calibration, not both');
  refused({ method: 'spectral', budget: 10, randomCalibration: true }, 'spectral pruning takes --ratio, --eps or --plan (not --budget)');
  for (const theta of [-0.01, 1.01, NaN]) refused({ ...spectral, theta }, `--theta must be in [0, 1], not ${theta}`);
  for (const lambdaRel of [0, -1, NaN]) refused({ ...spectral, lambdaRel }, `--lambda-rel must be > 0, not ${lambdaRel}`);
  for (const samples of [0, -3, 2.5, NaN, 2 ** 60]) refused({ ...spectral, samples }, `--samples must be a positive integer, not ${samples}`);
  for (const method of ['singular', 'spectral'] as const) refused({ method, ratio: 0.5, global: true, randomCalibration: true }, '--global is for magnitude and node pruning');
  refused({ method: 'magnitude' }, 'give exactly one of --ratio, --eps, --budget or --plan');
  refused({ method: 'magnitude', ratio: 0.5, eps: 0.1 }, 'give exactly one of --ratio, --eps, --budget or --plan');
  refused({ method: 'magnitude', budget: 10, plan: {} }, 'give exactly one of --ratio, --eps, --budget or --plan');
  for (const budget of [0, -5, 1.5, NaN, 2 ** 60]) refused({ method: 'magnitude', budget }, `--budget must be a positive number of parameters, not ${budget}`);
  for (const ratio of [-0.1, 1, 1.5, NaN]) refused({ method: 'magnitude', ratio }, `--ratio must be in [0, 1), not ${ratio}`);
  for (const eps of [0, -0.1, NaN]) refused({ method: 'magnitude', eps }, `--eps must be > 0, not ${eps}`);
  refused({ method: 'magnitude', ratio: 0.5, sparse: true, centre: 'median' }, '--sparse stores zeros implicitly; it cannot be combined with --center median');
  refused({ method: 'node', eps: 0.1, global: true }, '--global takes --ratio (one threshold for a fraction of all weights)');
});

test('validatePruneOptions: the boundaries inside the ranges are accepted', () => {
  const ok = (o: PruneOptions) => assert.doesNotThrow(() => validatePruneOptions(o), JSON.stringify(o));
  ok({ method: 'magnitude', ratio: 0 });
  ok({ method: 'magnitude', ratio: 0.999 });
  ok({ method: 'singular', eps: 1e-12 });
  ok({ method: 'node', budget: 1 });
  ok({ method: 'magnitude', plan: { layers: [] } });
  ok({ method: 'magnitude', ratio: 0.5, global: true });
  ok({ method: 'node', ratio: 0.5, global: true });
  ok({ method: 'magnitude', ratio: 0.5, sparse: true, centre: 'none' });
  ok({ method: 'magnitude', ratio: 0.5, centre: 'median' });
  for (const theta of [0, 1]) ok({ method: 'spectral', ratio: 0.5, randomCalibration: true, theta, lambdaRel: 1e-9, samples: 1 });
  ok({ method: 'spectral', eps: 0.1, data: 'calib.npy' });
  // The spectral checks apply to the spectral method only: the same values pass elsewhere.
  ok({ method: 'magnitude', ratio: 0.5, theta: 7, lambdaRel: -1, samples: 0 });
});

test('loadVerification: nothing asked gives null, --verify alone {}, --labels needs --data, files are read up front', () => {
  assert.equal(loadVerification({ method: 'magnitude', ratio: 0.5 }), null);
  assert.deepEqual(loadVerification({ method: 'magnitude', ratio: 0.5, verify: true }), {});
  assert.throws(() => loadVerification({ method: 'magnitude', ratio: 0.5, labels: 'y.npy' }), (e: Error) => e instanceof UsageError && e.message === '--labels needs --data');
  const data = fixture('mnist', 'mnist_test_x.npy');
  const labels = fixture('mnist', 'mnist_test_y.npy');
  const withData = loadVerification({ method: 'magnitude', ratio: 0.5, data });
  assert.ok(withData?.data && !withData.labels);
  const both = loadVerification({ method: 'magnitude', ratio: 0.5, data, labels });
  assert.equal(both?.labels?.file, labels);
  assert.equal(both?.labels?.values.length, both?.data?.shape[0]);
  assert.throws(() => loadVerification({ method: 'magnitude', ratio: 0.5, data: fixture('mnist', 'missing.npy') }), UserInputError);
});

const layer = (name: string, over: Partial<PruneLayerReport>): PruneLayerReport => ({ name, method: 'node', ratio: 0, paramsBefore: 10, paramsAfter: 10, relErr: null, skipped: false, ...over });

test('refuseNothingRemoved: passes when one layer lost something, else names the most common reasons', () => {
  const o: PruneOptions = { method: 'node', ratio: 0.5 };
  // Something removed: a layer with fewer parameters, or a non-zero ratio (magnitude keeps the count).
  refuseNothingRemoved(o, [layer('a', { reason: 'x' }), layer('b', { paramsAfter: 9 })]);
  refuseNothingRemoved(o, [layer('a', { ratio: 0.25 })]);
  const message = (layers: PruneLayerReport[], notes?: string[]) => {
    try {
      refuseNothingRemoved(o, layers, notes);
    } catch (e) {
      assert.ok(e instanceof UserInputError);
      return (e as Error).message;
    }
    assert.fail('not refused');
  };
  // Skipped layers count as removing nothing, whatever their numbers say.
  assert.equal(message([layer('s', { skipped: true, ratio: 0.5, paramsAfter: 1, reason: 'skipped by the plan' })]), 'node pruning would remove nothing, so nothing was written (1 layer: skipped by the plan)');
  const layers = [
    layer('a', { reason: 'own outputs kept: it reaches the graph output' }),
    layer('b', { reason: 'group 3: it reaches the graph output' }),
    layer('c', { reason: 'group 12: it reaches the graph output' }),
    layer('d', {}), // no reason, ratio 0
    layer('e', { ratio: 0, reason: 'a Flatten follows' }),
    layer('f', { reason: 'a Flatten follows' }),
    layer('g', { reason: 'rare' }),
  ];
  assert.equal(message(layers), 'node pruning would remove nothing, so nothing was written (3 layers: it reaches the graph output; 2 layers: a Flatten follows; 1 layer: its ratio rounds to zero units)');
  assert.equal(message([]), 'node pruning would remove nothing, so nothing was written (no weight layers)');
  const dims = 'dynamic input dims chosen: x: [batch, 3] → [1, 3] (set them with --input-shape)';
  assert.equal(message([layer('d', {})], ['other note', dims]), `node pruning would remove nothing, so nothing was written (1 layer: its ratio rounds to zero units); ${dims}`);
  // A layer that removed nothing with a non-zero ratio but no reason (not possible today) says so.
  assert.equal(message([layer('x', { ratio: 0.3, skipped: true })]), 'node pruning would remove nothing, so nothing was written (1 layer: nothing to remove)');
});
