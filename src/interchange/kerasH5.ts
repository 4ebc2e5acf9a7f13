/**
 * Keras `.h5` weights: the legacy HDF5 layout that Keras' `model.save_weights('x.h5')` writes and
 * `model.load_weights('x.h5')` reads (root attribute `layer_names`; one group per layer with attribute
 * `weight_names`), also inside a full-model file's `model_weights` group. Keras 2 names DenseNet's stem
 * `conv1/conv`, Keras 3 `conv1_conv`; both are read, either is written.
 *
 * Read and written with h5wasm (HDF5 in WebAssembly); every dataset's class, size and shape is checked.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Analysis } from '../core/analyze';
import { loadH5wasm, type H5wasm } from './h5wasmLoader';
import { checkLayerWeights, paramLayers } from './layerShapes';
import type { MappingOptions } from './layout';
import {
  elementCount,
  shapeText,
  type ForeignTensor,
  type LayerTensor,
  type LayerWeights,
  type TensorDict,
} from './tensors';

type H5Group = InstanceType<H5wasm['Group']>;

/** HDF5's format signature; the superblock sits at offset 0, 512, 1024, 2048, … */
const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
/** Keras splits string-array attributes larger than this (HDF5's object header limit) into `name0`, `name1`, … */
const HDF5_OBJECT_HEADER_LIMIT = 64512;

function hasHdf5Signature(bytes: Uint8Array): boolean {
  for (let at = 0; at + HDF5_SIGNATURE.length <= bytes.length; at = at === 0 ? 512 : at * 2) {
    if (HDF5_SIGNATURE.every((b, i) => bytes[at + i] === b)) return true;
  }
  return false;
}

function notHdf5(what: string): Error {
  return new Error(
    `${what} is not an HDF5 file (no HDF5 signature): a Keras weights file is the .h5 that ` +
      "`model.save_weights('weights.h5')` or `model.save('model.h5')` writes. Check the file (it may be " +
      'truncated or a different format).',
  );
}

/** Attribute `name` of `obj` as strings, joining Keras' chunks `name0`, `name1`, … of large attributes. */
function stringsAttr(obj: H5Group, name: string): string[] | undefined {
  const attrs = obj.attrs;
  const one = (key: string): string[] => {
    const value = attrs[key].value;
    // An empty list: Keras writes `np.asarray([])` (float64) for a weightless layer.
    if (value === null || (ArrayBuffer.isView(value) && value.byteLength === 0)) return [];
    const list = Array.isArray(value) ? value : [value];
    return list.map((v) => {
      if (typeof v === 'string') return v;
      if (v instanceof Uint8Array) return new TextDecoder().decode(v);
      throw new Error(`The attribute ${key} of ${obj.path} holds ${typeof v} values, not names.`);
    });
  };
  if (name in attrs) return one(name);
  if (!(`${name}0` in attrs)) return undefined;
  const out: string[] = [];
  for (let i = 0; `${name}${i}` in attrs; i++) out.push(...one(`${name}${i}`));
  return out;
}

/** The group holding `layer_names`: the root (weights file) or `model_weights` (full-model file). */
function weightsRoot(h5: H5wasm, file: H5Group): { group: H5Group; layers: string[] } {
  const rootNames = stringsAttr(file, 'layer_names');
  if (rootNames) return { group: file, layers: rootNames };
  const mw = file.get('model_weights');
  if (mw instanceof h5.Group) {
    const names = stringsAttr(mw, 'layer_names');
    if (names) return { group: mw, layers: names };
  }
  const hint = file.get('layers') instanceof h5.Group ? " (this looks like Keras 3's `.weights.h5` layout)" : '';
  throw new Error(
    `The HDF5 file has no Keras layer list (attribute layer_names at its root or in model_weights)${hint}. ` +
      "Save the weights in Keras' legacy .h5 layout: `model.save_weights('weights.h5')` (Keras 2) or " +
      "`model.save('model.h5')`.",
  );
}

/** A dataset's values as float32, after checking its class, element size and shape against its data. */
function readDataset(h5: H5wasm, group: H5Group, layer: string, weightName: string): ForeignTensor {
  const where = `${layer}/${weightName}`;
  const ds = group.get(weightName);
  if (!(ds instanceof h5.Dataset))
    throw new Error(`The Keras file names weight ${where} but has no such dataset: the file is damaged.`);
  const meta = ds.metadata;
  const shape = ds.shape ?? [];
  if (meta.type !== 1 || ![4, 8].includes(meta.size))
    throw new Error(
      `Weight ${where} is stored as ${meta.type === 1 ? `float${meta.size * 8}` : `HDF5 type class ${meta.type}`}; ` +
        'only float32 and float64 weights can be imported: convert the file in Keras (load it, then save the ' +
        'weights in float32).',
    );
  if (!shape.every((d) => Number.isInteger(d) && d >= 0) || elementCount(shape) !== meta.total_size)
    throw new Error(`Weight ${where} has an inconsistent shape ${shapeText(shape)}: the file is damaged.`);
  const raw = ds.value;
  const n = elementCount(shape);
  if (!(raw instanceof Float32Array || raw instanceof Float64Array) || raw.length !== n)
    throw new Error(`Weight ${where}: ${shapeText(shape)} needs ${n} values, the dataset holds another count.`);
  const values = raw instanceof Float32Array ? raw : Float32Array.from(raw);
  return { shape, dtype: `float${meta.size * 8}`, values };
}

