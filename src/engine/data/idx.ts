/**
 * IDX files (the MNIST format, gzip allowed): an images file of unsigned bytes with dimensions
 * [n, rows, cols] or [n, rows, cols, channels] and a labels file [n]. Classes are 0..max label.
 */
import * as fs from 'fs';
import type { Dataset, Pixels, Size } from './dataset';
import { resizePixels } from './decode';
import { RecordFile, isGzip, readMaybeGzip } from './records';

const UNSIGNED_BYTE = 0x08;

interface IdxHeader {
  dims: number[];
  /** Bytes before the data. */
  size: number;
}

/** Parses an IDX header from the start of a file; `describe` names the file in errors. */
export function parseIdxHeader(bytes: Uint8Array, describe: string): IdxHeader {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new Error(
      `${describe} is not an IDX file (it does not start with 0x00 0x00): give an MNIST-format images file such as train-images-idx3-ubyte.gz.`,
    );
  }
  if (bytes[2] !== UNSIGNED_BYTE) {
    throw new Error(
      `${describe} holds IDX type 0x${bytes[2].toString(16).padStart(2, '0')}; only unsigned bytes (0x08) are supported.`,
    );
  }
  const ndims = bytes[3];
  const size = 4 + 4 * ndims;
  if (ndims === 0 || bytes.length < size) throw new Error(`${describe} has a truncated IDX header.`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, size);
  const dims = Array.from({ length: ndims }, (_, d) => view.getUint32(4 + 4 * d, false));
  return { dims, size };
}

async function readHead(file: string, bytes: number): Promise<Buffer> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(bytes), 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The images as records: read on demand from a plain file, from memory for a gzip one. */
async function imageRecords(
  file: string,
  describe: string,
): Promise<{ records: RecordFile; height: number; width: number; channels: number }> {
  const gz = await isGzip(file);
  const data = gz ? await readMaybeGzip(file) : undefined;
  const head = data ?? (await readHead(file, 4 + 4 * 255));
  const header = parseIdxHeader(head, describe);
  const [count, height, width, channels = 1] = header.dims;
  if (header.dims.length < 3 || header.dims.length > 4 || (channels !== 1 && channels !== 3)) {
    throw new Error(
      `${describe} has dimensions [${header.dims.join(', ')}]; an IDX images file has [count, rows, columns] or [count, rows, columns, 1 or 3].`,
    );
  }
  const recordSize = height * width * channels;
  const available = data ? data.length : (await fs.promises.stat(file)).size;
  if (available < header.size + count * recordSize) {
    throw new Error(
      `${describe} is truncated: its header announces ${count} images of ${height}x${width}x${channels} but the file is too short.`,
    );
  }
  const records = data
    ? RecordFile.inMemory(file, data, header.size, recordSize, count)
    : RecordFile.onDisk(file, header.size, recordSize, count);
  return { records, height, width, channels };
}

export interface IdxOptions {
  show(abs: string): string;
  /** The training classes, for validation and test data: labels must fall inside them. */
  classNames?: readonly string[];
}

export async function openIdx(imagesFile: string, labelsFile: string, options: IdxOptions): Promise<Dataset> {
  const imagesName = `IDX images file "${options.show(imagesFile)}"`;
  const labelsName = `IDX labels file "${options.show(labelsFile)}"`;
  const labelBytes = await readMaybeGzip(labelsFile);
  const labelHeader = parseIdxHeader(labelBytes, labelsName);
  if (labelHeader.dims.length !== 1) {
    throw new Error(
      `${labelsName} has dimensions [${labelHeader.dims.join(', ')}]; a labels file has one dimension. Did you swap images and labels?`,
    );
  }
  const labels = labelBytes.subarray(labelHeader.size, labelHeader.size + labelHeader.dims[0]);
  if (labels.length < labelHeader.dims[0]) throw new Error(`${labelsName} is truncated.`);
  const { records, height, width, channels } = await imageRecords(imagesFile, imagesName);
  if (records.count !== labels.length) {
    throw new Error(
      `${imagesName} has ${records.count} images but ${labelsName} has ${labels.length} labels: give matching files.`,
    );
  }
  if (records.count === 0) throw new Error(`${imagesName} has no images.`);
  const maxLabel = labels.reduce((m, v) => Math.max(m, v), 0);
  const classNames = options.classNames ?? Array.from({ length: maxLabel + 1 }, (_, i) => String(i));
  if (maxLabel >= classNames.length) {
    throw new Error(
      `${labelsName} has label ${maxLabel} but the training data has ${classNames.length} classes: give data with the same classes.`,
    );
  }
  return {
    description: `${options.show(imagesFile)} (IDX)`,
    classNames,
    length: records.count,
    label: (i) => labels[i],
    location: (i) => `${imagesFile} [image ${i}]`,
    read: async (i: number, size: Size): Promise<Pixels> =>
      resizePixels({ data: await records.read(i), height, width, channels, maxValue: 255 }, size),
    close: () => records.close(),
  };
}
