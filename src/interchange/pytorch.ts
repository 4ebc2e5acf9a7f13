/**
 * PyTorch weight files (`torch.save` of a state dict) read without running anything: the zip format of
 * torch >= 1.6 (`<archive>/data.pkl` + `<archive>/data/<key>` storages) and the legacy format
 * (`_use_new_zipfile_serialization=False`, torchvision's 2017 DenseNet files). Pickles go through the restricted
 * unpickler (pickle.ts); every storage key, offset, stride and size is checked against the bytes.
 */
import { unzipSync } from 'fflate';
import {
  PersistentId,
  PickleCall,
  PickleDict,
  PickleTuple,
  type PickleValue,
  STORAGE_TYPES,
  type UnpickleLimits,
  unpickle,
} from './pickle';
import { elementCount, type ForeignTensor, shapeText, type TensorDict, bfloat16ToFloat, halfToFloat } from './tensors';

/** The legacy format's first pickle: this number. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
/** Most elements one tensor may have (2^28: 1 GiB of float32). */
const MAX_TENSOR_ELEMENTS = 2 ** 28;
const HINT = 'save it again with torch.save(model.state_dict(), path)';

/** A storage as the file keeps it: its dtype, element size and raw little-endian (or big-endian) bytes. */
interface Storage {
  key: string;
  dtype: string;
  size: number;
  bytes: Uint8Array;
  littleEndian: boolean;
}

type StorageLookup = (id: PersistentId) => Storage;
interface Budget {
  left: number;
}

const fail = (message: string): never => {
  throw new Error(`PyTorch file: ${message}`);
};

const isIndex = (v: PickleValue): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function intList(v: PickleValue, what: string): number[] {
  const items = v instanceof PickleTuple ? v.items : v instanceof PickleCall ? v.args[0] : v;
  const list = items instanceof PickleTuple ? items.items : items;
  if (!Array.isArray(list) || !list.every(isIndex)) return fail(`a tensor's ${what} is not a list of sizes`);
  return list as number[];
}

/** Reads one element of `s` at element index `i` as a number. */
function elementReader(s: Storage): (i: number) => number {
  const view = new DataView(s.bytes.buffer, s.bytes.byteOffset, s.bytes.byteLength);
  const le = s.littleEndian;
  switch (s.dtype) {
    case 'float32':
      return (i) => view.getFloat32(i * 4, le);
    case 'float64':
      return (i) => view.getFloat64(i * 8, le);
    case 'float16':
      return (i) => halfToFloat(view.getUint16(i * 2, le));
    case 'bfloat16':
      return (i) => bfloat16ToFloat(view.getUint16(i * 2, le));
    case 'int64':
      return (i) => Number(view.getBigInt64(i * 8, le));
    case 'int32':
      return (i) => view.getInt32(i * 4, le);
    case 'int16':
      return (i) => view.getInt16(i * 2, le);
    case 'int8':
      return (i) => view.getInt8(i);
    case 'uint8':
      return (i) => view.getUint8(i);
    case 'bool':
      return (i) => (view.getUint8(i) ? 1 : 0);
    default:
      return fail(`storage dtype ${s.dtype}`);
  }
}

