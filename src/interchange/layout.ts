/**
 * torchvision's DenseNet state-dict keys ↔ the analysis' layers (Keras names), with the layout conversions:
 * convolution kernels OIHW ↔ HWIO, linear weights [out, in] ↔ [in, out], batch norm
 * weight/bias/running_mean/running_var ↔ gamma/beta/moving mean/moving variance.
 *
 * torchvision (torchvision/models/densenet.py):
 *   features.conv0, features.norm0                         ↔ conv1_conv, conv1_bn
 *   features.denseblock{b}.denselayer{j}.norm1/conv1/norm2/conv2
 *                                                          ↔ conv{b+1}_block{j}_0_bn/_1_conv/_1_bn/_2_conv
 *   features.transition{b}.norm/conv                      ↔ pool{b+1}_bn/_conv
 *   features.norm5, classifier                             ↔ bn, predictions
 * Old checkpoints name `norm.1`, `conv.2`, …: torchvision's loader renames them, so do we.
 */
import type { Analysis, LayerInfo } from '../core/analyze';
import {
  elementCount,
  shapeText,
  type ForeignTensor,
  type LayerTensor,
  type LayerWeights,
  type TensorDict,
} from './tensors';

/** The layers that hold weights, in model order. */
export const weightedLayers = (a: Analysis): LayerInfo[] =>
  a.layers.filter((l) => l.type === 'Conv2D' || l.type === 'BatchNormalization' || l.type === 'Dense');

/** torchvision's module name for a Keras-named layer of the analysis; undefined for layers torchvision lacks. */
export function torchvisionModule(layer: string): string | undefined {
  if (layer === 'conv1_conv') return 'features.conv0';
  if (layer === 'conv1_bn') return 'features.norm0';
  if (layer === 'bn') return 'features.norm5';
  if (layer === 'predictions') return 'classifier';
  const dense = /^conv(\d+)_block(\d+)_(0_bn|1_conv|1_bn|2_conv)$/.exec(layer);
  if (dense) {
    const part = { '0_bn': 'norm1', '1_conv': 'conv1', '1_bn': 'norm2', '2_conv': 'conv2' }[dense[3]];
    return `features.denseblock${Number(dense[1]) - 1}.denselayer${dense[2]}.${part}`;
  }
  const transition = /^pool(\d+)_(bn|conv)$/.exec(layer);
  if (transition) return `features.transition${Number(transition[1]) - 1}.${transition[2] === 'bn' ? 'norm' : 'conv'}`;
  return undefined;
}

const LEGACY_KEY = /^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$/;

/**
 * The keys as torchvision's current code names them: `module.` (DataParallel) dropped and the legacy
 * `norm.1`-style keys renamed (the rule torchvision's `_load_state_dict` applies).
 */
export function normaliseTorchvisionKeys(dict: TensorDict): TensorDict {
  const out: TensorDict = new Map();
  for (const [key, t] of dict) {
    let k = key.startsWith('module.') ? key.slice('module.'.length) : key;
    const legacy = LEGACY_KEY.exec(k);
    if (legacy) k = legacy[1] + legacy[2];
    out.set(k, t);
  }
  return out;
}

/** The state-dict suffixes of a layer's tensors, in tfjs order. */
function suffixes(layer: LayerInfo): string[] {
  if (layer.type === 'Conv2D') return ['weight'];
  if (layer.type === 'BatchNormalization') return ['weight', 'bias', 'running_mean', 'running_var'];
  return ['weight', 'bias'];
}

/** The shapes torchvision gives a layer's tensors (OIHW, [out, in]), from the analysis. */
function torchShapes(a: Analysis, layer: LayerInfo): number[][] {
  const inputOf = (name: string) => a.layers.find((l) => l.name === name)?.outputShape ?? [];
  const inShape = inputOf(layer.inputs[0]);
  const inChannels = inShape[inShape.length - 1];
  if (layer.type === 'Conv2D') {
    const k = layer.config.kernelSize ?? 1;
    return [[layer.config.filters ?? 0, inChannels, k, k]];
  }
  if (layer.type === 'BatchNormalization') return [[inChannels], [inChannels], [inChannels], [inChannels]];
  const units = layer.config.units ?? 0;
  return [[units, inChannels], [units]];
}

