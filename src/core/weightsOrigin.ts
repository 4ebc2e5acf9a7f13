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

/** The format a weights path names by its extension (a folder: a DenseNet Lab run or checkpoint). */
export function formatOfPath(ref: string): WeightsFormat | undefined {
  const ext = /\.([a-z0-9]+)$/i.exec(ref)?.[1]?.toLowerCase();
  if (ext === 'pth' || ext === 'pt' || ext === 'bin') return 'pytorch';
  if (ext === 'safetensors') return 'safetensors';
  if (ext === 'h5' || ext === 'hdf5' || ext === 'keras') return 'keras-h5';
  if (ext === 'onnx') return 'onnx';
  if (ext === 'json' || ext === undefined) return 'tfjs';
  return undefined;
}

/**
 * Where the model starts from, in words, e.g. "Starts from torchvision:densenet121 (ImageNet, 1000 classes;
 * downloaded once) · classifier replaced: 1000 → 5 classes". `bytes`: the size of a weights file.
 */
export function describeWeightsRef(
  ref: string,
  classes: number,
  o: { pretrained: boolean; exists?: boolean; bytes?: number },
): string {
  if (o.pretrained) {
    const replaced = classes !== 1000 ? ` · classifier replaced: 1000 → ${classes} classes` : '';
    return `Starts from ${ref} (ImageNet, 1000 classes; downloaded once)${replaced}`;
  }
  if (o.exists === false) return `Weights not found: ${ref}`;
  const format = formatOfPath(ref);
  const size = o.bytes !== undefined ? `, ${(o.bytes / 2 ** 20).toFixed(1)} MB` : '';
  return `Starts from ${ref} (${format ? WEIGHTS_FORMAT_TITLES[format] : 'weights'}${size})`;
}

/** The code lens over `model.weights`: `describeWeightsRef` with an icon. */
export function weightsLensTitle(
  ref: string,
  classes: number,
  o: { pretrained: boolean; exists?: boolean; bytes?: number },
): string {
  const icon = o.pretrained ? '$(cloud-download)' : o.exists === false ? '$(warning)' : '$(file-binary)';
  return `${icon} ${describeWeightsRef(ref, classes, o)}`;
}