/** A tensor from `_rebuild_tensor_v2(storage, offset, size, stride, ...)`: its elements gathered by stride. */
function rebuildTensor(call: PickleCall, name: string, storageOf: StorageLookup, budget: Budget): ForeignTensor {
  const [storageId, offset, size, stride] = call.args;
  if (!(storageId instanceof PersistentId)) return fail(`tensor ${name} has no storage`);
  if (!isIndex(offset)) return fail(`tensor ${name} has a storage offset that is not a size`);
  const storage = storageOf(storageId);
  const shape = intList(size, 'shape');
  const strides = intList(stride, 'strides');
  if (strides.length !== shape.length)
    fail(`tensor ${name} has shape ${shapeText(shape)} but ${strides.length} strides`);
  const count = elementCount(shape);
  if (count > MAX_TENSOR_ELEMENTS) fail(`tensor ${name} of shape ${shapeText(shape)} is too large to read`);
  if (count > budget.left)
    fail(`tensor ${name} of shape ${shapeText(shape)} takes the tensors past the elements the file can hold`);
  budget.left -= count;
  const available = storage.bytes.length / storage.size;
  const last = offset + shape.reduce((sum, n, d) => sum + (n > 0 ? (n - 1) * strides[d] : 0), 0);
  if (count > 0 && last >= available)
    fail(
      `tensor ${name} (shape ${shapeText(shape)}, offset ${offset}, strides ${shapeText(strides)}) reaches element ` +
        `${last} of storage ${storage.key}, which has ${available} elements (corrupt or truncated file?)`,
    );
  const values = new Float32Array(count);
  const contiguous = shape.every((_, d) => shape[d] <= 1 || strides[d] === elementCount(shape.slice(d + 1)));
  if (contiguous && storage.dtype === 'float32' && storage.littleEndian) {
    const start = storage.bytes.byteOffset + offset * 4;
    values.set(new Float32Array(storage.bytes.buffer.slice(start, start + count * 4)));
  } else {
    const read = elementReader(storage);
    const index = new Array<number>(shape.length).fill(0);
    for (let i = 0, at = offset; i < count; i++) {
      values[i] = read(at);
      for (let d = shape.length - 1; d >= 0; d--) {
        index[d]++;
        at += strides[d];
        if (index[d] < shape[d]) break;
        at -= index[d] * strides[d];
        index[d] = 0;
      }
    }
  }
  return { shape, dtype: storage.dtype, values };
}

/** The tensor a pickled value stands for (tensor or nn.Parameter), or undefined when it is something else. */
function tensorOf(v: PickleValue, name: string, storageOf: StorageLookup, budget: Budget): ForeignTensor | undefined {
  if (!(v instanceof PickleCall)) return undefined;
  const callee = v.callable.qualified;
  if (callee === 'torch._utils._rebuild_tensor_v2') return rebuildTensor(v, name, storageOf, budget);
  const parameter =
    callee === 'torch._utils._rebuild_parameter' || callee === 'torch._utils._rebuild_parameter_with_state';
  // A parameter wraps a tensor once; nothing deeper is a tensor.
  if (
    parameter &&
    v.args[0] instanceof PickleCall &&
    v.args[0].callable.qualified === 'torch._utils._rebuild_tensor_v2'
  )
    return rebuildTensor(v.args[0], name, storageOf, budget);
  return undefined;
}

/** The state dict inside what the pickle holds: itself, or under "state_dict" / "model". */
function findStateDict(root: PickleValue): PickleDict {
  if (!(root instanceof PickleDict))
    return fail(`the pickle holds ${root === null ? 'None' : typeof root}, not a state dict; ${HINT}`);
  for (const key of ['state_dict', 'model']) {
    const inner = root.entries.get(key);
    if (inner instanceof PickleDict) return inner;
  }
  return root;
}

/** The tensors of the state dict, in file order, without a leading `module.` (DataParallel's prefix). */
function collectTensors(root: PickleValue, storageOf: StorageLookup, fileSize: number): TensorDict {
  // Tensors hold at most as many elements as the file has bytes (each stored element takes one byte or more),
  // with room for weights shared between names; more means strides that repeat elements (a memory bomb?).
  const budget: Budget = { left: fileSize + 2 ** 24 };
  const dict = findStateDict(root);
  const tensors: TensorDict = new Map();
  const keys = [...dict.entries.keys()];
  const strip = keys.length > 0 && keys.every((k) => typeof k === 'string' && k.startsWith('module.'));
  for (const [key, value] of dict.entries) {
    if (typeof key !== 'string') continue;
    const name = strip ? key.slice('module.'.length) : key;
    const tensor = tensorOf(value, name, storageOf, budget);
    if (tensor) tensors.set(name, tensor);
  }
  if (!tensors.size) fail(`the pickle holds no tensors (keys: ${keys.slice(0, 5).join(', ') || 'none'}); ${HINT}`);
  return tensors;
}