/** OIHW → HWIO. */
export function oihwToHwio(values: Float32Array, [o, i, h, w]: number[]): Float32Array {
  const out = new Float32Array(values.length);
  for (let a = 0; a < o; a++)
    for (let b = 0; b < i; b++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) out[((y * w + x) * i + b) * o + a] = values[((a * i + b) * h + y) * w + x];
  return out;
}

/** HWIO → OIHW. */
export function hwioToOihw(values: Float32Array, [h, w, i, o]: number[]): Float32Array {
  const out = new Float32Array(values.length);
  for (let a = 0; a < o; a++)
    for (let b = 0; b < i; b++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) out[((a * i + b) * h + y) * w + x] = values[((y * w + x) * i + b) * o + a];
  return out;
}

/** A row-major matrix transposed: [rows, cols] → [cols, rows]. */
export function transpose2d(values: Float32Array, [rows, cols]: number[]): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c];
  return out;
}

/** One tensor of `layer` converted from torchvision's layout to tfjs'. */
function toTfjs(layer: LayerInfo, index: number, t: ForeignTensor): LayerTensor {
  if (layer.type === 'Conv2D') {
    const [o, i, h, w] = t.shape;
    return { shape: [h, w, i, o], values: oihwToHwio(t.values, t.shape) };
  }
  if (layer.type === 'Dense' && index === 0) {
    const [out, inp] = t.shape;
    return { shape: [inp, out], values: transpose2d(t.values, t.shape) };
  }
  return { shape: [...t.shape], values: t.values };
}

/** The torchvision-layout tensor of a tfjs-layout one. */
function toTorch(layer: LayerInfo, index: number, t: LayerTensor): LayerTensor {
  if (layer.type === 'Conv2D') {
    const [h, w, i, o] = t.shape;
    return { shape: [o, i, h, w], values: hwioToOihw(t.values, t.shape) };
  }
  if (layer.type === 'Dense' && index === 0) {
    const [inp, out] = t.shape;
    return { shape: [out, inp], values: transpose2d(t.values, t.shape) };
  }
  return { shape: [...t.shape], values: t.values };
}

/** Keys a torchvision state dict may hold besides the weights: batch-norm step counters. */
const IGNORED = /\.num_batches_tracked$/;

export interface MappingOptions {
  /** Leave the classifier out when its shape differs (fine-tuning to other classes) instead of failing. */
  replaceClassifier?: boolean;
}

