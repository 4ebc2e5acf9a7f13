/**
 * The weights a model starts from (`model.weights` of a spec, or `densenet-lab import`): read, mapped onto the
 * analysis' layers and checked, before any model is changed. Sources: a DenseNet Lab run or checkpoint folder,
 * or any TensorFlow.js layers model (by its weights' Keras names); a weights file (PyTorch, safetensors, Keras .h5, ONNX; src/interchange);
 * a known pretrained model by name (`torchvision:densenet121`), downloaded once into a cache.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { Analysis } from '../core/analyze';
import type { WeightsOrigin } from '../core/weightsOrigin';
import { mapSource, readWeightsFile, type SourceWeights } from '../interchange/importer';
import { defaultCacheDir, downloadToCache } from '../interchange/download';
import { IMAGENET_PREPROCESSING, parsePretrainedName, type PretrainedEntry } from '../interchange/pretrained';
import { looksPretrained } from '../core/pretrainedNames';
import type { LayerWeights } from '../interchange/tensors';
import { locateCheckpoint } from '../runs/checkpointFiles';
import { readPreprocessing } from '../runs/preprocessing';
import { tfjsModelJson, tfjsSource } from './tfjsWeights';

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

let weightsCacheDir: string | undefined;

/** Where this process downloads known pretrained models (the engine of VS Code: its global storage). */
export function setWeightsCacheDir(dir: string): void {
  weightsCacheDir = dir;
}

/** The download cache of known pretrained models: the one set for this process, else the user's cache folder. */
export const currentWeightsCacheDir = (): string => weightsCacheDir ?? defaultCacheDir();

/** Weights read from a file or a tfjs layers model, with where they came from. */
export interface ReadSource {
  source: SourceWeights;
  /** The file read: `file`, or the model.json of a tfjs model folder. */
  path: string;
  /** Of the file's bytes; undefined for a tfjs model (several files). */
  sha256?: string;
}

/**
 * The weights at `file`: a tfjs layers model (a folder or its model.json), else a weights file recognised by its
 * bytes. Throws with what to give when `file` does not exist.
 */
export async function readWeightsSource(ref: string, file: string): Promise<ReadSource> {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new Error(
      `${ref} does not exist (${file}): give a weights file (.pth, .safetensors, .h5, .onnx), a TensorFlow.js model.json or a known name such as torchvision:densenet121`,
    );
  }
  if (stat.isDirectory() || file.endsWith('.json')) {
    const modelJson = tfjsModelJson(file);
    return { source: tfjsSource(modelJson), path: modelJson };
  }
  const bytes = await fs.promises.readFile(file);
  return {
    source: await readWeightsFile(bytes, file),
    path: file,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

/** The weights at `file` (a weights file, a tfjs layers model or a run folder) mapped onto the analysis. */
export async function sourceWeights(
  ref: string,
  file: string,
  analysis: Analysis,
  options: InitialWeightsOptions,
  pretrained?: PretrainedEntry,
): Promise<InitialWeights> {
  const { source, sha256, path: origin } = await readWeightsSource(ref, file);
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
      path: origin,
      sha256,
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
 * The weights `ref` names, for the analysis: a known pretrained name, or a weights file, a run or checkpoint
 * folder or a tfjs model.json, relative to `baseDir`. Throws with what to change when it cannot be read or does not fit.
 */
export async function loadInitialWeights(
  ref: string,
  baseDir: string,
  analysis: Analysis,
  options: InitialWeightsOptions = {},
): Promise<InitialWeights> {
  if (looksPretrained(ref)) {
    const entry = parsePretrainedName(ref);
    const file = await downloadToCache(entry, {
      cacheDir: options.cacheDir ?? currentWeightsCacheDir(),
      signal: options.signal,
      onProgress: options.onDownloadProgress,
    });
    return sourceWeights(ref, file, analysis, options, entry);
  }
  const abs = resolveWeightsPath(ref, baseDir);
  if (!fs.existsSync(abs)) {
    throw new Error(
      `The weights ${ref} do not exist (looked at ${abs}): give a weights file (.pth, .safetensors, .h5, .onnx), a run folder, or a known name such as torchvision:densenet121`,
    );
  }
  return sourceWeights(ref, abs, analysis, options);
}

/** ImageNet's normalisation, which torchvision's and Keras' DenseNets (Keras "torch" mode) both expect. */
export const IMAGENET_NORMALIZATION = {
  mean: [...IMAGENET_PREPROCESSING.mean],
  std: [...IMAGENET_PREPROCESSING.std],
};

/**
 * The normalisation the weights `ref` expect of their inputs: a DenseNet Lab run's own (its preprocessing.json),
 * else ImageNet's for RGB weights from outside (torchvision, Keras, timm, ONNX exports of them); undefined when
 * unknown (a grayscale model from outside, or a checkpoint without its run folder).
 */
export function weightsNormalization(
  ref: string,
  baseDir: string,
  channels: number,
): { mean: number[]; std: number[] } | null | undefined {
  if (looksPretrained(ref)) return IMAGENET_NORMALIZATION;
  const abs = resolveWeightsPath(ref, baseDir);
  let isFolder: boolean;
  try {
    isFolder = fs.statSync(abs).isDirectory() || abs.endsWith('.json');
  } catch {
    return undefined;
  }
  if (isFolder) {
    try {
      return readPreprocessing(locateCheckpoint(abs).runDir).normalization;
    } catch {
      return undefined;
    }
  }
  return channels === 3 ? IMAGENET_NORMALIZATION : undefined;
}
