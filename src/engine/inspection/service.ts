/**
 * The engine process's side of inspection requests: loads checkpoints (cached, with their run's
 * preprocessing) and runs the inference API of this folder on image files, one method per request of the
 * contract (src/protocol/engine.ts), each with its own result type. The image decoded for the model and the last
 * few layers' activations are cached while the checkpoint and the image file stay the same (a DenseNet-121 at
 * 224×224 takes a second a layer on two cores: picking a layer again answers at once).
 *
 * With inference on ONNX Runtime (densenet.engine.inference), the gallery's activations and Grad-CAM at the
 * classifier's input (the class activation map: ./gradCam.ts `classActivationMap`) come from forward passes on
 * ONNX Runtime, the layers asked for as extra graph outputs (the last two sessions kept); Grad-CAM at any other
 * layer, saliency and activation maximisation need gradients and run on tfjs.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { ImageInput, InspectionRequests } from '../../protocol/engine';
import type { LayerActivation } from '../../protocol/features';
import type { HandlerContext } from '../../protocol/rpc';
import {
  activationMaximisation,
  encodeActivation,
  featureLayers,
  gradCam,
  inputTensor,
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
import type { Analysis } from '../../core/analyze';
import { runAnalysis } from '../interchange';
import { type InferenceEngine, inferenceEngine, inferencePreference, type OnnxSession } from '../onnxRuntime';
import { coreCount } from '../parallel/threads';
import { sessionActivations } from './activations';
import { camLayer, classActivationMap, defaultGradCamLayer } from './gradCam';
import { readPreprocessing, type Preprocessing } from '../../runs/preprocessing';
import { loadCheckpointModel } from '../checkpoint';
import { checkpointThresholds, labelPredictions, segmentationPrediction } from '../taskPredict';
import { read, tidyPlain } from './tensors';

interface Loaded {
  model: LayersModel;
  pre: Preprocessing;
  modelPath: string;
  /** The run folder of a checkpoint (absent for a spec's untrained model). */
  runDir?: string;
  /** The model's analysis (its layers by name), for ONNX Runtime; throws when it is unknown. */
  analysis: () => Analysis;
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
  const data = (v.parsed.value as { data?: { train?: unknown; classList?: { name: string; color: string }[] } }).data;
  const train = data?.train;
  const folder = typeof train === 'string' ? path.resolve(path.dirname(specPath), train) : undefined;
  const dirs = folder ? nodeFileProbe.directories(folder).sort() : [];
  const list = v.resolved.task === 'segmentation' ? data?.classList : undefined;
  const classNames = list
    ? list.map((c) => c.name)
    : dirs.length === v.resolved.classes
      ? dirs
      : Array.from({ length: v.resolved.classes }, (_, i) => String(i));
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
  return {
    model,
    pre: {
      input: v.resolved.input,
      classNames,
      normalization: null,
      task: v.resolved.task,
      ...(list ? { classColors: list.map((c) => c.color.toLowerCase()) } : {}),
    },
    modelPath: specPath,
    analysis: () => v.analysis,
  };
}

/** `checkpoint`: a run folder, a checkpoint folder, a model.json, or a spec (*.densenet.json: its untrained model). */
export async function loadForInspection(checkpoint: string): Promise<Loaded> {
  if (checkpoint.endsWith('.densenet.json')) return await untrainedModel(path.resolve(checkpoint));
  const { modelPath, runDir } = locateCheckpoint(checkpoint);
  return {
    model: await loadCheckpointModel(modelPath),
    pre: readPreprocessing(runDir),
    modelPath,
    runDir,
    analysis: () => runAnalysis(runDir, 'to inspect it on ONNX Runtime'),
  };
}

type Params<K extends keyof InspectionRequests> = InspectionRequests[K]['params'];
type Result<K extends keyof InspectionRequests> = Promise<InspectionRequests[K]['result']>;

/** Inputs of at least this many pixels (e.g. 224×224) report maximisation progress after every step. */
const LARGE_INPUT_PIXELS = 96 * 96;

/** Layers whose activations are kept for the current image (the most recently asked last). */
const CACHED_ACTIVATIONS = 6;

/** ONNX Runtime sessions kept for the loaded model (one per list of layers returned). */
const CACHED_SESSIONS = 2;

