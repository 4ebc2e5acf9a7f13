/** Shared by the tests that compare inference on ONNX Runtime with tfjs: random models and the difference measure. */
import * as assert from 'assert';
import type { LayersModel } from '@tensorflow/tfjs';
import type { Analysis } from '../../src/core';
import { buildModel } from '../../src/engine/model';
import { applyLayerWeights, readLayerWeights } from '../../src/engine/weights';
import { values } from './backends';

/** max |a - b| over two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.strictEqual(a.length, b.length, 'sizes differ');
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** A model of `analysis` with random weights and batch-norm statistics far from their initial 0 and 1. */
export function randomModel(analysis: Analysis, seed: number): LayersModel {
  const model = buildModel(analysis, { seed, batchNormEpsilon: 1e-5 });
  const weights = readLayerWeights(model);
  let k = seed;
  for (const [name, tensors] of weights) {
    if (!/_bn$|^bn$/.test(name)) continue;
    // gamma, beta, moving mean, moving variance
    tensors[0].values = values(tensors[0].values.length, ++k).map((v) => 1 + 0.5 * v);
    tensors[1].values = values(tensors[1].values.length, ++k).map((v) => 0.2 * v);
    tensors[2].values = values(tensors[2].values.length, ++k).map((v) => 0.3 * v);
    tensors[3].values = values(tensors[3].values.length, ++k, 1).map((v) => 0.5 + 0.5 * v);
  }
  applyLayerWeights(model, weights);
  return model;
}
