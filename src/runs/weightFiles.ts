/**
 * The weight files of a checkpoint, read without trusting their manifest: a tfjs weights manifest
 * (`[{paths, weights: [{name, shape, dtype}]}]`, in model.json or training_state.json) is type-checked, every
 * path in it must name a regular file inside the checkpoint folder (no absolute path, no `..`, no symbolic link
 * leading out of it), and the files' sizes must add up exactly to the bytes the weights' dtypes and shapes
 * describe: no missing bytes, no trailing ones.
 *
 * No tfjs here: the bytes go to `tf.io.decodeWeights` in src/engine/checkpoint.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { JsonObject } from './jsonCheck';

/** One entry of a tfjs weights manifest (tf.io.WeightsManifestEntry, the JSON part we rely on). */
export interface WeightSpecJson {
  name: string;
  shape: number[];
  dtype: string;
  [extra: string]: unknown;
}

export interface WeightsGroupJson {
  paths: string[];
  weights: WeightSpecJson[];
}

/** Bytes per element of the dtypes tfjs stores in a weights file (`string` weights are not supported). */
const DTYPE_BYTES: Readonly<Record<string, number>> = { float32: 4, int32: 4, bool: 1, complex64: 8 };
/** Bytes per element of a quantized weight (`quantization.dtype`). */
const QUANTIZED_BYTES: Readonly<Record<string, number>> = { uint8: 1, uint16: 2, float16: 2 };

/** Checks one manifest entry; its byte count is `weightBytes`. */
function checkWeightSpec(o: JsonObject): WeightSpecJson {
  o.string('name');
  o.ints('shape');
  o.oneOf('dtype', Object.keys(DTYPE_BYTES));
  const q = o.optObject('quantization');
  if (q) q.oneOf('dtype', Object.keys(QUANTIZED_BYTES));
  return o.value as WeightSpecJson;
}

/** The bytes of one weight in its file: its elements times the size of its (stored) dtype. */
export function weightBytes(spec: WeightSpecJson): number {
  const elements = spec.shape.reduce((a, b) => a * b, 1);
  const q = spec.quantization as { dtype?: string } | undefined;
  const per = q?.dtype !== undefined ? QUANTIZED_BYTES[q.dtype] : DTYPE_BYTES[spec.dtype];
  return elements * per;
}

/** `value` (the `field` of `file`) as a weights manifest; throws naming the field when it is not one. */
export function checkWeightsManifest(file: string, value: unknown, field: string): WeightsGroupJson[] {
  if (!Array.isArray(value))
    return JsonObject.of(file, { [field]: value }).fail(field, 'an array of weight groups', value);
  return value.map((g, i) => {
    const group = JsonObject.of(file, g, `${field}[${i}]`);
    const paths = group.strings('paths');
    const weights = group.objects('weights').map(checkWeightSpec);
    return { ...group.value, paths, weights } as WeightsGroupJson;
  });
}

/**
 * The file a manifest path names, inside `dir`: refuses an absolute path, a `..` segment, and a path whose real
 * location (symbolic links followed) is outside the real `dir` or is not a regular file.
 */
export function confinedWeightFile(dir: string, p: string, manifestFile: string): string {
  const refuse = (why: string): never => {
    throw new Error(
      `${manifestFile}: weight path ${JSON.stringify(p)} ${why}; a checkpoint's weight files must be inside its folder ${dir}`,
    );
  };
  if (p === '' || path.isAbsolute(p) || path.win32.isAbsolute(p) || /^[a-zA-Z]:/.test(p))
    refuse('is absolute or empty');
  if (p.split(/[\\/]/).some((s) => s === '..')) refuse('leads out of the folder (..)');
  const file = path.join(dir, p);
  let real: string;
  let realDir: string;
  try {
    realDir = fs.realpathSync(dir);
    real = fs.realpathSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error(`Weight file ${file} does not exist: loading failed`);
    throw e;
  }
  const rel = path.relative(realDir, real);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) refuse(`is a link to ${real}, outside the folder`);
  if (!fs.statSync(real).isFile()) refuse('is not a regular file');
  return file;
}

/**
 * Reads the weight files of `manifest` (paths relative to `dir`), confined to `dir`, and checks that their sizes
 * add up to the bytes its weights describe. Returns the concatenated bytes, in manifest order.
 */
export function readWeightFiles(dir: string, manifest: readonly WeightsGroupJson[], manifestFile: string): Buffer {
  const files = manifest.flatMap((g) => g.paths.map((p) => confinedWeightFile(dir, p, manifestFile)));
  const expected = manifest.reduce((sum, g) => sum + g.weights.reduce((s, w) => s + weightBytes(w), 0), 0);
  const buffers = files.map((f) => fs.readFileSync(f));
  const actual = buffers.reduce((s, b) => s + b.length, 0);
  if (actual !== expected) {
    const names = files.map((f) => path.basename(f)).join(' + ') || '(no weight file)';
    throw new Error(
      `${names} in ${dir}: ${actual} bytes, but the weights listed in ${manifestFile} take ${expected} bytes (by dtype and shape): the checkpoint is truncated or corrupt`,
    );
  }
  return Buffer.concat(buffers);
}
