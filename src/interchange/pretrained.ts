/**
 * The known pretrained ImageNet DenseNets by name (`torchvision:densenet121`, `keras:densenet169`, …): where their
 * official weight files are, how to check them, and what the weights expect (batch-norm epsilon, preprocessing).
 *
 * Facts taken from the libraries' own sources:
 * - torchvision: pytorch/vision `torchvision/models/densenet.py` (`model_urls` at commit
 *   5fbfd2b41a5f46d334c86cfba3da85a9b171cc0e; the same URLs as `DenseNet121_Weights.IMAGENET1K_V1` … in
 *   torchvision 0.14.1). torch.hub checks such a file by the `-<hex>.` in its name: the start of its SHA-256
 *   (`torch/hub.py`, `HASH_REGEX` and `download_url_to_file(..., hash_prefix)`).
 * - Keras: keras-team/keras `keras/src/applications/densenet.py` at commit
 *   cb6ece3e2ead7baec874cb71e579fbf310b1b05c (`DENSENET121_WEIGHT_PATH` …, `file_hash` of `get_file`: a
 *   32-digit hash is an MD5). The files "with top" (`..._tf_dim_ordering_tf_kernels.h5`) hold the 1000-class head.
 *
 * Pure data and a name parser: no I/O (the download is src/interchange/download.ts).
 */
import { editDistance, EDIT_DISTANCE_MAX_LENGTH } from '../core/presets';
import { KERAS_BN_EPSILON, TORCH_BN_EPSILON } from './tensors';

/** Who publishes the weights. */
export type PretrainedSource = 'torchvision' | 'keras';

/** The file format of the weights: a `torch.save` zip of a state dict, or a Keras weights-only HDF5 file. */
export type PretrainedFormat = 'pytorch' | 'keras-h5';

/**
 * How a weight file is checked: `sha256-prefix` — its SHA-256 (hex) starts with `value` (torch.hub's convention,
 * the prefix is also in the file name); `md5` — its MD5 (hex) is `value` (Keras' `get_file(file_hash=…)`).
 */
export interface PretrainedChecksum {
  kind: 'sha256-prefix' | 'md5';
  /** Lower-case hex digits. */
  value: string;
}

/** The input the weights were trained on: `((pixel * scale) - mean) / std` per RGB channel. */
export interface PretrainedPreprocessing {
  channelOrder: 'RGB';
  /** Multiplies the 0–255 pixel values first (1/255). */
  scale: number;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  /** The square input side of the published accuracy (224). */
  inputSize: number;
}

/** One known pretrained model. */
export interface PretrainedEntry {
  /** `source:preset`, e.g. `torchvision:densenet121`. */
  name: string;
  source: PretrainedSource;
  /** The architecture preset of src/core/presets.ts (`densenet121`, `densenet161`, …). */
  preset: string;
  url: string;
  /** The official file name (the last part of the URL), also its name in the download cache. */
  fileName: string;
  checksum: PretrainedChecksum;
  format: PretrainedFormat;
  classes: number;
  /** Batch-norm epsilon the weights were trained with. */
  bnEpsilon: number;
  preprocessing: PretrainedPreprocessing;
  /** Where the weights come from and under which terms, for the user to check before redistributing them. */
  licence: string;
}

/** ImageNet preprocessing of torchvision and of Keras' DenseNets ("torch" mode): the same for both sources. */
export const IMAGENET_PREPROCESSING: PretrainedPreprocessing = Object.freeze({
  channelOrder: 'RGB',
  scale: 1 / 255,
  mean: Object.freeze([0.485, 0.456, 0.406] as const),
  std: Object.freeze([0.229, 0.224, 0.225] as const),
  inputSize: 224,
});

const TORCHVISION_LICENCE =
  'Published by torchvision (BSD-3-Clause), ported from the LuaTorch DenseNet models of Zhuang Liu ' +
  '(github.com/liuzhuang13/DenseNet, BSD-3-Clause); trained on ImageNet images, whose terms of access ' +
  'cover non-commercial research and education. Check these terms before using the weights commercially or ' +
  'redistributing them.';

const KERAS_LICENCE =
  'Published with keras.applications (Keras: Apache-2.0), ported from the LuaTorch DenseNet models of Zhuang Liu ' +
  '(github.com/liuzhuang13/DenseNet, BSD-3-Clause); trained on ImageNet images, whose terms of access ' +
  'cover non-commercial research and education. Check these terms before using the weights commercially or ' +
  'redistributing them.';