function readOpenFile(h5: H5wasm, file: H5Group): TensorDict {
  const { group, layers } = weightsRoot(h5, file);
  const dict: TensorDict = new Map();
  for (const layer of layers) {
    const g = group.get(layer);
    if (!(g instanceof h5.Group))
      throw new Error(`The Keras file lists layer ${layer} in layer_names but has no group for it: it is damaged.`);
    for (const weightName of stringsAttr(g, 'weight_names') ?? []) {
      const key = `${layer}/${weightName.split('/').pop()}`;
      if (dict.has(key)) throw new Error(`The Keras file has two weights named ${key}: it is damaged.`);
      dict.set(key, readDataset(h5, g, layer, weightName));
    }
  }
  return dict;
}

/**
 * Reads the weights of a Keras legacy `.h5` file (weights file or full model) from its bytes or its path.
 * Keys are `<layer>/<weight>` with the layer as the file names it (`conv1/conv/kernel:0`, `conv1_conv/kernel`),
 * in the file's layer order.
 */
export async function readKerasH5(source: Uint8Array | string): Promise<TensorDict> {
  const label = typeof source === 'string' ? source : 'The data';
  const bytes = typeof source === 'string' ? fs.readFileSync(source) : source;
  if (!hasHdf5Signature(bytes)) throw notHdf5(label);
  const h5 = await loadH5wasm();
  let dir: string | undefined;
  let file = typeof source === 'string' ? path.resolve(source) : '';
  if (typeof source !== 'string') {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'densenet-h5-'));
    file = path.join(dir, 'weights.h5');
    fs.writeFileSync(file, bytes);
  }
  try {
    let opened: InstanceType<H5wasm['File']>;
    try {
      opened = new h5.File(file, 'r');
    } catch (e) {
      throw new Error(`${label} could not be opened as HDF5 (it may be truncated or damaged): ${hdf5Reason(e)}`);
    }
    try {
      return readOpenFile(h5, opened);
    } catch (e) {
      if (e instanceof Error && !/HDF5-DIAG/.test(e.message)) throw e;
      throw new Error(`${label} could not be read as HDF5 (it may be truncated or damaged): ${hdf5Reason(e)}`);
    } finally {
      opened.close();
    }
  } finally {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

function hdf5Reason(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const lines = text.split('\n').map((l) => l.trim());
  // HDF5 prints its error stack outermost first: the deepest `minor:` line says most.
  const truncated = lines.find((l) => /truncated/.test(l));
  if (truncated) return truncated.replace(/^.*\): /, '');
  return (lines.filter((l) => l.startsWith('minor:')).pop() ?? lines[0]).replace(/^minor: /, '');
}

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** The analysis' layer name for a Keras layer name of either generation (`conv1/conv` → `conv1_conv`). */
export function kerasLayerName(stored: string): string {
  const name = stored.replace(/\//g, '_');
  return name === 'fc1000' ? 'predictions' : name;
}

/**
 * Keras-named weights → the analysis' layers (tfjs order). Missing, extra or differently shaped tensors are
 * errors naming the first mismatching layer and both shapes. With `replaceClassifier`, a classifier of other
 * classes, or none (Keras' `include_top=False` files), is left out: the result has no `predictions`.
 */
export function kerasLayerWeights(dict: TensorDict, analysis: Analysis, options: MappingOptions = {}): LayerWeights {
  const byLayer = new Map<string, Map<string, [string, ForeignTensor]>>();
  for (const [key, tensor] of dict) {
    const slash = key.lastIndexOf('/');
    const layer = kerasLayerName(key.slice(0, slash));
    const weight = key.slice(slash + 1).replace(/:\d+$/, '');
    if (!byLayer.has(layer)) byLayer.set(layer, new Map());
    byLayer.get(layer)!.set(weight, [key, tensor]);
  }
  const weights: LayerWeights = new Map();
  const fix = 'Make the spec match the weights (preset, growth rate, blocks, bottleneck, input channels, classes).';
  for (const p of paramLayers(analysis)) {
    const stored = byLayer.get(p.layer.name);
    if (p.layer.name === 'predictions' && options.replaceClassifier) {
      const fits = p.names.every((n, i) => sameShape(stored?.get(n)?.[1].shape ?? [], p.shapes[i]));
      if (!fits) {
        byLayer.delete(p.layer.name);
        continue;
      }
    }
    const tensors: LayerTensor[] = p.names.map((name, i) => {
      const found = stored?.get(name);
      if (!found)
        throw new Error(
          `Layer ${p.layer.name} (${p.type}) has no ${name} in the Keras file (the model needs shape ` +
            `${shapeText(p.shapes[i])}). ${fix}`,
        );
      const [key, t] = found;
      stored!.delete(name);
      if (!sameShape(t.shape, p.shapes[i]))
        throw new Error(
          `Layer ${p.layer.name} (${p.type}): the Keras file's ${key} has shape ${shapeText(t.shape)} but the ` +
            `model needs ${shapeText(p.shapes[i])}. ${fix}`,
        );
      return { shape: [...t.shape], values: t.values };
    });
    weights.set(p.layer.name, tensors);
  }
  const extra = [...byLayer.values()].flatMap((m) => [...m.values()].map(([key]) => key));
  if (extra.length)
    throw new Error(`The Keras file has ${extra.length} weight(s) the model does not use, first ${extra[0]}. ${fix}`);
  return weights;
}

export interface KerasWriteOptions {
  /** `keras2`: stem layers `conv1/conv`, weights `conv1/conv/kernel:0`; `keras3`: `conv1_conv`, `conv1_conv/kernel`. */
  naming: 'keras2' | 'keras3';
}

const KERAS2_STEM: Record<string, string> = {
  conv1_conv: 'conv1/conv',
  conv1_bn: 'conv1/bn',
  conv1_relu: 'conv1/relu',
};

/** The group at `rel` under `parent`, creating every missing level (HDF5 does not create intermediate groups). */
function ensureGroup(h5: H5wasm, parent: H5Group, rel: string): H5Group {
  let g = parent;
  for (const part of rel.split('/')) {
    const next = g.get(part);
    g = next instanceof h5.Group ? next : g.create_group(part);
  }
  return g;
}

/** A string-array attribute as h5py stores Keras' lists (fixed-length bytes), chunked past the header limit. */
function writeStrings(obj: H5Group, name: string, values: string[]): void {
  const width = Math.max(1, ...values.map((v) => Buffer.byteLength(v)));
  let chunks = 1;
  while (Math.ceil(values.length / chunks) * width > HDF5_OBJECT_HEADER_LIMIT) chunks++;
  if (chunks === 1) {
    obj.create_attribute(name, values, [values.length], `S${width}`);
    return;
  }
  const per = Math.ceil(values.length / chunks);
  for (let i = 0; i < chunks; i++) {
    const part = values.slice(i * per, (i + 1) * per);
    obj.create_attribute(`${name}${i}`, part, [part.length], `S${width}`);
  }
}

/**
 * Writes `weights` as a Keras legacy `.h5` weights file that `model.load_weights(path)` reads into the
 * keras.applications DenseNet of the same configuration: every layer (weightless ones too) has its group.
 * The file appears whole or not at all.
 */
export async function writeKerasH5(
  file: string,
  weights: LayerWeights,
  analysis: Analysis,
  options: KerasWriteOptions,
): Promise<void> {
  const layers = new Map(checkLayerWeights(weights, analysis).map((p) => [p.layer.name, p]));
  const h5 = await loadH5wasm();
  const target = path.resolve(file);
  const partial = `${target}.partial-${process.pid}`;
  const name = (layer: string) => (options.naming === 'keras2' ? (KERAS2_STEM[layer] ?? layer) : layer);
  const out = new h5.File(partial, 'w');
  try {
    writeStrings(
      out,
      'layer_names',
      analysis.layers.map((l) => name(l.name)),
    );
    out.create_attribute('backend', 'tensorflow', null, 'S10');
    const version = options.naming === 'keras2' ? '2.15.0' : '3.6.0';
    out.create_attribute('keras_version', version, null, `S${version.length}`);
    for (const layer of analysis.layers) {
      const g = ensureGroup(h5, out, name(layer.name));
      const p = layers.get(layer.name);
      const tensors = weights.get(layer.name) ?? [];
      const weightNames = (p?.names ?? []).map(
        (w) => `${name(layer.name)}/${w}${options.naming === 'keras2' ? ':0' : ''}`,
      );
      writeStrings(g, 'weight_names', weightNames);
      weightNames.forEach((w, i) => {
        const slash = w.lastIndexOf('/');
        ensureGroup(h5, g, w.slice(0, slash)).create_dataset({
          name: w.slice(slash + 1),
          data: tensors[i].values,
          shape: tensors[i].shape,
          dtype: '<f',
        });
      });
    }
  } catch (e) {
    out.close();
    fs.rmSync(partial, { force: true });
    throw e;
  }
  out.close();
  fs.renameSync(partial, target);
}