/** `('storage', torch.FloatStorage, key, location, numel[, view_metadata])` → the storage type, key and numel. */
function storageIdParts(id: PersistentId): { type: { dtype: string; size: number }; key: string; numel: number } {
  const parts = id.id instanceof PickleTuple ? id.id.items : [];
  const [tag, type, key, , numel] = parts;
  if (tag !== 'storage' || typeof key !== 'string' || !isIndex(numel) || !(type && typeof type === 'object'))
    return fail('a persistent id that is not a tensor storage');
  const typeName = 'qualified' in type ? type.qualified : '';
  const storageType = STORAGE_TYPES.get(typeName);
  if (!storageType) return fail(`storage type ${typeName || 'unknown'}`);
  return { type: storageType, key, numel };
}

function unzip(bytes: Uint8Array): Record<string, Uint8Array> {
  const sizes = new Map<string, number>();
  let total = 0;
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, {
      filter: (f) => {
        total += f.originalSize;
        if (total > Math.max(64 * bytes.length, 1 << 26))
          throw new Error('its entries would inflate to far more than the file (a zip bomb?)');
        sizes.set(f.name, f.originalSize);
        return true;
      },
    });
  } catch (e) {
    return fail(`not a readable zip archive (${(e as Error).message}); is the file complete?`);
  }
  for (const [name, data] of Object.entries(files))
    if (data.length !== sizes.get(name))
      fail(`zip entry ${name} holds ${data.length} bytes instead of ${sizes.get(name)} (truncated file?)`);
  return files;
}

function readZip(bytes: Uint8Array, limits: UnpickleLimits): TensorDict {
  const files = unzip(bytes);
  const pickles = Object.keys(files).filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length !== 1)
    fail(
      `a zip archive with ${pickles.length} data.pkl entries; a torch.save file has exactly one, <archive>/data.pkl`,
    );
  const prefix = pickles[0].slice(0, -'data.pkl'.length);
  const byteorder = files[`${prefix}byteorder`];
  const littleEndian = !byteorder || new TextDecoder().decode(byteorder).trim() !== 'big';
  const storages = new Map<string, Storage>();
  const storageOf: StorageLookup = (id) => {
    const { type, key, numel } = storageIdParts(id);
    const data = files[`${prefix}data/${key}`];
    if (!data) return fail(`storage ${key} is missing from the archive (no entry ${prefix}data/${key})`);
    if (data.length !== numel * type.size)
      fail(`storage ${key} has ${data.length} bytes; the pickle says ${numel} elements of ${type.dtype}`);
    const storage = storages.get(key) ?? { key, ...type, bytes: data, littleEndian };
    storages.set(key, storage);
    if (storage.dtype !== type.dtype) fail(`storage ${key} is read both as ${storage.dtype} and ${type.dtype}`);
    return storage;
  };
  let root: PickleValue;
  try {
    root = unpickle(files[pickles[0]], 0, limits).value;
  } catch (e) {
    return fail(`${pickles[0]}: ${(e as Error).message}`);
  }
  return collectTensors(root, storageOf, bytes.length);
}

/** The persistent ids inside a state dict's values (tensors and parameters nest them a few levels deep). */
function persistentIds(v: PickleValue, depth: number, seen = new Set<PickleValue>()): PersistentId[] {
  if (v instanceof PersistentId) return [v];
  if (depth > 8 || v === null || typeof v !== 'object' || seen.has(v)) return [];
  seen.add(v);
  const children =
    v instanceof PickleDict
      ? [...v.entries.values()]
      : v instanceof PickleCall
        ? v.args
        : v instanceof PickleTuple
          ? v.items
          : Array.isArray(v)
            ? v
            : [];
  return children.flatMap((c) => persistentIds(c, depth + 1, seen));
}

/** Pickle `what` of the legacy format, at `pos`. */
function legacyPickle(bytes: Uint8Array, pos: number, what: string, limits: UnpickleLimits) {
  try {
    return unpickle(bytes, pos, limits);
  } catch (e) {
    return fail(`legacy format, ${what}: ${(e as Error).message}`);
  }
}

