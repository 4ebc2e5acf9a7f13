/**
 * The weights a model starts from (`model.weights` of a spec, or `densenet-lab import`): read, mapped onto the
 * analysis' layers and checked, before any model is changed. Sources: a DenseNet Lab run or checkpoint folder
 * (tfjs layers format, by layer name).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Analysis } from '../core/analyze';
import { BN_EPSILON } from '../core/analyze';
import type { WeightsOrigin } from '../core/weightsOrigin';
import { locateCheckpoint } from '../runs/checkpointFiles';
import { shapeText, type LayerWeights } from '../interchange/tensors';
import { loadCheckpointModel } from './checkpoint';
import { readLayerWeights } from './weights';

export interface InitialWeights {
  /** Per layer of the analysis, tfjs layout; without `predictions` when the classifier is replaced. */
  weights: LayerWeights;
  batchNormEpsilon: number;
  origin: WeightsOrigin;
  /** Set when the weights' classifier did not fit the spec's classes: the model keeps its new one. */
  replacedClassifier?: { fileShape: number[]; modelShape: number[] };
}

export interface InitialWeightsOptions {
  /** Leave a classifier of another class count out (fine-tuning) instead of failing. Default true. */
  replaceClassifier?: boolean;
}

/** Resolves `ref` (a path relative to `baseDir`) to an absolute path. */
export function resolveWeightsPath(ref: string, baseDir: string): string {
  return path.resolve(baseDir, ref);
}

/**
 * A checkpoint's weights by layer name, checked against the analysis: same layers, same shapes (the classifier
 * may differ when `replaceClassifier`).
 */
export async function checkpointWeights(
  ref: string,
  dir: string,
  analysis: Analysis,
  options: InitialWeightsOptions,
): Promise<InitialWeights> {
  const { modelPath } = locateCheckpoint(dir);
  const model = await loadCheckpointModel(modelPath);
  try {
    const weights = readLayerWeights(model);
    const bn = model.layers.find((l) => l.getClassName() === 'BatchNormalization');
    const batchNormEpsilon = bn ? Number(bn.getConfig().epsilon) : BN_EPSILON;
    let replacedClassifier: InitialWeights['replacedClassifier'];
    const wanted = new Map(analysis.layers.map((l) => [l.name, l]));
    for (const name of weights.keys())
      if (!wanted.has(name)) throw new Error(`The checkpoint has a layer ${name} that the spec's model does not`);
    const head = weights.get('predictions');
    const features = head?.[0].shape[0];
    const classes = head?.[0].shape[1];
    if (head && classes !== analysis.classes) {
      if (options.replaceClassifier === false)
        throw new Error(
          `Layer predictions: the checkpoint has ${shapeText(head[0].shape)}, the model needs ${shapeText([features ?? 0, analysis.classes])}`,
        );
      replacedClassifier = { fileShape: head[0].shape, modelShape: [features ?? 0, analysis.classes] };
      weights.delete('predictions');
    }
    return {
      weights,
      batchNormEpsilon,
      replacedClassifier,
      origin: {
        ref,
        format: 'tfjs',
        path: modelPath,
        batchNormEpsilon,
        replacedClassifierClasses: replacedClassifier ? classes : undefined,
      },
    };
  } finally {
    model.dispose();
  }
}

/**
 * The weights `ref` names, for the analysis. `ref` is a run or checkpoint folder (or its model.json), relative
 * to `baseDir`. Throws with what to change when it cannot be read or does not fit.
 */
export async function loadInitialWeights(
  ref: string,
  baseDir: string,
  analysis: Analysis,
  options: InitialWeightsOptions = {},
): Promise<InitialWeights> {
  const abs = resolveWeightsPath(ref, baseDir);
  if (!fs.existsSync(abs))
    throw new Error(`model.weights: ${ref} does not exist (looked at ${abs}); give a weights file or a run folder`);
  return checkpointWeights(ref, abs, analysis, options);
}
