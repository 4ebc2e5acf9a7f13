/**
 * Where a model's weights came from: recorded in run.json and in imported checkpoints, shown by hovers, code
 * lenses, the architecture view and the CLI. Pure.
 */

/** The file formats weights are imported from and exported to. */
export type WeightsFormat = 'pytorch' | 'safetensors' | 'keras-h5' | 'onnx' | 'tfjs';

export const WEIGHTS_FORMAT_TITLES: Readonly<Record<WeightsFormat, string>> = {
  pytorch: 'PyTorch state dict',
  safetensors: 'safetensors',
  'keras-h5': 'Keras .h5',
  onnx: 'ONNX',
  tfjs: 'DenseNet Lab checkpoint',
};

export interface WeightsOrigin {
  /** What the spec or the command named: a path, a run folder, or `torchvision:densenet121`. */
  ref: string;
  format: WeightsFormat;
  /** The file (or checkpoint folder) read, absolute. */
  path: string;
  /** SHA-256 of the file read (absent for a checkpoint folder). */
  sha256?: string;
  /** The known pretrained model, e.g. `torchvision:densenet121`. */
  pretrained?: string;
  /** Batch-norm epsilon of the weights' source. */
  batchNormEpsilon: number;
  /** Set when the weights' classifier was replaced: its class count there. */
  replacedClassifierClasses?: number;
}

/** One line for a hover or a lens: "torchvision:densenet121 (PyTorch state dict), classifier replaced (1000 → 5 classes)". */
export function describeWeightsOrigin(o: WeightsOrigin, classes?: number): string {
  const name = o.pretrained ?? o.ref;
  const replaced =
    o.replacedClassifierClasses !== undefined
      ? `, classifier replaced (${o.replacedClassifierClasses} → ${classes ?? '?'} classes)`
      : '';
  return `${name} (${WEIGHTS_FORMAT_TITLES[o.format]})${replaced}`;
}
