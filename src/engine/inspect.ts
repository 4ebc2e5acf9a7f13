/**
 * The engine's inference API for the panels: the image as the model sees it, top-k predictions, layer
 * activations for the feature-map gallery, Grad-CAM, saliency maps and activation maximisation.
 *
 * Every function takes a `LayersModel` (+ the run's `Preprocessing` where class names or the normalisation
 * matter) and plain inputs, and returns plain typed arrays and objects: no tensor leaves this module and
 * none is left behind (everything runs in `tf.tidy`, or is disposed in `finally`).
 *
 * Inputs are one image, HWC float32 in the model's input space (normalised, as `loadImageInput().input`).
 *
 * Gradients with respect to intermediate layers (Grad-CAM) and class logits need more than `model.apply`,
 * so the module walks the model's layer graph itself (`LayerGraph`): it calls each layer eagerly on
 * concrete tensors (inference mode), computes only what a result needs, and can restart the graph from a
 * substituted layer output. The class score is the logit of a Dense+softmax classifier (its kernel and bias
 * applied to its input, before the softmax), else the model's output.
 */
import * as fs from 'fs';
import type { LayersModel, Scalar, SymbolicTensor, Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs';
import { decodeImage } from './data/decode';
import { normalizeInPlace, toFloat } from './data/preprocess';
import { Rng } from './data/rng';
import type { Preprocessing } from './training/preprocessing';
import { tf } from './tf';
import type {
  ActivationStats,
  FeatureGroup,
  FeatureLayer,
  GradCamResult,
  LayerActivation,
  MaximisationResult,
  Prediction,
  SaliencyResult,
  ScoreKind,
} from '../protocol/features';

// The result shapes live in the protocol, where the webviews read them too.
export type {
  ActivationStats,
  FeatureGroup,
  FeatureLayer,
  GradCamResult,
  LayerActivation,
  MaximisationResult,
  Prediction,
  SaliencyResult,
  ScoreKind,
};

type Layer = LayersModel['layers'][number];

/* ------------------------------------------------------------------------------------------------------------
 * The layer graph
 * ---------------------------------------------------------------------------------------------------------- */

interface GraphNode {
  name: string;
  layer: Layer;
  /** Names of the layers whose outputs feed this one, in call order. */
  inputs: string[];
}

/** What gives the class scores: the pre-softmax logits of a Dense classifier, or the model output as is. */

/**
 * A single-input, single-output model's layers in topological order, runnable layer by layer. Layers are
 * called eagerly (`layer.apply` on concrete tensors adds no graph nodes and changes no reference counts).
 */
class LayerGraph {
  readonly input: string;
  readonly output: string;
  /** Topological order; the input layer excluded. */
  readonly nodes: GraphNode[] = [];
  readonly scoreKind: ScoreKind;
  /** The layer whose output the class scores are computed from (the classifier's input for logits). */
  readonly scoreSource: string;
  private readonly byName = new Map<string, GraphNode>();
  private readonly classifier?: Layer;

  constructor(model: LayersModel) {
    if (model.inputs.length !== 1 || model.outputs.length !== 1) {
      throw new Error(
        `Inspection needs a model with one input and one output (this one has ${model.inputs.length} and ${model.outputs.length})`,
      );
    }
    const inputTensor = model.inputs[0];
    this.input = inputTensor.sourceLayer.name;
    const seen = new Map<string, SymbolicTensor>();
    // Depth-first from the output: a node is listed after everything it reads (post-order = topological).
    const visit = (t: SymbolicTensor): string => {
      const layer = t.sourceLayer;
      const name = layer.name;
      const known = seen.get(name);
      if (known) {
        if (known !== t)
          throw new Error(`Layer ${name} is shared or has several outputs: inspection does not support that`);
        return name;
      }
      seen.set(name, t);
      if (t === inputTensor) return name;
      if (layer.getClassName() === 'InputLayer') throw new Error(`The model has a second input ${name}`);
      if (t.tensorIndex !== 0) throw new Error(`Layer ${name} has several outputs: inspection does not support that`);
      const node = layer.inboundNodes[t.nodeIndex];
      const inputs = node.inputTensors.map(visit);
      const entry = { name, layer, inputs };
      this.nodes.push(entry);
      this.byName.set(name, entry);
      return name;
    };
    this.output = visit(model.outputs[0]);

    const last = this.byName.get(this.output);
    if (
      last &&
      last.layer.getClassName() === 'Dense' &&
      last.layer.getConfig().activation === 'softmax' &&
      last.inputs.length === 1
    ) {
      this.classifier = last.layer;
      this.scoreKind = 'logit';
      this.scoreSource = last.inputs[0];
    } else {
      this.scoreKind = 'output';
      this.scoreSource = this.output;
    }
  }

  has(name: string): boolean {
    return name === this.input || this.byName.has(name);
  }

  /** `name` and every layer that (transitively) reads it. */
  descendants(name: string): Set<string> {
    const out = new Set([name]);
    for (const n of this.nodes) if (n.inputs.some((i) => out.has(i))) out.add(n.name);
    return out;
  }

  /**
   * Computes the outputs of `targets` from the `given` layer outputs (at least the input, or everything the
   * targets need), running only the layers on the way. Returns the given and the computed outputs.
   */
  run(given: Map<string, Tensor>, targets: string[]): Map<string, Tensor> {
    const values = new Map(given);
    const needed = new Set<string>();
    const stack = [...targets];
    while (stack.length > 0) {
      const name = stack.pop() as string;
      if (needed.has(name) || values.has(name)) continue;
      const node = this.byName.get(name);
      if (!node) throw new Error(name === this.input ? 'The input is missing' : `The model has no layer ${name}`);
      needed.add(name);
      stack.push(...node.inputs);
    }
    for (const n of this.nodes) {
      if (!needed.has(n.name)) continue;
      const inputs = n.inputs.map((i) => values.get(i) as Tensor);
      values.set(n.name, n.layer.apply(inputs.length === 1 ? inputs[0] : inputs, { training: false }) as Tensor);
    }
    return values;
  }

  /** The class scores [batch, classes] from computed outputs that include `scoreSource`. */
  scores(values: Map<string, Tensor>): Tensor2D {
    const source = values.get(this.scoreSource);
    if (!source) throw new Error(`${this.scoreSource} has not been computed`);
    if (!this.classifier) return source as Tensor2D;
    // Dense: kernel then (if useBias) bias; the softmax is left out. getWeights() returns the live variables.
    const [kernel, bias] = this.classifier.getWeights();
    const logits = tf.matMul(source as Tensor2D, kernel as Tensor2D) as Tensor2D;
    return bias ? (tf.add(logits, bias) as Tensor2D) : logits;
  }

  /** Class probabilities from the scores. */
  probabilities(scores: Tensor2D): Tensor2D {
    return this.scoreKind === 'logit' ? tf.softmax(scores) : scores;
  }
}

/* ------------------------------------------------------------------------------------------------------------
 * Per-model cache
 * ---------------------------------------------------------------------------------------------------------- */

interface Inspection {
  graph: LayerGraph;
  /** Multi-output sub-models by their layer list, oldest first. */
  subModels: Map<string, LayersModel>;
}

const MAX_SUB_MODELS = 8;
const inspections = new WeakMap<LayersModel, Inspection>();

function inspection(model: LayersModel): Inspection {
  let found = inspections.get(model);
  if (!found) {
    found = { graph: new LayerGraph(model), subModels: new Map() };
    inspections.set(model, found);
  }
  return found;
}

/**
 * A `tf.model` with the given layers' outputs, built once per model and layer list. Such a sub-model shares
 * the model's layers and owns no tensors; it must never be `dispose()`d: tf.model does not take references on
 * the layers, so disposing it would dispose the model's weights. Dropping it is all the disposal it needs.
 */
function subModel(model: LayersModel, layerNames: string[]): LayersModel {
  const cache = inspection(model).subModels;
  const key = layerNames.join('\n');
  let sub = cache.get(key);
  if (sub) {
    cache.delete(key); // re-inserted below: most recently used last
  } else {
    const outputs = layerNames.map((name) => model.getLayer(name).output as SymbolicTensor);
    sub = tf.model({ inputs: model.inputs, outputs });
  }
  cache.set(key, sub);
  while (cache.size > MAX_SUB_MODELS) cache.delete(cache.keys().next().value as string);
  return sub;
}

/**
 * Forgets the sub-models and the layer graph cached for `model` (call it when the model is disposed; they
 * hold no tensors, and a disposed model's cache is dropped by the garbage collector anyway).
 */
export function releaseInspection(model: LayersModel): void {
  inspections.delete(model);
}

/* ------------------------------------------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------------------------------------------- */

/** The model's input [height, width, channels]. */
function inputShape(model: LayersModel): [number, number, number] {
  const shape = model.inputs[0].shape;
  if (shape.length !== 4 || shape.slice(1).some((d) => d == null))
    throw new Error(`The model input is not an image: shape ${JSON.stringify(shape)}`);
  return shape.slice(1) as [number, number, number];
}

function inputTensor(model: LayersModel, input: Float32Array): Tensor4D {
  const [h, w, c] = inputShape(model);
  if (input.length !== h * w * c)
    throw new Error(`The input has ${input.length} values; the model takes ${h}x${w}x${c} = ${h * w * c}`);
  return tf.tensor4d(input, [1, h, w, c]);
}

/** Runs `fn` in a tidy scope that disposes every tensor it makes; `fn` returns plain data. */
function tidyPlain<T>(fn: () => T): T {
  let result: { value: T } | undefined;
  tf.tidy(() => {
    result = { value: fn() };
  });
  return (result as { value: T }).value;
}

/** A copy of a tensor's values (the CPU backend's dataSync returns its own buffer). */
function read(t: Tensor): Float32Array {
  return Float32Array.from(t.dataSync() as Float32Array);
}

function className(pre: Preprocessing, index: number): string {
  return pre.classNames[index] ?? String(index);
}

function checkClass(index: number, classes: number): number {
  if (!Number.isInteger(index) || index < 0 || index >= classes)
    throw new Error(`Class index ${index} is out of range: the model has ${classes} classes (0-${classes - 1})`);
  return index;
}

/** Scales a non-negative map by its maximum, to [0, 1]; an all-zero map stays zero. */
function scaleToUnit(t: Tensor): Tensor {
  const max = tf.max(t);
  return tf.div(t, tf.maximum(max, 1e-12));
}

/** The class-c score summed over the batch: its gradient is each example's own gradient. */
function classScore(scores: Tensor2D, c: number): Scalar {
  return tf.sum(tf.slice(scores, [0, c], [-1, 1]));
}

/* ------------------------------------------------------------------------------------------------------------
 * 1. Input images
 * ---------------------------------------------------------------------------------------------------------- */

export interface ImageInput {
  /** What the model takes: HWC float32, normalised. */
  input: Float32Array;
  /** The image as the model sees it before normalisation: HWC in [0, 1]. */
  display: Float32Array;
  height: number;
  width: number;
  channels: number;
}

/** Decodes an image file (PNG, JPEG, WebP, GIF, TIFF) to the run's input size, channels and normalisation. */
export async function loadImageInput(file: string, pre: Preprocessing): Promise<ImageInput> {
  const { height, width, channels } = pre.input;
  const pixels = await decodeImage(await fs.promises.readFile(file), { height, width });
  const display = toFloat(pixels, channels);
  const input = Float32Array.from(display);
  if (pre.normalization) normalizeInPlace(input, pre.normalization);
  return { input, display, height, width, channels };
}

/* ------------------------------------------------------------------------------------------------------------
 * 2. Predictions
 * ---------------------------------------------------------------------------------------------------------- */

/** The `k` most probable classes, most probable first. */
export function predictTopK(model: LayersModel, input: Float32Array, pre: Preprocessing, k = 5): Prediction[] {
  const probs = tidyPlain(() => read(model.predict(inputTensor(model, input)) as Tensor));
  return Array.from(probs, (probability, index) => ({ index, className: className(pre, index), probability }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, Math.max(0, k));
}

/* ------------------------------------------------------------------------------------------------------------
 * 3. Activations
 * ---------------------------------------------------------------------------------------------------------- */

function activationStats(data: Float32Array, channels: number): ActivationStats {
  const channelMin = new Float32Array(channels).fill(Infinity);
  const channelMax = new Float32Array(channels).fill(-Infinity);
  const sums = new Float64Array(channels);
  for (let i = 0; i < data.length; i++) {
    const k = i % channels;
    const v = data[i];
    if (v < channelMin[k]) channelMin[k] = v;
    if (v > channelMax[k]) channelMax[k] = v;
    sums[k] += v;
  }
  const perChannel = data.length / channels;
  const channelMean = Float32Array.from(sums, (s) => s / perChannel);
  let min = Infinity;
  let max = -Infinity;
  let total = 0;
  for (let k = 0; k < channels; k++) {
    min = Math.min(min, channelMin[k]);
    max = Math.max(max, channelMax[k]);
    total += sums[k];
  }
  return { min, max, mean: total / data.length, channelMin, channelMax, channelMean };
}

/** The outputs of the named layers for one input (one pass through a cached multi-output sub-model). */
export function layerActivations(model: LayersModel, input: Float32Array, layerNames: string[]): LayerActivation[] {
  if (layerNames.length === 0) return [];
  const sub = subModel(model, layerNames);
  return tidyPlain(() => {
    const out = sub.predict(inputTensor(model, input));
    const tensors = Array.isArray(out) ? out : [out];
    return tensors.map((t, i) => {
      const shape = t.shape.slice(1);
      const data = read(t);
      return { name: layerNames[i], shape, data, stats: activationStats(data, shape[shape.length - 1] ?? 1) };
    });
  });
}

/* ------------------------------------------------------------------------------------------------------------
 * 4. Gallery layers
 * ---------------------------------------------------------------------------------------------------------- */

function groupOf(name: string): { block: string; group: FeatureGroup; blockLayer?: number } {
  let m = /^(conv\d+)_block(\d+)_/.exec(name);
  if (m) return { block: m[1], group: 'block', blockLayer: Number(m[2]) };
  if (/^conv1_/.test(name) || /^zero_padding2d(_\d+)?$/.test(name) || name === 'pool1')
    return { block: 'conv1', group: 'stem' };
  m = /^(pool\d+)_/.exec(name);
  if (m) return { block: m[1], group: 'transition' };
  if (name === 'bn' || name === 'relu') return { block: 'head', group: 'head' };
  return { block: 'other', group: 'other' };
}

/** The layers with feature-map (4D) outputs, in model order, without the input layer. */
export function featureLayers(model: LayersModel): FeatureLayer[] {
  const out: FeatureLayer[] = [];
  for (const layer of model.layers) {
    const type = layer.getClassName();
    const shape = layer.outputShape;
    if (type === 'InputLayer' || !Array.isArray(shape) || shape.length !== 4 || Array.isArray(shape[0])) continue;
    out.push({
      name: layer.name,
      type,
      outputShape: shape.slice(1) as [number, number, number],
      ...groupOf(layer.name),
    });
  }
  return out;
}

/* ------------------------------------------------------------------------------------------------------------
 * 5. Grad-CAM
 * ---------------------------------------------------------------------------------------------------------- */

export interface GradCamOptions {
  /** A layer with a 4D output; default `relu`, the last feature maps after the head's batch-norm + ReLU. */
  layerName?: string;
  /** Default: the predicted class. */
  classIndex?: number;
}

/**
 * Grad-CAM (Selvaraju et al. 2017): the gradients of the class score with respect to the layer's feature maps,
 * averaged over positions, weight the feature maps; their sum, ReLU'd, is the heatmap.
 */
export function gradCam(
  model: LayersModel,
  input: Float32Array,
  pre: Preprocessing,
  options: GradCamOptions = {},
): GradCamResult {
  const { graph } = inspection(model);
  const layerName = options.layerName ?? 'relu';
  if (!graph.has(layerName)) throw new Error(`The model has no layer ${layerName}`);
  const [inputHeight, inputWidth] = inputShape(model);
  return tidyPlain(() => {
    const x = inputTensor(model, input);
    const values = graph.run(new Map([[graph.input, x]]), [graph.scoreSource, layerName]);
    const activations = values.get(layerName) as Tensor;
    if (activations.rank !== 4)
      throw new Error(
        `Layer ${layerName} has output shape [${activations.shape.slice(1)}]: Grad-CAM needs feature maps (H x W x C)`,
      );
    const probs = graph.probabilities(graph.scores(values)).dataSync();
    const classIndex = options.classIndex === undefined ? argMax(probs) : checkClass(options.classIndex, probs.length);

    // The score as a function of the layer's output: everything downstream is recomputed from `a`, the
    // rest (e.g. the other inputs of later concatenations) is held constant.
    const downstream = graph.descendants(layerName);
    const upstream = new Map([...values].filter(([name]) => !downstream.has(name)));
    const score = (a: Tensor) =>
      classScore(graph.scores(graph.run(new Map([...upstream, [layerName, a]]), [graph.scoreSource])), classIndex);
    const grads = tf.grad(score)(activations);

    const weights = tf.mean(grads, [1, 2], true); // [1, 1, 1, C]
    const cam = scaleToUnit(tf.relu(tf.sum(tf.mul(activations, weights), -1, true))) as Tensor4D; // [1, H', W', 1]
    const upsampled = tf.image.resizeBilinear(cam, [inputHeight, inputWidth], false, true);
    const [, height, width] = cam.shape;
    return {
      heatmap: read(cam),
      height,
      width,
      upsampled: read(upsampled),
      inputHeight,
      inputWidth,
      classIndex,
      className: className(pre, classIndex),
      probability: probs[classIndex],
      score: graph.scoreKind,
    };
  });
}

function argMax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/* ------------------------------------------------------------------------------------------------------------
 * 6. Saliency
 * ---------------------------------------------------------------------------------------------------------- */

export interface SaliencyOptions {
  /** Default: the predicted class. */
  classIndex?: number;
  /** SmoothGrad (Smilkov et al. 2017): average the maps of this many noisy copies; 0 or 1 = vanilla gradients. */
  samples?: number;
  /** SmoothGrad noise standard deviation as a fraction of the input's value range (default 0.15). */
  noise?: number;
  seed?: number;
}

const SMOOTHGRAD_BATCH = 8;

/** Vanilla-gradient saliency (Simonyan et al. 2014), or SmoothGrad with `samples` > 1. */
export function saliency(
  model: LayersModel,
  input: Float32Array,
  pre: Preprocessing,
  options: SaliencyOptions = {},
): SaliencyResult {
  const { graph } = inspection(model);
  const [height, width, channels] = inputShape(model);
  return tidyPlain(() => {
    const x = inputTensor(model, input);
    const scoresOf = (xs: Tensor) => graph.scores(graph.run(new Map([[graph.input, xs]]), [graph.scoreSource]));
    const probs = graph.probabilities(scoresOf(x)).dataSync();
    const classIndex = options.classIndex === undefined ? argMax(probs) : checkClass(options.classIndex, probs.length);
    const gradient = tf.grad((xs: Tensor) => classScore(scoresOf(xs), classIndex));

    const samples = Math.max(1, Math.floor(options.samples ?? 1));
    let map: Tensor;
    if (samples === 1) {
      map = tf.max(tf.abs(gradient(x)), -1);
    } else {
      const sigma = (options.noise ?? 0.15) * (tf.max(x).dataSync()[0] - tf.min(x).dataSync()[0] || 1);
      const seed = options.seed ?? 0;
      let sum: Tensor = tf.zeros([1, height, width]);
      for (let done = 0, chunk = 0; done < samples; chunk++) {
        const n = Math.min(SMOOTHGRAD_BATCH, samples - done);
        const noisy = tf.add(
          tf.tile(x, [n, 1, 1, 1]),
          tf.randomNormal([n, height, width, channels], 0, sigma, 'float32', seed + chunk),
        );
        sum = tf.add(sum, tf.sum(tf.max(tf.abs(gradient(noisy)), -1), 0, true));
        done += n;
      }
      map = tf.div(sum, samples);
    }
    return {
      saliency: read(scaleToUnit(map)),
      height,
      width,
      classIndex,
      className: className(pre, classIndex),
      probability: probs[classIndex],
      score: graph.scoreKind,
    };
  });
}

/* ------------------------------------------------------------------------------------------------------------
 * 7. Activation maximisation
 * ---------------------------------------------------------------------------------------------------------- */

/** Maximise the mean of one channel of a layer's output, or one class's score. */
export type MaximisationTarget = { layerName: string; channel: number } | { classIndex: number };

export interface MaximisationOptions {
  /** Gradient-ascent steps (default 128). */
  steps?: number;
  /** Step size in display units ([0, 1] pixels) per step of the RMS-normalised gradient (default 0.05). */
  learningRate?: number;
  /** Random shift (roll) of up to this many pixels each way before each step (default 2). */
  jitter?: number;
  /** Gaussian blur every this many steps; 0 = never (default 4). */
  blurEvery?: number;
  blurSigma?: number;
  /** Decay of the image towards mid-grey: (x - 0.5) *= 1 - l2 each step (default 1e-4). */
  l2?: number;
  seed?: number;
  /** onProgress is called every this many steps and after the last (default 8). */
  progressEvery?: number;
  /** `step`: steps done (1-based); `value`: the objective of the last step; `image`: the current HWC display image in [0, 1]. */
  onProgress?: (step: number, value: number, image?: Float32Array) => void;
  /** Polled before every step; true stops the ascent (the result so far comes back with cancelled: true). */
  shouldCancel?: () => boolean;
}

/** Rolls a [N, H, W, C] tensor by (dy, dx) pixels, wrapping around (numpy.roll on axes 1 and 2). */
function roll(x: Tensor4D, dy: number, dx: number): Tensor4D {
  const [, h, w] = x.shape;
  let out = x;
  const sy = ((dy % h) + h) % h;
  if (sy !== 0)
    out = tf.concat(
      [tf.slice(out, [0, h - sy, 0, 0], [-1, sy, -1, -1]), tf.slice(out, [0, 0, 0, 0], [-1, h - sy, -1, -1])],
      1,
    );
  const sx = ((dx % w) + w) % w;
  if (sx !== 0)
    out = tf.concat(
      [tf.slice(out, [0, 0, w - sx, 0], [-1, -1, sx, -1]), tf.slice(out, [0, 0, 0, 0], [-1, -1, w - sx, -1])],
      2,
    );
  return out;
}

/** A separable Gaussian blur of a [1, H, W, C] image with reflected borders. */
function gaussianBlur(x: Tensor4D, sigma: number): Tensor4D {
  const [, h, w, c] = x.shape;
  const radius = Math.min(Math.max(1, Math.ceil(2 * sigma)), h - 1, w - 1);
  if (sigma <= 0 || radius < 1) return x;
  const taps = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const total = taps.reduce((a, b) => a + b, 0);
  const kernel = tf.tensor1d(taps.map((t) => t / total));
  const vertical = tf.tile(tf.reshape(kernel, [2 * radius + 1, 1, 1, 1]), [1, 1, c, 1]) as Tensor4D;
  const horizontal = tf.tile(tf.reshape(kernel, [1, 2 * radius + 1, 1, 1]), [1, 1, c, 1]) as Tensor4D;
  const padded = tf.mirrorPad(
    x,
    [
      [0, 0],
      [radius, radius],
      [radius, radius],
      [0, 0],
    ],
    'reflect',
  );
  return tf.depthwiseConv2d(tf.depthwiseConv2d(padded, vertical, 1, 'valid'), horizontal, 1, 'valid');
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Activation maximisation by gradient ascent on the input (Erhan et al. 2009; the regularisers of Yosinski et
 * al. 2015): from faint noise around mid-grey in display space, each step shifts the image randomly (jitter),
 * follows the RMS-normalised gradient of the objective through the normalisation, decays towards grey (l2),
 * blurs every few steps and clips to [0, 1]. Waits for the event loop between steps, so cancel requests
 * arrive; `shouldCancel` is polled before each step.
 */
export async function activationMaximisation(
  model: LayersModel,
  pre: Preprocessing,
  target: MaximisationTarget,
  options: MaximisationOptions = {},
): Promise<MaximisationResult> {
  const { graph } = inspection(model);
  const [height, width, channels] = inputShape(model);
  const steps = Math.max(0, Math.floor(options.steps ?? 128));
  const learningRate = options.learningRate ?? 0.05;
  const jitter = Math.max(0, Math.floor(options.jitter ?? 2));
  const blurEvery = Math.max(0, Math.floor(options.blurEvery ?? 4));
  const blurSigma = options.blurSigma ?? 0.5;
  const decay = 1 - (options.l2 ?? 1e-4);
  const progressEvery = Math.max(1, Math.floor(options.progressEvery ?? 8));
  const rng = new Rng(options.seed ?? 0);

  // The objective of a display-space image batch, built from the graph (only the layers it needs run).
  let objectiveKind: MaximisationResult['objective'];
  let targets: string[];
  let reduce: (values: Map<string, Tensor>) => Scalar;
  if ('classIndex' in target) {
    checkClass(target.classIndex, model.outputs[0].shape[1] as number);
    objectiveKind = graph.scoreKind;
    targets = [graph.scoreSource];
    reduce = (values) => classScore(graph.scores(values), target.classIndex);
  } else {
    const { layerName, channel } = target;
    if (!graph.has(layerName)) throw new Error(`The model has no layer ${layerName}`);
    const shape = model.getLayer(layerName).outputShape as number[];
    const units = shape[shape.length - 1];
    if (!Number.isInteger(channel) || channel < 0 || channel >= units)
      throw new Error(`Layer ${layerName} has ${units} channels: channel ${channel} is out of range`);
    objectiveKind = 'channel-mean';
    targets = [layerName];
    reduce = (values) => {
      const a = values.get(layerName) as Tensor;
      const begin = a.shape.map((_, i) => (i === a.rank - 1 ? channel : 0));
      const size = a.shape.map((_, i) => (i === a.rank - 1 ? 1 : -1));
      return tf.mean(tf.slice(a, begin, size));
    };
  }

  const norm = pre.normalization;
  const mean = norm ? tf.tensor1d(norm.mean) : undefined;
  const invStd = norm ? tf.tensor1d(norm.std.map((s) => 1 / s)) : undefined;
  const objective = (display: Tensor): Scalar => {
    const x = mean && invStd ? tf.mul(tf.sub(display, mean), invStd) : display;
    return reduce(graph.run(new Map([[graph.input, x]]), targets));
  };

  const noise = Float32Array.from({ length: height * width * channels }, () => 0.5 + 0.1 * (rng.next() - 0.5));
  let image: Tensor4D = tf.tensor4d(noise, [1, height, width, channels]);
  const values: number[] = [];
  let cancelled = false;
  try {
    for (let step = 0; step < steps; step++) {
      await yieldToEventLoop();
      if (options.shouldCancel?.()) {
        cancelled = true;
        break;
      }
      const dy = jitter > 0 ? rng.int(2 * jitter + 1) - jitter : 0;
      const dx = jitter > 0 ? rng.int(2 * jitter + 1) - jitter : 0;
      const current = image;
      const [next, value] = tf.tidy(() => {
        const shifted = roll(current, dy, dx);
        const { value: v, grad } = tf.valueAndGrad(objective)(shifted);
        const g = roll(grad as Tensor4D, -dy, -dx);
        const rms = tf.sqrt(tf.add(tf.mean(tf.square(g)), 1e-16));
        let updated: Tensor4D = tf.add(current, tf.mul(tf.div(g, rms), learningRate));
        updated = tf.add(tf.mul(tf.sub(updated, 0.5), decay), 0.5);
        if (blurEvery > 0 && (step + 1) % blurEvery === 0) updated = gaussianBlur(updated, blurSigma);
        return [tf.clipByValue(updated, 0, 1) as Tensor4D, v];
      });
      image = next as Tensor4D;
      current.dispose();
      const objectiveValue = (await value.data())[0];
      value.dispose();
      values.push(objectiveValue);
      if (options.onProgress && ((step + 1) % progressEvery === 0 || step === steps - 1)) {
        options.onProgress(step + 1, objectiveValue, Float32Array.from(await image.data()));
      }
    }
    return {
      image: Float32Array.from(await image.data()),
      height,
      width,
      channels,
      values,
      cancelled,
      objective: objectiveKind,
    };
  } finally {
    tf.dispose([image, ...(mean ? [mean] : []), ...(invStd ? [invStd] : [])]);
  }
}
