/**
 * The analysis of an FC-DenseNet (Jégou et al. 2017, "The One Hundred Layers Tiramisu"), a DenseNet for semantic
 * segmentation: layer names `down<i>_block<j>_*`, `td<i>_*`, `bottleneck_block<j>_*`, `tu<i>_*`, `up<i>_block<j>_*`,
 * `classifier`, `predictions`. Pure.
 */
import type { Analysis, BlockPath, Shape } from './analysisTypes';
import { addInputAndStem, type Builder, type Cursor, size, totalsOf } from './layerBuilder';
import type { DecoderConfig, InputShape, ModelConfig } from './types';

/** An FC-DenseNet dense block: its full output (input and every new map) and the new maps alone. */
interface FcBlockOutput extends Cursor {
  /** The layer holding only the maps this block added (what a transition up upsamples). */
  fresh: string;
  freshChannels: number;
}

/**
 * An FC-DenseNet dense block `name` of `layers` layers (BN-ReLU-3x3 conv-dropout, each concatenated to its
 * input). With `fresh`, the maps the block added are also concatenated on their own (`<name>_new`), and the
 * last layer's concatenation with the input, which nothing reads, is left out.
 */
function addFcBlock(
  b: Builder,
  model: ModelConfig,
  name: string,
  index: number,
  path: BlockPath,
  layers: number,
  at: Cursor,
  fresh: boolean,
): FcBlockOutput {
  const growth = model.growthRate;
  let { last, shape } = at;
  const block = b.group('block', name, index, shape);
  block.path = path;
  const added: string[] = [];
  for (let i = 1; i <= layers; i++) {
    const p = `${name}_block${i}`;
    let x = b.bn(`${p}_bn`, last, shape, i).name;
    x = b.relu(`${p}_relu`, x, shape, i).name;
    const c = b.conv(`${p}_conv`, x, shape, growth, 3, 1, i);
    x = c.name;
    if (model.dropRate > 0) x = b.dropout(`${p}_drop`, x, c.outputShape, model.dropRate, i).name;
    added.push(x);
    block.denseLayers++;
    if (fresh && i === layers) break;
    shape = [shape[0], shape[1], shape[2] + growth];
    last = b.add(`${p}_concat`, 'Concatenate', [last, x], shape, {}, {}, i).name;
  }
  const freshChannels = growth * layers;
  if (!fresh) return { last, shape, fresh: last, freshChannels };
  const freshName =
    added.length === 1
      ? added[0]
      : b.add(`${name}_new`, 'Concatenate', added, [shape[0], shape[1], freshChannels], {}).name;
  return { last, shape, fresh: freshName, freshChannels };
}

/**
 * FC-DenseNet (Jégou et al. 2017; the authors' code, SimJeg/FC-DenseNet): a 3x3 stem convolution; down blocks,
 * each followed by a transition down (BN-ReLU, 1x1 convolution keeping every channel, dropout, 2x2 max pooling)
 * whose input is also kept as a skip connection; the bottleneck block; then per down block, coarsest first, a
 * transition up (a 3x3/2 transposed convolution of the previous block's new maps, concatenated with the skip)
 * and an up block; a 1x1 convolution to the classes and a softmax at every pixel.
 */