const TORCHVISION_BASE = 'https://download.pytorch.org/models/';
const KERAS_BASE = 'https://storage.googleapis.com/tensorflow/keras-applications/densenet/';

function torchvision(preset: string, hashPrefix: string): PretrainedEntry {
  const fileName = `${preset}-${hashPrefix}.pth`;
  return {
    name: `torchvision:${preset}`,
    source: 'torchvision',
    preset,
    url: TORCHVISION_BASE + fileName,
    fileName,
    checksum: { kind: 'sha256-prefix', value: hashPrefix },
    format: 'pytorch',
    classes: 1000,
    bnEpsilon: TORCH_BN_EPSILON,
    preprocessing: IMAGENET_PREPROCESSING,
    licence: TORCHVISION_LICENCE,
  };
}

function keras(preset: string, md5: string): PretrainedEntry {
  const fileName = `${preset}_weights_tf_dim_ordering_tf_kernels.h5`;
  return {
    name: `keras:${preset}`,
    source: 'keras',
    preset,
    url: KERAS_BASE + fileName,
    fileName,
    checksum: { kind: 'md5', value: md5 },
    format: 'keras-h5',
    classes: 1000,
    bnEpsilon: KERAS_BN_EPSILON,
    preprocessing: IMAGENET_PREPROCESSING,
    licence: KERAS_LICENCE,
  };
}

/** Every known pretrained model, torchvision's first. */
export const PRETRAINED: readonly PretrainedEntry[] = Object.freeze([
  torchvision('densenet121', 'a639ec97'),
  torchvision('densenet161', '8d451a50'),
  torchvision('densenet169', 'b2777c0a'),
  torchvision('densenet201', 'c1103571'),
  keras('densenet121', '9d60b8095a5708f2dcce2bca79d332c7'),
  keras('densenet169', 'd699b8f76981ab1b30698df4c175e90b'),
  keras('densenet201', '1ceb130c1ea1b78c3bf6114dbdfd8807'),
]);

/** The names `parsePretrainedName` accepts, in registry order. */
export const PRETRAINED_NAMES: readonly string[] = PRETRAINED.map((e) => e.name);

/** The entry of a name (`torchvision:densenet121`; case and surrounding spaces ignored), or undefined. */
export function findPretrained(name: string): PretrainedEntry | undefined {
  const wanted = name.trim().toLowerCase();
  return PRETRAINED.find((e) => e.name === wanted);
}

/** The entries of one architecture preset (`densenet121` → its torchvision and Keras weights). */
export function pretrainedForPreset(preset: string): PretrainedEntry[] {
  return PRETRAINED.filter((e) => e.preset === preset.trim().toLowerCase());
}

/** The known name closest to `name` (ignoring case, `-`, `_` and spaces). */
function nearestName(name: string): string {
  const norm = (s: string) => s.toLowerCase().replace(/[-_\s]/g, '');
  let best = PRETRAINED_NAMES[0];
  let bestDistance = Infinity;
  for (const candidate of PRETRAINED_NAMES) {
    const d = editDistance(norm(name.slice(0, EDIT_DISTANCE_MAX_LENGTH)), norm(candidate));
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * The entry of a pretrained model's name, e.g. `torchvision:densenet121` or `keras:densenet201` (case and
 * surrounding spaces ignored).
 * @throws Error naming the known names; a bare preset (`densenet121`) asks for its source, and any other name
 *   gets the closest known one ("did you mean …").
 */
export function parsePretrainedName(name: string): PretrainedEntry {
  const found = findPretrained(name);
  if (found) return found;
  const known = `Known pretrained models: ${PRETRAINED_NAMES.join(', ')}.`;
  const shown = JSON.stringify(name.slice(0, EDIT_DISTANCE_MAX_LENGTH));
  const sources = pretrainedForPreset(name);
  if (sources.length > 0) {
    throw new Error(
      `Pretrained model ${shown} needs its source: write ${sources.map((e) => e.name).join(' or ')}. ${known}`,
    );
  }
  throw new Error(`Unknown pretrained model ${shown}; did you mean ${nearestName(name)}? ${known}`);
}
