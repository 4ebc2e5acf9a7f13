/**
 * The engine process's side of inspection requests: loads checkpoints (cached, with their run's
 * preprocessing) and runs the inference API of this folder on image files, one method per request of the
 * contract (src/protocol/engine.ts), each with its own result type.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { LayersModel } from '@tensorflow/tfjs';
import type { InspectionRequests } from '../../protocol/engine';
import type { HandlerContext } from '../../protocol/rpc';
import {
  activationMaximisation,
  featureLayers,
  gradCam,
  layerActivations,
  loadImageInput,
  predictTopK,
  releaseInspection,
  saliency,
} from '.';
import { validateBuildable } from '../../core';
import { nodeFileProbe } from '../../core/nodeFs';
import { CLASSIFIER_LAYER } from '../../core/freeze';
import { loadInitialWeights } from '../initialWeights';
import { buildModel } from '../model';
import { applyLayerWeights } from '../weights';
import { locateCheckpoint } from '../../runs/checkpointFiles';
import { readPreprocessing, type Preprocessing } from '../../runs/preprocessing';
import { loadCheckpointModel } from '../checkpoint';

interface Loaded {
  model: LayersModel;
  pre: Preprocessing;
  modelPath: string;
}

/**
 * The model of a spec before training: its `model.weights` when it names some (a pretrained model, its
 * classifier new when the classes differ), else random weights (seed 0): what the architecture does before
 * training. Class names come from the training folder's class folders when there are some, else they are the
 * indices.
 */
async function untrainedModel(specPath: string): Promise<Loaded> {
  const v = validateBuildable(fs.readFileSync(specPath, 'utf8'), {
    specPath,
    fs: nodeFileProbe,
    maxTrainingMemoryBytes: Infinity,
    file: path.basename(specPath),
    purpose: 'to inspect its untrained model',
  });
  const train = (v.parsed.value as { data?: { train?: unknown } }).data?.train;
  const folder = typeof train === 'string' ? path.resolve(path.dirname(specPath), train) : undefined;
  const dirs = folder ? nodeFileProbe.directories(folder).sort() : [];
  const classNames =
    dirs.length === v.resolved.classes ? dirs : Array.from({ length: v.resolved.classes }, (_, i) => String(i));
  const weights = v.resolved.weights
    ? await loadInitialWeights(v.resolved.weights, path.dirname(specPath), v.analysis)
    : undefined;
  const model = buildModel(v.analysis, { seed: 0, batchNormEpsilon: weights?.batchNormEpsilon });
  try {
    if (weights)
      applyLayerWeights(model, weights.weights, { keep: weights.replacedClassifier ? [CLASSIFIER_LAYER] : [] });
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, pre: { input: v.resolved.input, classNames, normalization: null }, modelPath: specPath };
}

/** `checkpoint`: a run folder, a checkpoint folder, a model.json, or a spec (*.densenet.json: its untrained model). */
export async function loadForInspection(checkpoint: string): Promise<Loaded> {
  if (checkpoint.endsWith('.densenet.json')) return await untrainedModel(path.resolve(checkpoint));
  const { modelPath, runDir } = locateCheckpoint(checkpoint);
  return { model: await loadCheckpointModel(modelPath), pre: readPreprocessing(runDir), modelPath };
}

type Params<K extends keyof InspectionRequests> = InspectionRequests[K]['params'];
type Result<K extends keyof InspectionRequests> = Promise<InspectionRequests[K]['result']>;

/** One checkpoint loaded at a time (the panel inspects one), reloaded when its file changes. */
export class InspectionService {
  private loaded: (Loaded & { key: string; mtime: number }) | undefined;

  /** The model of `checkpoint`, reloaded when another checkpoint is asked for or the file changed. */
  private async load(checkpoint: string): Promise<Loaded> {
    const modelPath = checkpoint.endsWith('.densenet.json')
      ? path.resolve(checkpoint)
      : locateCheckpoint(checkpoint).modelPath;
    const json = modelPath.endsWith('.json') ? modelPath : path.join(modelPath, 'model.json');
    const mtime = fs.statSync(json).mtimeMs;
    if (this.loaded && this.loaded.key === modelPath && this.loaded.mtime === mtime) return this.loaded;
    this.release();
    this.loaded = { ...(await loadForInspection(checkpoint)), key: modelPath, mtime };
    return this.loaded;
  }

  /** The model and one image file decoded as it takes it. */
  private async loadWithImage(p: { checkpoint: string; image: string }) {
    const loaded = await this.load(p.checkpoint);
    return { ...loaded, image: await loadImageInput(p.image, loaded.pre) };
  }

  release(): void {
    if (!this.loaded) return;
    releaseInspection(this.loaded.model);
    this.loaded.model.dispose();
    this.loaded = undefined;
  }

  async describe(p: Params<'describe'>): Result<'describe'> {
    const { model, pre, modelPath } = await this.load(p.checkpoint);
    return { modelPath, input: pre.input, classNames: pre.classNames, layers: featureLayers(model) };
  }

  async predict(p: Params<'predict'>): Result<'predict'> {
    const { model, pre, image } = await this.loadWithImage(p);
    return { image, predictions: predictTopK(model, image.input, pre, p.k ?? 5) };
  }

  async activations(p: Params<'activations'>): Result<'activations'> {
    const { model, image } = await this.loadWithImage(p);
    return layerActivations(model, image.input, p.layers);
  }

  async gradcam(p: Params<'gradcam'>): Result<'gradcam'> {
    const { model, pre, image } = await this.loadWithImage(p);
    return gradCam(model, image.input, pre, { layerName: p.layerName, classIndex: p.classIndex });
  }

  async saliency(p: Params<'saliency'>): Result<'saliency'> {
    const { model, pre, image } = await this.loadWithImage(p);
    return saliency(model, image.input, pre, { classIndex: p.classIndex, samples: p.samples });
  }

  /** Progress goes to `context.progress`; aborting `context.signal` stops it at its next step. */
  async maximise(
    p: Params<'maximise'>,
    context: HandlerContext<InspectionRequests['maximise']['progress']>,
  ): Result<'maximise'> {
    const { model, pre } = await this.load(p.checkpoint);
    return activationMaximisation(model, pre, p.target, {
      steps: p.steps,
      seed: p.seed,
      onProgress: (step, value, image) => context.progress({ step, value, image }),
      shouldCancel: () => context.signal.aborted,
    });
  }
}
