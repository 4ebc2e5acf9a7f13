/**
 * Exact per-layer analysis of a DenseNet: Keras layer names (keras.applications.densenet), output shapes,
 * trainable and non-trainable parameters, multiply-adds and training activation memory.
 * One source of truth for the editor (hovers, lenses, diagnostics), the engine (model building) and the
 * webviews (diagrams). Pure: no `vscode`, no tfjs.
 */
import type { InputShape, ModelConfig } from './types';

export type LayerType =
  | 'InputLayer'
  | 'ZeroPadding2D'
  | 'Conv2D'
  | 'BatchNormalization'
  | 'Activation'
  | 'MaxPooling2D'
  | 'AveragePooling2D'
  | 'Concatenate'
  | 'Dropout'
  | 'GlobalAveragePooling2D'
  | 'Dense';

/** `[height, width, channels]` for feature maps, `[units]` after global pooling (batch axis omitted, NHWC). */
export type Shape = number[];

export type GroupKind = 'input' | 'stem' | 'block' | 'transition' | 'head';

export interface LayerConfig {
  filters?: number;
  kernelSize?: number;
  strides?: number;
  padding?: number | 'same' | 'valid';
  poolSize?: number;
  units?: number;
  activation?: 'relu' | 'softmax';
  rate?: number;
  epsilon?: number;
}

export interface LayerInfo {
  name: string;
  type: LayerType;
  outputShape: Shape;
  /** Names of the layers feeding this one (several for a concatenation). */
  inputs: string[];
  params: number;
  trainableParams: number;
  nonTrainableParams: number;
  /**
   * Multiply-adds of one forward pass on one image, counted as mmcv/mmclassification count them:
   * convolution and dense layers k·k·Cin·Cout per output position; batch-norm 2 per element;
   * ReLU 1 per element; pooling 1 per input element; padding, concatenation and dropout 0.
   */
  macs: number;
  /** The convolution/dense share of `macs` (the figure torchvision's model table gives). */
  convMacs: number;
  /** Bytes of this layer's output kept for the backward pass, per image (float32). */
  activationBytes: number;
  /** Index into `Analysis.groups`. */
  group: number;
  /** For dense-block layers: the 1-based layer index inside its block. */
  blockLayer?: number;
  config: LayerConfig;
}

export interface GroupInfo {
  kind: GroupKind;
  /** Keras name prefix: `conv1` (stem), `conv2`..`conv5` (blocks), `pool2`.. (transitions), `head`. */
  name: string;
  /** 1-based block number for blocks and the transition that follows block n. */
  index: number;
  /** Number of dense layers (blocks only). */
  denseLayers: number;
  inputShape: Shape;
  outputShape: Shape;
  params: number;
  trainableParams: number;
  nonTrainableParams: number;
  macs: number;
  convMacs: number;
  activationBytes: number;
  firstLayer: number;
  lastLayer: number;
}

export interface AnalysisProblem {
  /** The group where a spatial size fell under 1 pixel. */
  group: GroupInfo;
  layer: string;
  message: string;
}

export interface Totals {
  params: number;
  trainableParams: number;
  nonTrainableParams: number;
  macs: number;
  convMacs: number;
  activationBytes: number;
}

export interface Analysis {
  input: InputShape;
  classes: number;
  layers: LayerInfo[];
  groups: GroupInfo[];
  totals: Totals;
  /** Set when the input is too small for the network's downsampling; layers stop there. */
  problem?: AnalysisProblem;
}

export const BN_EPSILON = 1.001e-5;
const BYTES_PER_FLOAT = 4;

/** Spatial size after a valid convolution or pooling. */
function reduced(size: number, kernel: number, stride: number, pad: number): number {
  return Math.floor((size + 2 * pad - kernel) / stride) + 1;
}

class Builder {
  readonly layers: LayerInfo[] = [];
  readonly groups: GroupInfo[] = [];
  problem?: AnalysisProblem;

  group(kind: GroupKind, name: string, index: number, inputShape: Shape): GroupInfo {
    const g: GroupInfo = {
      kind,
      name,
      index,
      denseLayers: 0,
      inputShape,
      outputShape: inputShape,
      params: 0,
      trainableParams: 0,
      nonTrainableParams: 0,
      macs: 0,
      convMacs: 0,
      activationBytes: 0,
      firstLayer: this.layers.length,
      lastLayer: this.layers.length - 1,
    };
    this.groups.push(g);
    return g;
  }

