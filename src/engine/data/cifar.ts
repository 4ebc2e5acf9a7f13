/**
 * CIFAR-10/100 binary batches. Each record: the label byte(s) (CIFAR-100: coarse then fine; the fine label is
 * used) and 3072 bytes of 32x32 R, G and B planes, row-major. CIFAR-10's training split is data_batch_1..5.bin
 * and its test split test_batch.bin; CIFAR-100's are train.bin and test.bin. Class names come from
 * batches.meta.txt / fine_label_names.txt when present.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Dataset, Pixels, Size } from './dataset';
import { resizePixels } from './decode';
import { RecordFile } from './records';

export type CifarVariant = 'cifar10' | 'cifar100';
export type Split = 'train' | 'test';

const SIDE = 32;
const PLANE = SIDE * SIDE;

const VARIANTS = {
  cifar10: { name: 'CIFAR-10', classes: 10, labelBytes: 1, names: 'batches.meta.txt' },
  cifar100: { name: 'CIFAR-100', classes: 100, labelBytes: 2, names: 'fine_label_names.txt' },
} as const;

/** The batch files of a split, in order. */
export function cifarBatchFiles(variant: CifarVariant, split: Split, fileNames: readonly string[]): string[] {
  if (variant === 'cifar100') return fileNames.filter((f) => f === `${split}.bin`);
  if (split === 'test') return fileNames.filter((f) => f === 'test_batch.bin');
  const batchNumber = (f: string): number => Number(/^data_batch_(\d+)\.bin$/.exec(f)?.[1] ?? NaN);
  return fileNames.filter((f) => !Number.isNaN(batchNumber(f))).sort((a, b) => batchNumber(a) - batchNumber(b));
}

async function readClassNames(dir: string, file: string, count: number): Promise<string[]> {
  try {
    const names = (await fs.promises.readFile(path.join(dir, file), 'utf8'))
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter(Boolean);
    if (names.length === count) return names;
  } catch {
    // no names file: numbered classes
  }
  return Array.from({ length: count }, (_, i) => String(i));
}

export interface CifarOptions {
  show(abs: string): string;
  classNames?: readonly string[];
}

export async function openCifar(
  dir: string,
  variant: CifarVariant,
  split: Split,
  options: CifarOptions,
): Promise<Dataset> {
  const v = VARIANTS[variant];
  const recordSize = v.labelBytes + 3 * PLANE;
  const fileNames = cifarBatchFiles(variant, split, await fs.promises.readdir(dir));
  if (fileNames.length === 0) {
    const expected =
      variant === 'cifar100'
        ? `${split}.bin`
        : split === 'train'
          ? 'data_batch_1.bin ... data_batch_5.bin'
          : 'test_batch.bin';
    throw new Error(
      `Folder "${options.show(dir)}" has no ${v.name} ${split} batches (${expected}): point to the folder that holds them.`,
    );
  }
  const files: RecordFile[] = [];
  const labels: number[] = [];
  const fileOf: number[] = [];
  for (const name of fileNames) {
    const file = path.join(dir, name);
    const bytes = await fs.promises.readFile(file);
    if (bytes.length === 0 || bytes.length % recordSize !== 0) {
      throw new Error(
        `"${options.show(file)}" is not a ${v.name} batch: its size (${bytes.length} bytes) is not a multiple of ${recordSize} bytes per record.` +
          (variant === 'cifar10' && bytes.length % (VARIANTS.cifar100.labelBytes + 3 * PLANE) === 0
            ? ' Is it CIFAR-100? Set "format": "cifar100".'
            : ''),
      );
    }
    const count = bytes.length / recordSize;
    for (let r = 0; r < count; r++) {
      const label = bytes[r * recordSize + v.labelBytes - 1];
      if (label >= v.classes)
        throw new Error(`"${options.show(file)}" is not a ${v.name} batch: record ${r} has label ${label}.`);
      labels.push(label);
      fileOf.push(files.length);
    }
    files.push(RecordFile.onDisk(file, 0, recordSize, count));
  }
  const classNames = options.classNames ?? (await readClassNames(dir, v.names, v.classes));
  if (classNames.length !== v.classes) {
    throw new Error(
      `${v.name} data in "${options.show(dir)}" has ${v.classes} classes but the training data has ${classNames.length}: give data with the same classes.`,
    );
  }
  // The first record index of each file.
  const starts = files.map((_, k) => files.slice(0, k).reduce((n, f) => n + f.count, 0));
  const labelArray = Uint8Array.from(labels);
  const fileArray = Uint16Array.from(fileOf);
  return {
    description: `${options.show(dir)} (${v.name} ${split})`,
    classNames,
    length: labelArray.length,
    label: (i) => labelArray[i],
    location: (i) => `${files[fileArray[i]].file} [record ${i - starts[fileArray[i]]}]`,
    async read(i: number, size: Size): Promise<Pixels> {
      const record = await files[fileArray[i]].read(i - starts[fileArray[i]]);
      const hwc = new Uint8Array(3 * PLANE);
      for (let p = 0; p < PLANE; p++) {
        hwc[3 * p] = record[v.labelBytes + p];
        hwc[3 * p + 1] = record[v.labelBytes + PLANE + p];
        hwc[3 * p + 2] = record[v.labelBytes + 2 * PLANE + p];
      }
      return resizePixels({ data: hwc, height: SIDE, width: SIDE, channels: 3, maxValue: 255 }, size);
    },
    async close() {
      await Promise.all(files.map((f) => f.close()));
    },
  };
}
