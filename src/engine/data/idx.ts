/**
 * IDX files (the MNIST format, gzip allowed): an images file of unsigned bytes with dimensions
 * [n, rows, cols] or [n, rows, cols, channels] and a labels file [n]. Classes are 0..max label.
 */
import type { Dataset, Pixels, Size } from './dataset';
import { resizePixels } from './decode';
import { type IdxExpectation, inflateIdx, plainIdxHeader, readIdx } from './idxFile';
import { RecordFile, isGzip } from './records';

/** An images header: [count, rows, columns] or [count, rows, columns, 1 or 3]; the data is count·rows·columns·channels. */
function imagesExpectation(describe: string): IdxExpectation {
  return (header) => {
    const [count, height, width, channels = 1] = header.dims;
    if (header.dims.length < 3 || header.dims.length > 4 || (channels !== 1 && channels !== 3)) {
      throw new Error(
        `${describe} has dimensions [${header.dims.join(', ')}]; an IDX images file has [count, rows, columns] or [count, rows, columns, 1 or 3].`,
      );
    }
    return { bytes: count * height * width * channels, what: `${count} images of ${height}x${width}x${channels}` };
  };
}

/** A labels header: [count]; the data is one byte a label. */
function labelsExpectation(describe: string): IdxExpectation {
  return (header) => {
    if (header.dims.length !== 1) {
      throw new Error(
        `${describe} has dimensions [${header.dims.join(', ')}]; a labels file has one dimension. Did you swap images and labels?`,
      );
    }
    return { bytes: header.dims[0], what: `${header.dims[0]} labels` };
  };
}

/** The images as records: read on demand from a plain file, from memory for a gzip one (inflated as far as its header says). */
async function imageRecords(
  file: string,
  describe: string,
): Promise<{ records: RecordFile; height: number; width: number; channels: number }> {
  const expect = imagesExpectation(describe);
  const gz = await isGzip(file);
  const inflated = gz ? await inflateIdx(file, describe, expect) : undefined;
  const header = inflated ? inflated.header : (await plainIdxHeader(file, describe, expect)).header;
  const [count, height, width, channels = 1] = header.dims;
  const recordSize = height * width * channels;
  const records = inflated
    ? RecordFile.inMemory(file, inflated.bytes, header.size, recordSize, count)
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
  const { header: labelHeader, bytes: labelBytes } = await readIdx(
    labelsFile,
    labelsName,
    labelsExpectation(labelsName),
  );
  const labels = labelBytes.subarray(labelHeader.size, labelHeader.size + labelHeader.dims[0]);
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