  add(
    name: string,
    type: LayerType,
    inputs: string[],
    outputShape: Shape,
    counts: { trainable?: number; nonTrainable?: number; macs?: number; convMacs?: number },
    config: LayerConfig = {},
    blockLayer?: number,
  ): LayerInfo {
    const trainableParams = counts.trainable ?? 0;
    const nonTrainableParams = counts.nonTrainable ?? 0;
    const layer: LayerInfo = {
      name,
      type,
      outputShape,
      inputs,
      params: trainableParams + nonTrainableParams,
      trainableParams,
      nonTrainableParams,
      macs: (counts.macs ?? 0) + (counts.convMacs ?? 0),
      convMacs: counts.convMacs ?? 0,
      activationBytes: size(outputShape) * BYTES_PER_FLOAT,
      group: this.groups.length - 1,
      blockLayer,
      config,
    };
    this.layers.push(layer);
    const g = this.groups[this.groups.length - 1];
    g.outputShape = outputShape;
    g.params += layer.params;
    g.trainableParams += trainableParams;
    g.nonTrainableParams += nonTrainableParams;
    g.macs += layer.macs;
    g.convMacs += layer.convMacs;
    g.activationBytes += layer.activationBytes;
    g.lastLayer = this.layers.length - 1;
    return layer;
  }

  /** Checks a new spatial size; records the problem and returns false when it falls under 1 px. */
  fits(shape: Shape, layer: string, inputHw: string): boolean {
    if (shape[0] >= 1 && shape[1] >= 1) return true;
    const g = this.groups[this.groups.length - 1];
    // Padded stem layers keep at least 1 px, so in practice this is a transition's pooling.
    const where = g.kind === 'transition' ? `transition ${g.index} (${g.name}, after dense block ${g.index})` : g.name;
    this.problem = {
      group: g,
      layer,
      message:
        `The input ${inputHw} is too small: the feature maps fall under 1 px at ${where}, layer ${layer} ` +
        `(${shape[0]}x${shape[1]}). Use a larger input or fewer dense blocks.`,
    };
    return false;
  }

  bn(name: string, from: string, shape: Shape, blockLayer?: number): LayerInfo {
    const c = shape[shape.length - 1];
    return this.add(
      name,
      'BatchNormalization',
      [from],
      shape,
      { trainable: 2 * c, nonTrainable: 2 * c, macs: 2 * size(shape) },
      { epsilon: BN_EPSILON },
      blockLayer,
    );
  }

  relu(name: string, from: string, shape: Shape, blockLayer?: number): LayerInfo {
    return this.add(name, 'Activation', [from], shape, { macs: size(shape) }, { activation: 'relu' }, blockLayer);
  }

  conv(
    name: string,
    from: string,
    inShape: Shape,
    filters: number,
    k: number,
    stride: number,
    blockLayer?: number,
  ): LayerInfo {
    const pad = stride === 1 ? Math.floor(k / 2) : 0; // stride-1 convolutions are 'same'; strided ones follow an explicit ZeroPadding2D
    const out: Shape = [reduced(inShape[0], k, stride, pad), reduced(inShape[1], k, stride, pad), filters];
    const weights = k * k * inShape[2] * filters;
    return this.add(
      name,
      'Conv2D',
      [from],
      out,
      { trainable: weights, convMacs: Math.max(0, out[0] * out[1]) * weights },
      { filters, kernelSize: k, strides: stride, padding: pad > 0 || k === 1 ? 'same' : 'valid' },
      blockLayer,
    );
  }

  dropout(name: string, from: string, shape: Shape, rate: number, blockLayer?: number): LayerInfo {
    return this.add(name, 'Dropout', [from], shape, {}, { rate }, blockLayer);
  }
}

const size = (s: Shape) => s.reduce((a, b) => a * b, 1);

/** Where the network has got to: the name of the last layer added and its output shape. */
interface Cursor {
  last: string;
  shape: Shape;
}