function readLegacy(bytes: Uint8Array, limits: UnpickleLimits): TensorDict {
  const magic = legacyPickle(bytes, 0, 'magic number', limits);
  if (magic.value !== LEGACY_MAGIC) fail(`a pickle that is not a torch.save file (no magic number); ${HINT}`);
  const protocol = legacyPickle(bytes, magic.end, 'protocol version', limits);
  if (protocol.value !== 1001) fail(`legacy format version ${String(protocol.value)}; only 1001 is known`);
  const sysInfo = legacyPickle(bytes, protocol.end, 'system information', limits);
  const littleEndian = !(sysInfo.value instanceof PickleDict && sysInfo.value.entries.get('little_endian') === false);
  const main = legacyPickle(bytes, sysInfo.end, 'state dict', limits);
  const keyList = legacyPickle(bytes, main.end, 'storage keys', limits);
  if (!Array.isArray(keyList.value) || !keyList.value.every((k) => typeof k === 'string'))
    fail('legacy format: the storage keys are not a list of names');
  const keys = keyList.value as string[];
  // The storages' types come from the persistent ids of the main pickle.
  const types = new Map<string, { dtype: string; size: number; numel: number }>();
  const views = new Map<PersistentId, { key: string; offset: number; numel: number }>();
  for (const id of persistentIds(main.value, 0)) {
    const { type, key, numel } = storageIdParts(id);
    const view = id.id instanceof PickleTuple ? id.id.items[5] : null;
    if (view instanceof PickleTuple) {
      const [, offset, size] = view.items;
      if (!isIndex(offset) || !isIndex(size)) fail(`storage ${key} has a view that is not an offset and a size`);
      views.set(id, { key, offset: offset as number, numel: size as number });
    } else views.set(id, { key, offset: 0, numel });
    const known = types.get(key);
    if (known && known.dtype !== type.dtype) fail(`storage ${key} is read both as ${known.dtype} and ${type.dtype}`);
    if (!known || (!(view instanceof PickleTuple) && known.numel < numel)) types.set(key, { ...type, numel });
  }
  const storages = new Map<string, Storage>();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = keyList.end;
  for (const key of keys) {
    const type = types.get(key) ?? fail(`storage ${key} is listed but no tensor uses it`);
    if (pos + 8 > bytes.length) fail(`legacy format: the file ends before storage ${key} (truncated file?)`);
    const numel = view.getBigInt64(pos, littleEndian);
    const length = Number(numel) * type.size;
    if (numel < 0n || pos + 8 + length > bytes.length)
      fail(`legacy format: storage ${key} of ${numel} elements reaches past the end of the file (truncated file?)`);
    if (Number(numel) < type.numel)
      fail(`legacy format: storage ${key} has ${numel} elements; the pickle says ${type.numel}`);
    storages.set(key, { key, ...type, bytes: bytes.subarray(pos + 8, pos + 8 + length), littleEndian });
    pos += 8 + length;
  }
  if (pos !== bytes.length) fail(`legacy format: ${bytes.length - pos} bytes after the last storage`);
  const storageOf: StorageLookup = (id) => {
    const { key, offset, numel } = views.get(id) ?? fail('a storage seen only once');
    const s = storages.get(key) ?? fail(`storage ${key} is used but not in the file's storage list`);
    if ((offset + numel) * s.size > s.bytes.length)
      fail(`a view of storage ${key} reaches past its ${s.bytes.length / s.size} elements`);
    return { ...s, bytes: s.bytes.subarray(offset * s.size, (offset + numel) * s.size) };
  };
  return collectTensors(main.value, storageOf, bytes.length);
}

/**
 * The tensors of a `torch.save` file (a state dict, or a checkpoint dict holding one under "state_dict" or
 * "model"), by name in file order, values converted to float32. Throws an Error saying what is wrong for
 * anything else: a pickle that would run code, a truncated or corrupt file, a format it does not know.
 */
export function readPytorchFile(bytes: Uint8Array, limits: UnpickleLimits = {}): TensorDict {
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04)
    return readZip(bytes, limits);
  if (bytes.length >= 2 && bytes[0] === 0x80) return readLegacy(bytes, limits);
  if (bytes.length > 262 && new TextDecoder().decode(bytes.subarray(257, 262)) === 'ustar')
    return fail(`the tar format of torch before 0.4 is not read; ${HINT} with a newer torch`);
  return fail(`neither a zip archive nor a pickle (${bytes.length} bytes); is it a torch.save file?`);
}