export function analyzeFcDenseNet(
  b: Builder,
  model: ModelConfig,
  decoder: DecoderConfig,
  input: InputShape,
  classes: number,
): Analysis {
  const inputHw = `${input.height}x${input.width}`;
  const done = (): Analysis => ({
    input,
    classes,
    task: 'segmentation',
    layers: b.layers,
    groups: b.groups,
    totals: totalsOf(b.layers),
    problem: b.problem,
  });
  let at: Cursor = addInputAndStem(b, model, input, inputHw);
  const downs = model.blockConfig.length;
  const skips: Cursor[] = [];
  for (let i = 0; i < downs && !b.problem; i++) {
    at = addFcBlock(b, model, `down${i + 1}`, i + 1, 'down', model.blockConfig[i], at, false);
    skips.push(at);
    at = addTransitionDown(b, model, i + 1, at, inputHw, downs);
  }
  if (b.problem) return done();
  let block = addFcBlock(b, model, 'bottleneck', downs + 1, 'bottleneck', decoder.bottleneckLayers, at, true);
  for (let i = 0; i < downs; i++) {
    const skip = skips[downs - 1 - i];
    b.group('upsample', `tu${i + 1}`, i + 1, [block.shape[0], block.shape[1], block.freshChannels]).path = 'up';
    const up = b.upConv(
      `tu${i + 1}_conv`,
      block.fresh,
      [block.shape[0], block.shape[1], block.freshChannels],
      block.freshChannels,
    );
    const shape: Shape = [skip.shape[0], skip.shape[1], block.freshChannels + skip.shape[2]];
    const joined = b.add(`tu${i + 1}_concat`, 'Concatenate', [up.name, skip.last], shape, {}).name;
    const last = i === downs - 1;
    block = addFcBlock(b, model, `up${i + 1}`, i + 1, 'up', decoder.upBlockConfig[i], { last: joined, shape }, !last);
  }
  b.group('head', 'head', 0, block.shape);
  const logits = b.conv('classifier', block.last, block.shape, classes, 1, 1, undefined, true);
  b.add(
    'predictions',
    'Activation',
    [logits.name],
    logits.outputShape,
    { macs: size(logits.outputShape) },
    {
      activation: 'softmax',
    },
  );
  return done();
}

/**
 * The transition down after down block `index`: BN-ReLU, a 1x1 convolution keeping every channel, dropout and
 * 2x2 max pooling. The pooled size must halve exactly, or the up path could not meet the skip connections.
 */
function addTransitionDown(
  b: Builder,
  model: ModelConfig,
  index: number,
  at: Cursor,
  inputHw: string,
  downs: number,
): Cursor {
  const p = `td${index}`;
  let { last, shape } = at;
  b.group('transition', p, index, shape).path = 'down';
  last = b.bn(`${p}_bn`, last, shape).name;
  last = b.relu(`${p}_relu`, last, shape).name;
  const t = b.conv(`${p}_conv`, last, shape, shape[2], 1, 1);
  last = t.name;
  if (model.dropRate > 0) last = b.dropout(`${p}_drop`, last, shape, model.dropRate).name;
  const pooled = size(shape);
  const [h, w] = shape;
  shape = [Math.floor(h / 2), Math.floor(w / 2), shape[2]];
  last = b.add(
    `${p}_pool`,
    'MaxPooling2D',
    [last],
    shape,
    { macs: pooled },
    { poolSize: 2, strides: 2, padding: 'valid' },
  ).name;
  if (!b.fits(shape, last, inputHw)) return { last, shape };
  if (h % 2 !== 0 || w % 2 !== 0) {
    const factor = 2 ** downs;
    const nearest = (n: number) => fcInputSide(n, downs);
    const [inH, inW] = b.layers[0].outputShape;
    b.problem = {
      group: b.groups[b.groups.length - 1],
      layer: last,
      message:
        `The input ${inputHw} does not halve evenly at transition down ${index} (${h}x${w} feature maps): ` +
        `with ${downs} transitions down, height and width must be multiples of ${factor} for the up path to meet ` +
        `the skip connections: use e.g. ${nearest(inH)}x${nearest(inW)}.`,
    };
  }
  return { last, shape };
}

/**
 * The side an FC-DenseNet with `downs` transitions down can take nearest to `side`: a multiple of 2^downs (so
 * that every transition down halves it exactly), at least 2^downs.
 */
export function fcInputSide(side: number, downs: number): number {
  const factor = 2 ** downs;
  return Math.max(factor, Math.round(side / factor) * factor);
}
