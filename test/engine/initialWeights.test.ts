import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { IMAGENET_NORMALIZATION, weightsNormalization } from '../../src/engine/initialWeights';
import { checkpointDir, MODEL_JSON } from '../../src/runs/checkpointFiles';
import { PREPROCESSING_JSON } from '../../src/runs/preprocessing';
import { RUN_JSON } from '../../src/runs/runFolder';
import { tempFolders } from '../support/tempFolders';

describe('the normalisation weights expect (a new run from model.weights uses it unless data.normalize is set)', () => {
  const temp = tempFolders('densenet-weights-norm-');
  after(() => temp.removeAll());

  it("is ImageNet's for known pretrained models and RGB weight files from outside", () => {
    const dir = temp.make();
    fs.writeFileSync(path.join(dir, 'w.pth'), 'x');
    assert.deepStrictEqual(weightsNormalization('torchvision:densenet121', dir, 3), IMAGENET_NORMALIZATION);
    assert.deepStrictEqual(weightsNormalization('w.pth', dir, 3), IMAGENET_NORMALIZATION);
    assert.strictEqual(weightsNormalization('w.pth', dir, 1), undefined, 'a grayscale model from outside: unknown');
    assert.strictEqual(weightsNormalization('missing.pth', dir, 3), undefined);
  });

  it("is a DenseNet Lab run's own, from its preprocessing.json", () => {
    const run = temp.make();
    fs.writeFileSync(path.join(run, RUN_JSON), '{}');
    const normalization = { mean: [0.13], std: [0.31] };
    fs.writeFileSync(
      path.join(run, PREPROCESSING_JSON),
      JSON.stringify({ input: { height: 28, width: 28, channels: 1 }, classNames: ['a', 'b'], normalization }),
    );
    fs.mkdirSync(checkpointDir(run, 'best'), { recursive: true });
    fs.writeFileSync(path.join(checkpointDir(run, 'best'), MODEL_JSON), '{}');
    fs.writeFileSync(path.join(checkpointDir(run, 'best'), 'weights.bin'), '');
    assert.deepStrictEqual(weightsNormalization(run, '/', 1), normalization);
  });
});