/** What a mapping produced: the weights, and the classifier it left out (file shape vs model shape). */
export interface MappedWeights {
  weights: LayerWeights;
  replacedClassifier?: { fileShape: number[]; modelShape: number[] };
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * The analysis' weights from a torchvision state dict. Every layer's tensors must be there with the shapes the
 * analysis gives, and no other tensor may be: the first mismatch is an error naming the layer, the key and both
 * shapes. The classifier may be left out (`replaceClassifier`) when only its class count differs.
 */
export function torchvisionLayerWeights(
  dict: TensorDict,
  analysis: Analysis,
  options: MappingOptions = {},
): MappedWeights {
  const keys = normaliseTorchvisionKeys(dict);
  const used = new Set<string>();
  const weights: LayerWeights = new Map();
  let replacedClassifier: MappedWeights['replacedClassifier'];
  for (const layer of weightedLayers(analysis)) {
    const module = torchvisionModule(layer.name);
    if (module === undefined) throw new Error(`Layer ${layer.name} has no torchvision counterpart`);
    const expected = torchShapes(analysis, layer);
    const tensors: LayerTensor[] = [];
    for (const [i, suffix] of suffixes(layer).entries()) {
      const key = `${module}.${suffix}`;
      const t = keys.get(key);
      if (!t)
        throw new Error(
          `The weights have no ${key} (layer ${layer.name}, ${shapeText(expected[i])}): ${describeMismatch(keys, analysis)}`,
        );
      used.add(key);
      if (!sameShape(t.shape, expected[i])) {
        if (layer.name === 'predictions' && options.replaceClassifier) {
          replacedClassifier = { fileShape: keys.get(`${module}.weight`)?.shape ?? t.shape, modelShape: expected[0] };
          continue;
        }
        throw new Error(
          `Layer ${layer.name} (${key}): the weights have ${shapeText(t.shape)}, the model needs ${shapeText(expected[i])}. ${describeMismatch(keys, analysis)}`,
        );
      }
      if (t.values.length !== elementCount(t.shape))
        throw new Error(`${key}: ${t.values.length} values for shape ${shapeText(t.shape)}`);
      tensors.push(toTfjs(layer, i, t));
    }
    if (replacedClassifier && layer.name === 'predictions') continue;
    weights.set(layer.name, tensors);
  }
  const extra = [...keys.keys()].find((k) => !used.has(k) && !IGNORED.test(k));
  if (extra !== undefined)
    throw new Error(
      `The weights have ${extra} ${shapeText(keys.get(extra)?.shape ?? [])}, which the model has no layer for. ${describeMismatch(keys, analysis)}`,
    );
  return { weights, replacedClassifier };
}

/** The torchvision state dict (in torchvision's key order) of the analysis' weights. */
export function torchvisionStateDict(
  weights: LayerWeights,
  analysis: Analysis,
): { name: string; shape: number[]; values: Float32Array }[] {
  const out: { name: string; shape: number[]; values: Float32Array }[] = [];
  for (const layer of weightedLayers(analysis)) {
    const module = torchvisionModule(layer.name);
    const tensors = weights.get(layer.name);
    if (module === undefined || tensors === undefined) throw new Error(`No weights for layer ${layer.name}`);
    suffixes(layer).forEach((suffix, i) => out.push({ name: `${module}.${suffix}`, ...toTorch(layer, i, tensors[i]) }));
  }
  return out;
}

/** The DenseNet a torchvision state dict describes: growth rate, blocks, stem width, classes. */
export interface TorchvisionShape {
  growthRate: number;
  blockConfig: number[];
  numInitFeatures: number;
  classes: number;
}

/** Reads the architecture off a torchvision state dict's keys and shapes; undefined when it is not one. */
export function torchvisionShape(dict: TensorDict): TorchvisionShape | undefined {
  const keys = normaliseTorchvisionKeys(dict);
  const conv0 = keys.get('features.conv0.weight');
  const classifier = keys.get('classifier.weight');
  const conv2 = keys.get('features.denseblock1.denselayer1.conv2.weight');
  if (!conv0 || !classifier || !conv2) return undefined;
  const blockConfig: number[] = [];
  for (let b = 1; keys.has(`features.denseblock${b}.denselayer1.norm1.weight`); b++) {
    let n = 0;
    while (keys.has(`features.denseblock${b}.denselayer${n + 1}.norm1.weight`)) n++;
    blockConfig.push(n);
  }
  return { growthRate: conv2.shape[0], blockConfig, numInitFeatures: conv0.shape[0], classes: classifier.shape[0] };
}

/** A hint for errors: what the file holds against what the model is. */
function describeMismatch(keys: TensorDict, analysis: Analysis): string {
  const file = torchvisionShape(keys);
  if (!file) return 'Is this a torchvision DenseNet state dict?';
  const blocks = analysis.groups.filter((g) => g.kind === 'block').map((g) => g.denseLayers);
  const stem = analysis.layers.find((l) => l.name === 'conv1_conv')?.config.filters;
  const growth = analysis.layers.find((l) => l.name === 'conv2_block1_2_conv')?.config.filters;
  const what = (s: TorchvisionShape) =>
    `k=${s.growthRate}, blocks [${s.blockConfig.join(', ')}], stem ${s.numInitFeatures}, ${s.classes} classes`;
  return `The file holds a DenseNet with ${what(file)}; the model has ${what({
    growthRate: growth ?? 0,
    blockConfig: blocks,
    numInitFeatures: stem ?? 0,
    classes: analysis.classes,
  })}. Choose the matching preset (or spec) for these weights.`;
}
