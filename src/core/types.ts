/**
 * The resolved model configuration that the analysis, the engine and the webviews share (the spec as written,
 * `SpecDocument`, comes from the schema in specSchema.ts). Pure: imports neither `vscode` nor tfjs.
 */

export interface InputShape {
  height: number;
  width: number;
  channels: number;
}

export type StemPool = 'max' | 'none';

export interface StemConfig {
  /** Side of the square stem convolution (7 for ImageNet models, 3 for CIFAR ones). */
  kernelSize: number;
  /** Stride of the stem convolution. */
  stride: number;
  /** `max`: a 3x3/2 max pool after the stem (ImageNet); `none`: no pooling (CIFAR). */
  pool: StemPool;
  /** Batch-norm + ReLU after the stem convolution (ImageNet models: true; the paper's CIFAR models: false). */
  norm: boolean;
}

/** A model configuration with every field present: what a preset expands to. */
export interface ModelConfig {
  growthRate: number;
  blockConfig: number[];
  /** Bottleneck width multiplier: the 1x1 convolution has bnSize*growthRate filters. 0 = no bottleneck. */
  bnSize: number;
  /** Transition compression θ in (0, 1]: a transition keeps floor(θ·m) of its m channels. */
  compression: number;
  numInitFeatures: number;
  stem: StemConfig;
  dropRate: number;
  /**
   * FC-DenseNet (Jégou et al. 2017, "The One Hundred Layers Tiramisu"): an up path after the dense blocks turns
   * the network into a per-pixel classifier. The blocks of `blockConfig` form the down path, each followed by a
   * transition down (BN-ReLU, 1x1 convolution keeping every channel, 2x2 max pooling).
   */
  decoder?: DecoderConfig;
}

/** The bottleneck and up path of an FC-DenseNet. */
export interface DecoderConfig {
  /** Layers of the dense block between the down and the up path. */
  bottleneckLayers: number;
  /**
   * Layers of each up-path dense block, coarsest first: one per down block (the down path mirrored in the paper).
   * Each follows a transition up (3x3 transposed convolution, stride 2, of the previous block's new feature maps)
   * and the skip connection from the down block of the same resolution.
   */
  upBlockConfig: number[];
}

/**
 * What the network predicts: one class per image (softmax), any number of labels per image (one sigmoid per
 * label), or one class per pixel (FC-DenseNet).
 */
export type Task = 'classification' | 'multilabel' | 'segmentation';

/** A spec resolved against its preset and defaults, ready for analysis. */
export interface ResolvedSpec {
  name: string;
  /**
   * `segmentation`: an FC-DenseNet (model.decoder) with a class per pixel; `multilabel`: a classifier with a
   * sigmoid per label; `classification`: one class per image.
   */
  task: Task;
  input: InputShape;
  classes: number;
  model: ModelConfig;
  preset?: string;
  /**
   * `model.weights` as written: a weights file (relative to the spec), a run or checkpoint folder, or a known
   * pretrained name (`torchvision:densenet121`). The model starts from these weights.
   */
  weights?: string;
  batchSize: number;
  optimizer: string;
  /** training.memoryEfficient: the dense blocks recompute instead of storing (lower training memory). */
  memoryEfficient: boolean;
  /** training.freeze as written (a string), if any: see ./freeze. */
  freeze?: string;
}
