/**
 * safetensors files: an 8-byte little-endian header length, a JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}}`, then the raw
 * little-endian data, each tensor's bytes back to back. Read without trusting the file: the header size is
 * bounded, every field is type-checked, and the offsets must tile the data exactly.
 */
import { bfloat16ToFloat, elementCount, halfToFloat, shapeText, type TensorDict } from './tensors';

/** The safetensors library's own bound on the header (100 MB). */
export const MAX_SAFETENSORS_HEADER = 100_000_000;

/** Element sizes of the dtypes read, and how to read one element. */
const DTYPES: Record<string, { size: number; read: (v: DataView, at: number) => number }> = {
  F64: { size: 8, read: (v, at) => v.getFloat64(at, true) },
  F32: { size: 4, read: (v, at) => v.getFloat32(at, true) },
  F16: { size: 2, read: (v, at) => halfToFloat(v.getUint16(at, true)) },
  BF16: { size: 2, read: (v, at) => bfloat16ToFloat(v.getUint16(at, true)) },
  I64: { size: 8, read: (v, at) => Number(v.getBigInt64(at, true)) },
  U64: { size: 8, read: (v, at) => Number(v.getBigUint64(at, true)) },
  I32: { size: 4, read: (v, at) => v.getInt32(at, true) },
  U32: { size: 4, read: (v, at) => v.getUint32(at, true) },
  I16: { size: 2, read: (v, at) => v.getInt16(at, true) },
  U16: { size: 2, read: (v, at) => v.getUint16(at, true) },
  I8: { size: 1, read: (v, at) => v.getInt8(at) },
  U8: { size: 1, read: (v, at) => v.getUint8(at) },
  BOOL: { size: 1, read: (v, at) => (v.getUint8(at) ? 1 : 0) },
};

const fail = (message: string): never => {
  throw new Error(`safetensors file: ${message}`);
};

const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

interface Entry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

function parseHeader(bytes: Uint8Array): { entries: Entry[]; metadata: Record<string, string>; dataStart: number } {
  if (bytes.length < 8) fail(`${bytes.length} bytes; the file starts with an 8-byte header length (truncated file?)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerSize = view.getBigUint64(0, true);
  if (headerSize > BigInt(MAX_SAFETENSORS_HEADER))
    fail(`a header of ${headerSize} bytes, more than the ${MAX_SAFETENSORS_HEADER} allowed (not a safetensors file?)`);
  const dataStart = 8 + Number(headerSize);
  if (dataStart > bytes.length) fail(`a header of ${headerSize} bytes in a file of ${bytes.length} (truncated file?)`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (e) {
    return fail(`the header is not JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) return fail('the header is not a JSON object');
  let metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!info || typeof info !== 'object' || Array.isArray(info)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(info as object))
        if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
      metadata = Object.fromEntries(Object.entries(info as Record<string, string>)); // own keys, __proto__ too
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = (info ?? {}) as Record<string, unknown>;
    if (typeof dtype !== 'string' || !DTYPES[dtype])
      fail(`tensor ${name} has dtype ${JSON.stringify(dtype)}; known: ${Object.keys(DTYPES).join(', ')}`);
    if (!Array.isArray(shape) || !shape.every(isIndex)) return fail(`tensor ${name} has no valid shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex) || offsets[0] > offsets[1])
      return fail(`tensor ${name} has no valid data_offsets [begin, end]`);
    const [begin, end] = offsets as number[];
    const expected = elementCount(shape) * DTYPES[dtype as string].size;
    if (end - begin !== expected)
      fail(
        `tensor ${name} (${dtype} ${shapeText(shape)}) needs ${expected} bytes; its data_offsets span ${end - begin}`,
      );
    entries.push({ name, dtype: dtype as string, shape, begin, end });
  }
  return { entries, metadata, dataStart };
}

/**
 * The tensors of a safetensors file, in the order of their data, values converted to float32, and its
 * `__metadata__`. Throws an Error saying what is wrong for a truncated or inconsistent file.
 */
export function readSafetensors(bytes: Uint8Array): { tensors: TensorDict; metadata: Record<string, string> } {
  const { entries, metadata, dataStart } = parseHeader(bytes);
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const dataLength = bytes.length - dataStart;
  let at = 0;
  for (const e of entries) {
    if (e.begin !== at)
      fail(`tensor ${e.name} starts at data byte ${e.begin}, not ${at}: the offsets must follow each other exactly`);
    at = e.end;
  }
  if (at !== dataLength)
    fail(`the tensors cover ${at} bytes of data but the file has ${dataLength} after its header (truncated file?)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset + dataStart, dataLength);
  const tensors: TensorDict = new Map();
  for (const e of entries) {
    const count = elementCount(e.shape);
    const { size, read } = DTYPES[e.dtype];
    let values: Float32Array;
    if (e.dtype === 'F32') {
      const start = bytes.byteOffset + dataStart + e.begin;
      values = new Float32Array(bytes.buffer.slice(start, start + count * 4));
      // Float32Array reads the platform's byte order; safetensors is little-endian.
      if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1)
        for (let i = 0; i < count; i++) values[i] = read(view, e.begin + i * size);
    } else {
      values = new Float32Array(count);
      for (let i = 0; i < count; i++) values[i] = read(view, e.begin + i * size);
    }
    tensors.set(e.name, { shape: e.shape, dtype: e.dtype, values });
  }
  return { tensors, metadata };
}

/** A tensor to write: float32 values in the shape's row-major order. */
export interface TensorToWrite {
  name: string;
  shape: number[];
  values: Float32Array;
}

/** A safetensors file of float32 (`F32`) tensors, in the given order, with optional string metadata. */
export function writeSafetensors(tensors: readonly TensorToWrite[], metadata?: Record<string, string>): Uint8Array {
  const header = new Map<string, unknown>(); // a Map: any name, `__proto__` included, is a plain key
  if (metadata && Object.keys(metadata).length) header.set('__metadata__', metadata);
  let offset = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__' || header.has(t.name))
      throw new Error(`safetensors: the tensor name ${t.name} is taken`);
    if (!t.shape.every(isIndex)) throw new Error(`safetensors: tensor ${t.name} has shape ${shapeText(t.shape)}`);
    if (elementCount(t.shape) !== t.values.length)
      throw new Error(`safetensors: tensor ${t.name} has ${t.values.length} values for shape ${shapeText(t.shape)}`);
    header.set(t.name, { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.values.length * 4] });
    offset += t.values.length * 4;
  }
  let json = new TextEncoder().encode(JSON.stringify(Object.fromEntries(header)));
  const padded = Math.ceil(json.length / 8) * 8; // the data starts 8-byte aligned, as the library writes it
  json = Uint8Array.from({ length: padded }, (_, i) => (i < json.length ? json[i] : 0x20));
  const out = new Uint8Array(8 + padded + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  let at = 8 + padded;
  for (const t of tensors) {
    for (let i = 0; i < t.values.length; i++, at += 4) view.setFloat32(at, t.values[i], true);
  }
  return out;
}
