/**
 * Exact per-layer analysis of a DenseNet: Keras layer names (keras.applications.densenet), output shapes,
 * trainable and non-trainable parameters, multiply-adds and training activation memory.
 * One source of truth for the editor (hovers, lenses, diagnostics), the engine (model building) and the
 * webviews (diagrams). Pure: no `vscode`, no tfjs.
 */
import { analyzeFcDenseNet } from './fcDenseNet';
import { addInputAndStem, BYTES_PER_FLOAT, Builder, type Cursor, reduced, size, totalsOf } from './layerBuilder';
import type { Analysis, GroupInfo, LayerInfo } from './analysisTypes';
import type { InputShape, ModelConfig, Task } from './types';

export type {
  Analysis,
  AnalysisProblem,
  BlockPath,
  GroupInfo,
  GroupKind,
  LayerConfig,
  LayerInfo,
  LayerType,
  Shape,
  Totals,
} from './analysisTypes';
export { BN_EPSILON } from './layerBuilder';

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

/** The head: BN-ReLU, global average pooling and the classifier (softmax, or a sigmoid per label). */
function addHead(b: Builder, at: Cursor, classes: number, activation: 'softmax' | 'sigmoid'): void {
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
    { units: classes, activation },
  );
}

/**
 * Analyses a DenseNet built from `model` for images of `input` and `classes` output classes: a classifier, or
 * with `model.decoder` an FC-DenseNet that gives every pixel one of `classes` classes. A `multilabel` classifier
 * ends in a sigmoid per label instead of a softmax.
 */
export function analyze(
  model: ModelConfig,
  input: InputShape,
  classes: number,
  task: Task = 'classification',
): Analysis {
  const b = new Builder();
  const inputHw = `${input.height}x${input.width}`;
  if (model.decoder) return analyzeFcDenseNet(b, model, model.decoder, input, classes);
  let at = addInputAndStem(b, model, input, inputHw);
  const nBlocks = model.blockConfig.length;
  for (let blockIdx = 0; blockIdx < nBlocks && !b.problem; blockIdx++) {
    at = addDenseBlock(b, model, blockIdx, at);
    if (blockIdx < nBlocks - 1) at = addTransition(b, model, blockIdx, at, inputHw);
  }
  if (!b.problem) addHead(b, at, classes, task === 'multilabel' ? 'sigmoid' : 'softmax');
  return {
    input,
    classes,
    task: task === 'multilabel' ? 'multilabel' : 'classification',
    layers: b.layers,
    groups: b.groups,
    totals: totalsOf(b.layers),
    problem: b.problem,
  };
}

/** What a group is, for people: `dense block 2 (conv3)`, `transition down 1 (td1)`, `bottleneck`, `up block 3 (up3)`. */
export function groupTitle(g: Pick<GroupInfo, 'kind' | 'name' | 'index' | 'path'>): string {
  switch (g.kind) {
    case 'stem':
      return `stem (${g.name})`;
    case 'block':
      if (g.path === 'bottleneck') return 'bottleneck block (bottleneck)';
      return `${g.path ? `${g.path} ` : 'dense '}block ${g.index} (${g.name})`;
    case 'transition':
      return `transition${g.path === 'down' ? ' down' : ''} ${g.index} (${g.name})`;
    case 'upsample':
      return `transition up ${g.index} (${g.name})`;
    case 'head':
      return 'head';
    default:
      return 'input';
  }
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