/** One checkpoint loaded at a time (the panel inspects one), reloaded when its file changes. */
export class InspectionService {
  private loaded: (Loaded & { key: string; mtime: number }) | undefined;
  /** The last image decoded for the loaded model, by file, size and modification time. */
  private image: { key: string; value: ImageInput } | undefined;
  /** Activations of the cached image by layer name, least recently used first. */
  private readonly activationCache = new Map<string, LayerActivation>();
  /** The loaded model's ONNX Runtime sessions by the layers they return, least recently used first. */
  private readonly sessions = new Map<string, OnnxSession>();
  /** The loaded model's inference engine (it logs a fall back to tfjs once). */
  private engine: InferenceEngine | undefined;

  /** `log` is told how long each request took (the engine process sends it to the host's log). */
  constructor(private readonly log: (message: string) => void = () => undefined) {}

  /** Runs one request's work and logs its duration (`what` is read once the work is done). */
  private async timed<T>(what: string | (() => string), work: () => Promise<T>): Promise<T> {
    const started = Date.now();
    const result = await work();
    this.log(`${typeof what === 'string' ? what : what()}: ${Date.now() - started} ms`);
    return result;
  }

  /**
   * An ONNX Runtime session of the loaded model returning `layers`, or undefined when inference runs on tfjs
   * (densenet.engine.inference `tfjs`, or `auto` and ONNX Runtime cannot run the model: logged once).
   */
  private async session(loaded: Loaded, layers: string[]): Promise<OnnxSession | undefined> {
    const key = layers.join('\n');
    const found = this.sessions.get(key);
    if (found) {
      this.sessions.delete(key); // re-inserted: most recently used last
      this.sessions.set(key, found);
      return found;
    }
    this.engine ??= inferenceEngine(inferencePreference(), this.log);
    const session = await this.engine.open(loaded.analysis, loaded.model, { threads: coreCount(), outputs: layers });
    if (!session) return undefined;
    this.sessions.set(key, session);
    while (this.sessions.size > CACHED_SESSIONS) {
      const oldest = this.sessions.keys().next().value as string;
      void this.sessions
        .get(oldest)
        ?.release()
        .catch(() => undefined);
      this.sessions.delete(oldest);
    }
    return session;
  }

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

  /** The model and one image file decoded as it takes it (decoded again only when the file changed). */
  private async loadWithImage(p: { checkpoint: string; image: string }) {
    const loaded = await this.load(p.checkpoint);
    const stat = await fs.promises.stat(p.image);
    const key = `${this.loaded?.key}|${this.loaded?.mtime}|${path.resolve(p.image)}|${stat.size}|${stat.mtimeMs}`;
    if (this.image?.key !== key) {
      const started = Date.now();
      this.activationCache.clear();
      this.image = { key, value: await loadImageInput(p.image, loaded.pre) };
      this.log(`${path.basename(p.image)} decoded in ${Date.now() - started} ms`);
    }
    return { ...loaded, image: this.image.value };
  }

  release(): void {
    this.image = undefined;
    this.activationCache.clear();
    for (const s of this.sessions.values()) void s.release().catch(() => undefined);
    this.sessions.clear();
    this.engine = undefined;
    if (!this.loaded) return;
    releaseInspection(this.loaded.model);
    this.loaded.model.dispose();
    this.loaded = undefined;
  }

  async describe(p: Params<'describe'>): Result<'describe'> {
    return this.timed('describe', async () => {
      const { model, pre, modelPath } = await this.load(p.checkpoint);
      return { modelPath, input: pre.input, classNames: pre.classNames, layers: featureLayers(model) };
    });
  }

  async predict(p: Params<'predict'>): Result<'predict'> {
    return this.timed('predict', async () => {
      const { model, pre, image, runDir, modelPath } = await this.loadWithImage(p);
      if (pre.task === 'segmentation') {
        const task = segmentationPrediction(model, image.input, pre);
        const predictions = task.classes
          .map((c, index) => ({ index, className: c.name, probability: c.share }))
          .sort((a, b) => b.probability - a.probability);
        return { image, predictions, task };
      }
      if (pre.task === 'multilabel') {
        const { thresholds, source } = runDir
          ? checkpointThresholds(runDir, modelPath, pre.classNames.length)
          : { thresholds: new Array<number>(pre.classNames.length).fill(0.5), source: '0.5 (untrained model)' };
        const probs = tidyPlain(() => read(model.predict(inputTensor(model, image.input)) as Tensor));
        const labels = labelPredictions(probs, pre, thresholds);
        const predictions = labels.map((l) => ({ index: l.index, className: l.label, probability: l.probability }));
        return { image, predictions, task: { task: 'multilabel', labels, thresholds: source } };
      }
      return { image, predictions: predictTopK(model, image.input, pre, p.k ?? 5) };
    });
  }

