/** The analysis' types: layers, groups, totals (see ./analyze). Pure. */
import type { InputShape, Task } from './types';

export type LayerType =
  | 'InputLayer'
  | 'ZeroPadding2D'
  | 'Conv2D'
  | 'Conv2DTranspose'
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

/** `upsample`: an FC-DenseNet transition up (transposed convolution and the skip connection). */
export type GroupKind = 'input' | 'stem' | 'block' | 'transition' | 'upsample' | 'head';

/** Where an FC-DenseNet's dense block sits: on the down path, between the paths, or on the up path. */
export type BlockPath = 'down' | 'bottleneck' | 'up';

export interface LayerConfig {
  filters?: number;
  kernelSize?: number;
  strides?: number;
  padding?: number | 'same' | 'valid';
  poolSize?: number;
  units?: number;
  activation?: 'relu' | 'softmax' | 'sigmoid';
  rate?: number;
  epsilon?: number;
  /** A convolution with a bias (only the segmentation classifier: every other one is followed by a batch norm). */
  useBias?: boolean;
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
  /** FC-DenseNet groups: the path a block or transition is on (transitions: `down` or `up`). */
  path?: BlockPath;
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
  /** `segmentation` for an FC-DenseNet (a class per pixel); `multilabel` for a sigmoid per label. */
  task: Task;
  layers: LayerInfo[];
  groups: GroupInfo[];
  totals: Totals;
  /** Set when the input is too small for the network's downsampling; layers stop there. */
  problem?: AnalysisProblem;
}
