/**
 * The engine process's side of inspection requests: loads checkpoints (cached, with their run's
 * preprocessing) and runs the inference API of inspect.ts on image files.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { LayersModel } from '@tensorflow/tfjs';
import type { InspectProgress, InspectRequest } from '../protocol/engine';
import type { DisplayImage } from '../protocol/features';
import {
  activationMaximisation,
  featureLayers,
  gradCam,
  type ImageInput,
  layerActivations,
  loadImageInput,
  predictTopK,
  releaseInspection,
  saliency,
} from './inspect';
import { validateSpec } from '../core';
import { nodeFileProbe } from '../core/nodeFs';
import { buildModel } from './model';
import { locateCheckpoint, MODEL_JSON } from '../runs/checkpointFiles';
import { readPreprocessing, type Preprocessing } from '../runs/preprocessing';
import { loadCheckpointModel } from './checkpoint';

// The decoded image the engine answers must fit what the protocol shows the webview: fail to compile if they
// drift apart. (Checked here, on the engine side, because the host never imports the engine.)
type Fits<A extends B, B> = A;
export type _ProtocolFits = Fits<ImageInput, DisplayImage>;

interface Loaded {
  model: LayersModel;
  pre: Preprocessing;
  modelPath: string;
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
    const json = modelPath.endsWith('.json') ? modelPath : path.join(modelPath, MODEL_JSON);
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