  async activations(p: Params<'activations'>): Result<'activations'> {
    const cached = p.layers.filter((name) => this.activationCache.has(name)).length;
    let engine = 'tfjs';
    const what = () => `activations of ${p.layers.join(', ')} (${cached} cached, ${engine})`;
    return this.timed(what, async () => {
      const loaded = await this.loadWithImage(p);
      const { model, image } = loaded;
      const missing = [...new Set(p.layers.filter((name) => !this.activationCache.has(name)))];
      const session = missing.length > 0 ? await this.session(loaded, missing) : undefined;
      if (session) engine = 'ONNX Runtime';
      const computed = session
        ? await sessionActivations(session, image.input, missing)
        : layerActivations(model, image.input, missing);
      for (const a of computed) this.activationCache.set(a.name, a);
      const answer = p.layers.map((name) => {
        const a = this.activationCache.get(name) as LayerActivation;
        this.activationCache.delete(name); // re-inserted: most recently used last
        this.activationCache.set(name, a);
        return a;
      });
      while (this.activationCache.size > Math.max(CACHED_ACTIVATIONS, p.layers.length))
        this.activationCache.delete(this.activationCache.keys().next().value as string);
      return answer;
    });
  }

  /** The activations as 8-bit codes per channel: a quarter of the bytes to send (what the gallery draws). */
  async activationCodes(p: Params<'activationCodes'>): Result<'activationCodes'> {
    return (await this.activations(p)).map(encodeActivation);
  }

  async gradcam(p: Params<'gradcam'>): Result<'gradcam'> {
    let engine = 'tfjs';
    return this.timed(
      () => `Grad-CAM of class ${p.classIndex ?? 'predicted'} at ${p.layerName ?? 'the default layer'} (${engine})`,
      async () => {
        const loaded = await this.loadWithImage(p);
        const { model, pre, image } = loaded;
        const layerName = p.layerName ?? defaultGradCamLayer(model, pre.input.height, pre.input.width);
        const cam = this.camLayerOf(loaded);
        const session = cam === layerName ? await this.session(loaded, [cam]) : undefined;
        if (session) {
          engine = 'class activation map on ONNX Runtime';
          return classActivationMap(session, model, loaded.analysis(), image.input, pre, p.classIndex);
        }
        return gradCam(model, image.input, pre, { layerName, classIndex: p.classIndex });
      },
    );
  }

  /** The layer where Grad-CAM is the class activation map, when the model's analysis is known and has one. */
  private camLayerOf(loaded: Loaded): string | undefined {
    if (inferencePreference() === 'tfjs') return undefined;
    try {
      return camLayer(loaded.analysis());
    } catch {
      return undefined; // no analysis: Grad-CAM on tfjs
    }
  }

  async saliency(p: Params<'saliency'>): Result<'saliency'> {
    return this.timed(`saliency of class ${p.classIndex ?? 'predicted'}`, async () => {
      const { model, pre, image } = await this.loadWithImage(p);
      return saliency(model, image.input, pre, { classIndex: p.classIndex, samples: p.samples });
    });
  }

  /** Progress goes to `context.progress`; aborting `context.signal` stops it at its next step. */
  async maximise(
    p: Params<'maximise'>,
    context: HandlerContext<InspectionRequests['maximise']['progress']>,
  ): Result<'maximise'> {
    const { model, pre } = await this.load(p.checkpoint);
    const { height, width } = pre.input;
    return activationMaximisation(model, pre, p.target, {
      steps: p.steps,
      seed: p.seed,
      // A step at ImageNet sizes takes seconds: show each one (small inputs, every 8th).
      progressEvery: height * width >= LARGE_INPUT_PIXELS ? 1 : undefined,
      onProgress: (step, value, image) => context.progress({ step, value, image }),
      shouldCancel: () => context.signal.aborted,
    });
  }
}
