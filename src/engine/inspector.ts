/**
 * The engine process's side of inspection requests: loads checkpoints (cached, with their run's
 * preprocessing) and runs the inference API of inspect.ts on image files.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { LayersModel } from '@tensorflow/tfjs';
import type { InspectProgress, InspectRequest } from '../protocol/engine';
import {
  activationMaximisation,
  featureLayers,
  gradCam,
  layerActivations,
  loadImageInput,
  predictTopK,
  releaseInspection,
  saliency,
} from './inspect';
import { validateSpec } from '../core';
import { nodeFileProbe } from '../core/nodeFs';
import { buildModel } from './model';
import { checkpointDir, loadCheckpointModel, resolveCheckpointDir } from './runs/checkpoint';
import { PREPROCESSING_JSON, type Preprocessing } from './training/preprocessing';

interface Loaded {
  model: LayersModel;
  pre: Preprocessing;
  modelPath: string;
}

/** A run folder (its best checkpoint, else latest), a checkpoint folder, or a model.json. */
export function locateCheckpoint(arg: string): { modelPath: string; runDir: string } {
  const abs = path.resolve(arg);
  if (fs.existsSync(path.join(abs, 'run.json'))) {
    const dir = resolveCheckpointDir(checkpointDir(abs, 'best')) ?? resolveCheckpointDir(checkpointDir(abs, 'latest'));
    if (!dir) throw new Error(`${arg} has no checkpoint yet: train it for an epoch first`);
    return { modelPath: dir, runDir: abs };
  }
  const dir = abs.endsWith('.json') ? path.dirname(abs) : abs;
  const found = resolveCheckpointDir(dir);
  if (!found)
    throw new Error(
      `No checkpoint at ${arg}: give a run folder, a checkpoint folder (…/checkpoints/best) or its model.json`,
    );
  return { modelPath: abs.endsWith('.json') ? abs : found, runDir: path.resolve(dir, '..', '..') };
}

export function readPreprocessing(runDir: string): Preprocessing {
  const file = path.join(runDir, PREPROCESSING_JSON);
  if (!fs.existsSync(file))
    throw new Error(`${file} is missing: a run folder records the input size, class names and normalisation there`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Preprocessing;
}

/**
 * An untrained model of a spec (random weights, seed 0): what the architecture does before training. Class
 * names come from the training folder's class folders when there are some, else they are the indices.
 */
function untrainedModel(specPath: string): Loaded {
  const v = validateSpec(fs.readFileSync(specPath, 'utf8'), {
    specPath,
    fs: nodeFileProbe,
    maxTrainingMemoryBytes: Infinity,
  });
  const errors = v.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0 || !v.analysis || !v.resolved)
    throw new Error(
      `${path.basename(specPath)} has ${errors.length} error(s); fix them to inspect its untrained model${errors[0] ? ` (${errors[0].message})` : ''}`,
    );
  const train = (v.parsed.value as { data?: { train?: unknown } }).data?.train;
  const folder = typeof train === 'string' ? path.resolve(path.dirname(specPath), train) : undefined;
  const dirs = folder ? nodeFileProbe.directories(folder).sort() : [];
  const classNames =
    dirs.length === v.resolved.classes ? dirs : Array.from({ length: v.resolved.classes }, (_, i) => String(i));
  return {
    model: buildModel(v.analysis, { seed: 0 }),
    pre: { input: v.resolved.input, classNames, normalization: null },
    modelPath: specPath,
  };
}

/** `checkpoint`: a run folder, a checkpoint folder, a model.json, or a spec (*.densenet.json: its untrained model). */
export async function loadForInspection(checkpoint: string): Promise<Loaded> {
  if (checkpoint.endsWith('.densenet.json')) return untrainedModel(path.resolve(checkpoint));
  const { modelPath, runDir } = locateCheckpoint(checkpoint);
  return { model: await loadCheckpointModel(modelPath), pre: readPreprocessing(runDir), modelPath };
}

export class Inspector {
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

  release(): void {
    if (!this.loaded) return;
    releaseInspection(this.loaded.model);
    this.loaded.model.dispose();
    this.loaded = undefined;
  }

  async run(
    req: InspectRequest,
    hooks: { progress(p: InspectProgress): void; cancelled(): boolean },
  ): Promise<unknown> {
    const { model, pre, modelPath } = await this.load(req.checkpoint);
    if (req.kind === 'describe')
      return { modelPath, input: pre.input, classNames: pre.classNames, layers: featureLayers(model) };
    if (req.kind === 'maximise') {
      return activationMaximisation(model, pre, req.target, {
        steps: req.steps,
        seed: req.seed,
        onProgress: (step, value, image) => hooks.progress({ step, value, image }),
        shouldCancel: hooks.cancelled,
      });
    }
    const image = await loadImageInput(req.image, pre);
    switch (req.kind) {
      case 'predict':
        return { image, predictions: predictTopK(model, image.input, pre, req.k ?? 5) };
      case 'activations':
        return layerActivations(model, image.input, req.layers);
      case 'gradcam':
        return gradCam(model, image.input, pre, { layerName: req.layerName, classIndex: req.classIndex });
      case 'saliency':
        return saliency(model, image.input, pre, { classIndex: req.classIndex, samples: req.samples });
    }
  }
}
