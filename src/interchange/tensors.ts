/**
 * The common currency of weight import and export: tensors read from (or written to) files from outside —
 * PyTorch `.pth`, safetensors, Keras `.h5`, ONNX — as plain typed arrays, never trusted beyond their bytes.
 *
 * Node only, no tfjs, no vscode: the engine turns `LayerWeights` into a model's variables (src/engine/weights.ts).
 */

/** A tensor as a file stores it: its shape, its dtype as the file names it, and its values converted to float32. */
export interface ForeignTensor {
  shape: number[];
  /** The stored dtype, in the file's own words (`float32`, `F16`, `torch.HalfStorage`, `int64`, …). */
  dtype: string;
  values: Float32Array;
}

/** Tensors by their name in the file (`features.conv0.weight`, `conv1/conv/kernel:0`, …), in file order. */
export type TensorDict = Map<string, ForeignTensor>;

/** One tensor of a model layer, in tfjs layout (convolution kernels HWIO, dense kernels [in, out]). */
export interface LayerTensor {
  shape: number[];
  values: Float32Array;
}

/**
 * Weights per layer of the analysis (Keras layer names: `conv1_conv`, `conv2_block1_0_bn`, `predictions`), each
 * in the order tfjs keeps them: Conv2D [kernel]; BatchNormalization [gamma, beta, movingMean, movingVariance];
 * Dense [kernel, bias].
 */
export type LayerWeights = Map<string, LayerTensor[]>;

/**
 * The parametrised operations of a graph (ONNX), in execution order, in their own layout: what an importer
 * matches, one by one, against the analysis' layers.
 */
export type ParamOp =
  | { op: 'conv'; node: string; weight: ForeignTensor /* OIHW */; bias?: ForeignTensor }
  | {
      op: 'batchnorm';
      node: string;
      scale: ForeignTensor;
      bias: ForeignTensor;
      mean: ForeignTensor;
      variance: ForeignTensor;
      epsilon: number;
    }
  | { op: 'dense'; node: string; weight: ForeignTensor /* [out, in] */; bias?: ForeignTensor };

/** Batch-norm epsilon of torchvision's DenseNets (nn.BatchNorm2d's default). */
export const TORCH_BN_EPSILON = 1e-5;
/** Batch-norm epsilon of keras.applications' DenseNets. */
export const KERAS_BN_EPSILON = 1.001e-5;

/** Element count of a shape (1 for a scalar). */
export const elementCount = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** `[2, 3, 3]`-style text for messages. */
export const shapeText = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/** float16 bits → number (IEEE 754 half precision, subnormals and infinities included). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** bfloat16 bits → number: the upper half of a float32. */
export function bfloat16ToFloat(h: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, (h & 0xffff) << 16, false);
  return view.getFloat32(0, false);
}
