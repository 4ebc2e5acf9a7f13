/**
 * The analysis' layer builder: adds layers and groups with their shapes, parameters, multiply-adds and activation
 * memory, and the input and stem every DenseNet starts with. Used by the classifier's analysis (./analyze) and
 * the FC-DenseNet's (./fcDenseNet). Pure.
 */
import type {
  AnalysisProblem,
  GroupInfo,
  GroupKind,
  LayerConfig,
  LayerInfo,
  LayerType,
  Shape,
  Totals,
} from './analysisTypes';
import type { InputShape, ModelConfig } from './types';

export const BN_EPSILON = 1.001e-5;
export const BYTES_PER_FLOAT = 4;

/** Spatial size after a valid convolution or pooling. */
export function reduced(size: number, kernel: number, stride: number, pad: number): number {
  return Math.floor((size + 2 * pad - kernel) / stride) + 1;
}

export class Builder {
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
    useBias = false,
  ): LayerInfo {
    const pad = stride === 1 ? Math.floor(k / 2) : 0; // stride-1 convolutions are 'same'; strided ones follow an explicit ZeroPadding2D
    const out: Shape = [reduced(inShape[0], k, stride, pad), reduced(inShape[1], k, stride, pad), filters];
    const weights = k * k * inShape[2] * filters;
    const config: LayerConfig = {
      filters,
      kernelSize: k,
      strides: stride,
      padding: pad > 0 || k === 1 ? 'same' : 'valid',
    };
    if (useBias) config.useBias = true;
    return this.add(
      name,
      'Conv2D',
      [from],
      out,
      { trainable: weights + (useBias ? filters : 0), convMacs: Math.max(0, out[0] * out[1]) * weights },
      config,
      blockLayer,
    );
  }

  /** A 3x3 transposed convolution with stride 2 and 'same' padding: twice the height and width. */
  upConv(name: string, from: string, inShape: Shape, filters: number): LayerInfo {
    const weights = 9 * inShape[2] * filters;
    return this.add(
      name,
      'Conv2DTranspose',
      [from],
      [inShape[0] * 2, inShape[1] * 2, filters],
      { trainable: weights, convMacs: inShape[0] * inShape[1] * weights },
      { filters, kernelSize: 3, strides: 2, padding: 'same' },
    );
  }

  dropout(name: string, from: string, shape: Shape, rate: number, blockLayer?: number): LayerInfo {
    return this.add(name, 'Dropout', [from], shape, {}, { rate }, blockLayer);
  }
}

export const size = (s: Shape) => s.reduce((a, b) => a * b, 1);

/** Where the network has got to: the name of the last layer added and its output shape. */
export interface Cursor {
  last: string;
  shape: Shape;
}

/** The input layer and the stem (conv1: convolution, optionally BN-ReLU and 3x3/2 max pooling). */
export function addInputAndStem(b: Builder, model: ModelConfig, input: InputShape, inputHw: string): Cursor {
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

export function totalsOf(layers: LayerInfo[]): Totals {
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