/** The input layer and the stem (conv1: convolution, optionally BN-ReLU and 3x3/2 max pooling). */
function addInputAndStem(b: Builder, model: ModelConfig, input: InputShape, inputHw: string): Cursor {
  let shape: Shape = [input.height, input.width, input.channels];
  b.group('input', 'input', 0, shape);
  let last = b.add('input_1', 'InputLayer', [], shape, {}).name;

  b.group('stem', 'conv1', 0, shape);
  const k = model.stem.kernelSize;
  const stemPad = Math.floor(k / 2);
  let paddings = 0;
  const zeroPad = (pad: number) => {
    shape = [shape[0] + 2 * pad, shape[1] + 2 * pad, shape[2]];
    last = b.add(
      paddings++ === 0 ? 'zero_padding2d' : `zero_padding2d_${paddings - 1}`,
      'ZeroPadding2D',
      [last],
      shape,
      {},
      { padding: pad },
    ).name;
  };
  if (model.stem.stride > 1 && stemPad > 0) zeroPad(stemPad);
  const stemConv = b.conv('conv1_conv', last, shape, model.numInitFeatures, k, model.stem.stride);
  shape = stemConv.outputShape;
  last = stemConv.name;
  if (b.fits(shape, last, inputHw)) {
    if (model.stem.norm) {
      last = b.bn('conv1_bn', last, shape).name;
      last = b.relu('conv1_relu', last, shape).name;
    }
    if (model.stem.pool === 'max') {
      zeroPad(1);
      const pooled = size(shape);
      shape = [reduced(shape[0], 3, 2, 0), reduced(shape[1], 3, 2, 0), shape[2]];
      last = b.add(
        'pool1',
        'MaxPooling2D',
        [last],
        shape,
        { macs: pooled },
        { poolSize: 3, strides: 2, padding: 'valid' },
      ).name;
      b.fits(shape, last, inputHw);
    }
  }
  return { last, shape };
}

/** Dense block `blockIdx` (0-based; Keras stage conv{blockIdx + 2}): its layers, each concatenated to its input. */
function addDenseBlock(b: Builder, model: ModelConfig, blockIdx: number, at: Cursor): Cursor {
  const growth = model.growthRate;
  const stage = blockIdx + 2;
  let { last, shape } = at;
  const block = b.group('block', `conv${stage}`, blockIdx + 1, shape);
  for (let i = 1; i <= model.blockConfig[blockIdx]; i++) {
    const p = `conv${stage}_block${i}`;
    const blockInput = last;
    let x = b.bn(`${p}_0_bn`, last, shape, i).name;
    x = b.relu(`${p}_0_relu`, x, shape, i).name;
    let inner = shape;
    if (model.bnSize > 0) {
      const c1 = b.conv(`${p}_1_conv`, x, shape, model.bnSize * growth, 1, 1, i);
      inner = c1.outputShape;
      x = c1.name;
      if (model.dropRate > 0) x = b.dropout(`${p}_1_drop`, x, inner, model.dropRate, i).name;
      x = b.bn(`${p}_1_bn`, x, inner, i).name;
      x = b.relu(`${p}_1_relu`, x, inner, i).name;
    }
    const c2 = b.conv(`${p}_2_conv`, x, inner, growth, 3, 1, i);
    x = c2.name;
    if (model.dropRate > 0) x = b.dropout(`${p}_2_drop`, x, c2.outputShape, model.dropRate, i).name;
    shape = [shape[0], shape[1], shape[2] + growth];
    last = b.add(`${p}_concat`, 'Concatenate', [blockInput, x], shape, {}, {}, i).name;
    block.denseLayers++;
  }
  return { last, shape };
}

/** The transition after dense block `blockIdx` (pool{blockIdx + 2}): BN-ReLU, 1x1 compression, 2x2 average pooling. */
function addTransition(b: Builder, model: ModelConfig, blockIdx: number, at: Cursor, inputHw: string): Cursor {
  const p = `pool${blockIdx + 2}`;
  let { last, shape } = at;
  b.group('transition', p, blockIdx + 1, shape);
  last = b.bn(`${p}_bn`, last, shape).name;
  last = b.relu(`${p}_relu`, last, shape).name;
  const t = b.conv(`${p}_conv`, last, shape, Math.floor(shape[2] * model.compression), 1, 1);
  shape = t.outputShape;
  last = t.name;
  if (model.dropRate > 0) last = b.dropout(`${p}_drop`, last, shape, model.dropRate).name;
  const pooled = size(shape);
  shape = [reduced(shape[0], 2, 2, 0), reduced(shape[1], 2, 2, 0), shape[2]];
  last = b.add(
    `${p}_pool`,
    'AveragePooling2D',
    [last],
    shape,
    { macs: pooled },
    { poolSize: 2, strides: 2, padding: 'valid' },
  ).name;
  b.fits(shape, last, inputHw);
  return { last, shape };
}

