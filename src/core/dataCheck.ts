/** The checks of a spec's data paths and class count against the disk (through a FileProbe). Pure. */
import { Checker, clip, isObject } from './checker';
import { noDataHowTo } from './dataKind';
import type { JsonPath } from './parse';
import type { ResolvedSpec } from './types';

/** What the validator may ask of the file system; the host and the CLI pass Node's, tests a fake. */
export interface FileProbe {
  /** The absolute path of `relative`, read from the folder of the spec at `specPath`. */
  resolve(specPath: string, relative: string): string;
  kind(absolutePath: string): 'file' | 'directory' | undefined;
  /** Names of the sub-directories (not hidden) of a directory. */
  directories(absolutePath: string): string[];
  /** Names of the files of a directory. */
  files(absolutePath: string): string[];
}

const DATA_KEYS = ['train', 'validation', 'test'] as const;

export function checkData(
  c: Checker,
  doc: Record<string, unknown>,
  r: ResolvedSpec | undefined,
  fs: FileProbe,
  specPath: string,
): void {
  if (!isObject(doc.data) || doc.data.train === undefined) {
    // Not an error: a spec without data is still a model to analyse; Train refuses with the same line.
    const at: JsonPath = isObject(doc.data) ? ['data', 'train'] : doc.name !== undefined ? ['name'] : [];
    c.report(at, 'information', 'data-none', noDataHowTo(r?.input, r?.classes));
  }
  if (!isObject(doc.data)) return;
  const data = doc.data;
  for (const key of DATA_KEYS) {
    const source = data[key];
    const at: JsonPath = ['data', key];
    const paths: [JsonPath, string][] = [];
    let format: string | undefined;
    if (typeof source === 'string') paths.push([at, source]);
    else if (isObject(source)) {
      format = typeof source.format === 'string' ? source.format : undefined;
      for (const field of ['path', 'images', 'labels']) {
        if (typeof source[field] === 'string') paths.push([[...at, field], source[field] as string]);
      }
    }
    for (const [p, rel] of paths) {
      const abs = fs.resolve(specPath, rel);
      const kind = fs.kind(abs);
      if (!kind) {
        c.report(
          p,
          'error',
          'data-missing',
          `Data path "${clip(rel)}" does not exist (looked for ${clip(abs, 200)}): fix the path; it is relative to this spec's folder.`,
        );
        continue;
      }
      if (
        key === 'train' &&
        r &&
        kind === 'directory' &&
        p[p.length - 1] !== 'images' &&
        p[p.length - 1] !== 'labels'
      ) {
        checkClassCount(c, doc, r, fs, abs, rel, format);
      }
    }
  }
}

function checkClassCount(
  c: Checker,
  doc: Record<string, unknown>,
  r: ResolvedSpec,
  fs: FileProbe,
  abs: string,
  rel: string,
  format: string | undefined,
): void {
  const files = fs.files(abs);
  let found: number | undefined;
  let what = '';
  if (format === 'cifar10' || (!format && files.includes('data_batch_1.bin'))) {
    found = 10;
    what = `${clip(rel)} holds CIFAR-10 batches (10 classes)`;
  } else if (format === 'cifar100' || (!format && files.includes('train.bin') && files.includes('test.bin'))) {
    found = 100;
    what = `${clip(rel)} holds CIFAR-100 batches (100 fine classes)`;
  } else if (format === 'folder' || (!format && !files.some((f) => /idx\d-ubyte/.test(f) || f.endsWith('.bin')))) {
    const dirs = fs.directories(abs).sort();
    if (dirs.length === 0) return; // the engine reports an empty dataset before training
    found = dirs.length;
    const list = dirs.length <= 12 ? dirs.join(', ') : `${dirs.slice(0, 10).join(', ')}, ...`;
    what = `${clip(rel)} has ${dirs.length} class folder${dirs.length === 1 ? '' : 's'} (${list})`;
  }
  if (found === undefined || found === r.classes) return;
  const at: JsonPath = doc.classes !== undefined ? ['classes'] : ['data', 'train'];
  c.report(
    at,
    'error',
    'classes-mismatch',
    `classes is ${r.classes} but ${what}: set "classes" to ${found}, or make the dataset match.`,
    doc.classes !== undefined ? c.replaceFix(['classes'], `Set classes to ${found}`, found) : undefined,
  );
}
