import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { validateBuildable } from '../../src/core';
import { nodeFileProbe } from '../../src/core/nodeFs';
import { PYTHON, requirePython } from '../support/pythonReference';

const root = path.resolve(__dirname, '../../..');

/** The engine's parameter count of a spec (weights and batch-norm moving statistics). */
function engineParams(specPath: string): number {
  const v = validateBuildable(fs.readFileSync(specPath, 'utf8'), {
    specPath,
    fs: nodeFileProbe,
    maxTrainingMemoryBytes: Infinity,
    file: path.basename(specPath),
    purpose: 'in the test',
  });
  return v.analysis.totals.params;
}

/** bench/torch_mnist.py's parameter count of the PyTorch model it builds from a spec. */
function torchParams(specPath: string): number {
  const out = execFileSync(PYTHON, [path.join(root, 'bench/torch_mnist.py'), '--params', '--spec', specPath], {
    encoding: 'utf8',
  });
  return (JSON.parse(out) as { params: number }).params;
}

// The mnist-epoch and frozen-head rows of `npm run bench` compare the engine with bench/torch_mnist.py: the same
// model, layer for layer, so the same parameter count as the engine's analysis.
describe('bench/torch_mnist.py model', function () {
  this.timeout(120_000);
  before(function () {
    requirePython(this, ['torch', 'torchvision']);
  });

  for (const spec of ['examples/mnist/mnist.densenet.json', 'examples/transfer/base.densenet.json'])
    it(`has the engine's parameter count for ${spec}`, () => {
      const specPath = path.join(root, spec);
      const expected = engineParams(specPath);
      assert.ok(expected > 50_000, `${expected}`);
      assert.strictEqual(torchParams(specPath), expected);
    });
});
