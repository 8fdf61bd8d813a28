import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { defaultExportPath, exportPathIn, refuseExportTarget } from '../../src/extension/exportPath.ts';
import { tempDir } from '../helpers.ts';

const tmp = tempDir();
after(tmp.cleanup);

test('default export paths sit next to the original and never equal it', () => {
  assert.equal(defaultExportPath('/w/models/net.onnx', 'onnx', 'pruned-node'), '/w/models/net.pruned-node.onnx');
  assert.equal(defaultExportPath('/w/m.safetensors', 'safetensors', 'pruned-magnitude'), '/w/m.pruned-magnitude.safetensors');
  assert.equal(defaultExportPath('/w/cnn/model.json', 'tfjs-layers', 'gated'), '/w/cnn-gated/model.json');
  assert.equal(exportPathIn('/out', '/w/models/net.pruned-node.onnx', 'onnx'), '/out/net.pruned-node.onnx');
  assert.equal(exportPathIn('/out', '/w/cnn-gated/model.json', 'tfjs-layers'), '/out/cnn-gated/model.json');
});

test('the original, a symlink to it, a TF.js model\'s own folder and a wrong extension are refused', () => {
  const model = path.join(tmp.dir, 'a.onnx');
  fs.writeFileSync(model, 'x');
  fs.symlinkSync(model, path.join(tmp.dir, 'link.onnx'));
  assert.match(refuseExportTarget(model, model, 'onnx')!, /never written over the original/);
  assert.match(refuseExportTarget(model, path.join(tmp.dir, 'link.onnx'), 'onnx')!, /never written over the original/);
  assert.match(refuseExportTarget(model, path.join(tmp.dir, 'b.onx'), 'onnx')!, /must be a \.onnx file/);
  assert.equal(refuseExportTarget(model, path.join(tmp.dir, 'b.onnx'), 'onnx'), null);
  const tfjs = path.join(tmp.dir, 'model.json');
  assert.match(refuseExportTarget(tfjs, path.join(tmp.dir, 'other.json'), 'tfjs-layers')!, /folder other than the original's/);
  assert.equal(refuseExportTarget(tfjs, path.join(tmp.dir, 'out', 'model.json'), 'tfjs-layers'), null);
});
