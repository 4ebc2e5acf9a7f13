/**
 * The weights a model starts from (`model.weights` of a spec, or `densenet-lab import`): read, mapped onto the
 * analysis' layers and checked, before any model is changed. Sources: a DenseNet Lab run or checkpoint folder
 * (tfjs layers format, by layer name); a weights file (PyTorch, safetensors, Keras .h5, ONNX; src/interchange);
 * a known pretrained model by name (`torchvision:densenet121`), downloaded once into a cache.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { Analysis } from '../core/analyze';
import { BN_EPSILON } from '../core/analyze';
import type { WeightsOrigin } from '../core/weightsOrigin';
import { locateCheckpoint } from '../runs/checkpointFiles';
import { mapSource, readWeightsFile } from '../interchange/importer';
import { defaultCacheDir, downloadToCache } from '../interchange/download';
import { parsePretrainedName, type PretrainedEntry } from '../interchange/pretrained';
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
  /** Where known pretrained models are downloaded to (default: the user's cache folder). */
  cacheDir?: string;
  /** Cancels a download (the partial file is kept for resuming). */
  signal?: AbortSignal;
  onDownloadProgress?(receivedBytes: number, totalBytes: number | undefined): void;
}

/** Whether `ref` names a known pretrained model (`torchvision:…`, `keras:…`) rather than a path. */
export const isPretrainedName = (ref: string): boolean => /^(torchvision|keras):/i.test(ref);

/** A weights file read and mapped onto the analysis. */
export async function fileWeights(
  ref: string,
  file: string,
  analysis: Analysis,
  options: InitialWeightsOptions,
  pretrained?: PretrainedEntry,
): Promise<InitialWeights> {
  const bytes = await fs.promises.readFile(file);
  const source = await readWeightsFile(bytes, file);
  const mapped = mapSource(source, analysis, options.replaceClassifier !== false);
  const features = analysis.layers.find((l) => l.type === 'GlobalAveragePooling2D')?.outputShape[0] ?? 0;
  return {
    weights: mapped.weights,
    batchNormEpsilon: mapped.batchNormEpsilon,
    replacedClassifier: mapped.replacedClassifier && {
      fileShape: [features, mapped.replacedClassifier.fromClasses],
      modelShape: [features, mapped.replacedClassifier.toClasses],
    },
    origin: {
      ref,
      format: source.format,
      path: file,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      pretrained: pretrained?.name,
      batchNormEpsilon: mapped.batchNormEpsilon,
      replacedClassifierClasses: mapped.replacedClassifier?.fromClasses,
    },
  };
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
  if (isPretrainedName(ref)) {
    const entry = parsePretrainedName(ref);
    const file = await downloadToCache(entry, {
      cacheDir: options.cacheDir ?? defaultCacheDir(),
      signal: options.signal,
      onProgress: options.onDownloadProgress,
    });
    return fileWeights(ref, file, analysis, options, entry);
  }
  const abs = resolveWeightsPath(ref, baseDir);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(abs);
  } catch {
    throw new Error(
      `The weights ${ref} do not exist (looked at ${abs}): give a weights file (.pth, .safetensors, .h5, .onnx), a run folder, or a known name such as torchvision:densenet121`,
    );
  }
  if (stat.isDirectory() || abs.endsWith('.json')) return checkpointWeights(ref, abs, analysis, options);
  return fileWeights(ref, abs, analysis, options);
}