/** The head: BN-ReLU, global average pooling and the softmax classifier. */
function addHead(b: Builder, at: Cursor, classes: number): void {
  const { shape } = at;
  b.group('head', 'head', 0, shape);
  let last = b.bn('bn', at.last, shape).name;
  last = b.relu('relu', last, shape).name;
  const c = shape[2];
  last = b.add('avg_pool', 'GlobalAveragePooling2D', [last], [c], { macs: size(shape) }).name;
  b.add(
    'predictions',
    'Dense',
    [last],
    [classes],
    { trainable: c * classes + classes, convMacs: c * classes },
    { units: classes, activation: 'softmax' },
  );
}

function totalsOf(layers: LayerInfo[]): Totals {
  const totals: Totals = {
    params: 0,
    trainableParams: 0,
    nonTrainableParams: 0,
    macs: 0,
    convMacs: 0,
    activationBytes: 0,
  };
  for (const l of layers) {
    totals.params += l.params;
    totals.trainableParams += l.trainableParams;
    totals.nonTrainableParams += l.nonTrainableParams;
    totals.macs += l.macs;
    totals.convMacs += l.convMacs;
    totals.activationBytes += l.activationBytes;
  }
  return totals;
}

/** Analyses a DenseNet built from `model` for images of `input` and `classes` output classes. */
export function analyze(model: ModelConfig, input: InputShape, classes: number): Analysis {
  const b = new Builder();
  const inputHw = `${input.height}x${input.width}`;
  let at = addInputAndStem(b, model, input, inputHw);
  const nBlocks = model.blockConfig.length;
  for (let blockIdx = 0; blockIdx < nBlocks && !b.problem; blockIdx++) {
    at = addDenseBlock(b, model, blockIdx, at);
    if (blockIdx < nBlocks - 1) at = addTransition(b, model, blockIdx, at, inputHw);
  }
  if (!b.problem) addHead(b, at, classes);
  return { input, classes, layers: b.layers, groups: b.groups, totals: totalsOf(b.layers), problem: b.problem };
}

/** Optimizer slots per trainable weight (momentum buffers, Adam moments). */
export function optimizerSlots(optimizer: string): number {
  switch (optimizer.toLowerCase()) {
    case 'adam':
    case 'adamw':
      return 2;
    case 'sgd':
    case 'momentum':
    case 'rmsprop':
      return 1;
    default:
      return 1;
  }
}

export interface MemoryEstimate {
  weightsBytes: number;
  gradientBytes: number;
  optimizerBytes: number;
  activationBytes: number;
  totalBytes: number;
}

/**
 * Bytes per image of the layer outputs the engine keeps for the backward pass. Batch norm and the ReLU after it
 * run as one op that keeps only its input, so a batch norm's own output is never kept. With `memoryEfficient`
 * (training.memoryEfficient), concatenations stay as their pieces (outputs already kept) and the ReLU outputs
 * that feed a convolution are recomputed in the backward pass, so neither is kept either.
 */
export function storedActivationBytes(a: Analysis, memoryEfficient = false): number {
  const consumers = new Map<string, LayerInfo[]>();
  for (const l of a.layers) {
    for (const i of l.inputs) {
      const list = consumers.get(i);
      if (list) list.push(l);
      else consumers.set(i, [l]);
    }
  }
  const isRelu = (l: LayerInfo) => l.type === 'Activation' && l.config.activation !== 'softmax';
  let bytes = 0;
  for (const l of a.layers) {
    const next = consumers.get(l.name) ?? [];
    if (l.type === 'BatchNormalization' && next.length === 1 && isRelu(next[0])) continue;
    if (memoryEfficient && l.type === 'Concatenate') continue;
    if (memoryEfficient && isRelu(l) && next.length > 0 && next.every((n) => n.type === 'Conv2D')) continue;
    bytes += l.activationBytes;
  }
  return bytes;
}

/**
 * Training memory at a batch size: weights (incl. batch-norm statistics), a gradient per trainable weight,
 * the optimizer's slots, and the layer outputs kept for the backward pass (storedActivationBytes).
 */
export function trainingMemory(
  a: Analysis,
  batchSize: number,
  optimizer = 'sgd',
  memoryEfficient = false,
): MemoryEstimate {
  const weightsBytes = a.totals.params * BYTES_PER_FLOAT;
  const gradientBytes = a.totals.trainableParams * BYTES_PER_FLOAT;
  const optimizerBytes = a.totals.trainableParams * BYTES_PER_FLOAT * optimizerSlots(optimizer);
  const activationBytes = storedActivationBytes(a, memoryEfficient) * batchSize;
  return {
    weightsBytes,
    gradientBytes,
    optimizerBytes,
    activationBytes,
    totalBytes: weightsBytes + gradientBytes + optimizerBytes + activationBytes,
  };
}
