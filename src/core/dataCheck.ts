/**
 * The checks of a spec's data paths, class count and data formats (against its task) against the disk (through
 * a FileProbe). Pure.
 */
import { Checker, clip, isObject } from './checker';
import { detectFolderFormat, isImageName, noDataHowTo } from './dataKind';
import type { JsonPath } from './parse';
import type { ResolvedSpec, Task } from './types';

/** What the validator may ask of the file system; the host and the CLI pass Node's, tests a fake. */
export interface FileProbe {
  /** The absolute path of `relative`, read from the folder of the spec at `specPath`. */
  resolve(specPath: string, relative: string): string;
  kind(absolutePath: string): 'file' | 'directory' | undefined;
  /** Names of the sub-directories (not hidden) of a directory. */
  directories(absolutePath: string): string[];
  /** Names of the files of a directory. */
  files(absolutePath: string): string[];
  /** The first line of a text file (at most a few KiB read), or undefined when it cannot be read. */
  firstLine?(absolutePath: string): string | undefined;
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
      for (const field of ['path', 'images', 'labels', 'masks']) {
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
        r.task !== 'segmentation' &&
        p[p.length - 1] !== 'images' &&
        p[p.length - 1] !== 'labels' &&
        p[p.length - 1] !== 'masks'
      ) {
        checkClassCount(c, doc, r, fs, abs, rel, format);
      }
    }
    if (source === undefined || (isObject(source) && 'split' in source)) continue;
    const kind = sourceKind(source, fs, specPath);
    const task = taskOf(doc, r);
    checkSourceFitsTask(c, at, key, kind, task);
    if (kind === 'masks' && isObject(source)) checkMasksPresent(c, at, source, fs, specPath);
    if (kind === 'csv' && key === 'train' && task === 'multilabel')
      checkManifestLabels(c, doc, r, source, fs, specPath);
  }
  checkSegmentationFields(c, doc, data, r);
}

/** The spec's task: the resolved one, else as written (a task the model check refused is still the data's). */
function taskOf(doc: Record<string, unknown>, r: ResolvedSpec | undefined): Task {
  if (r) return r.task;
  return doc.task === 'multilabel' || doc.task === 'segmentation' ? doc.task : 'classification';
}

type SourceKind = 'masks' | 'csv' | 'idx' | 'cifar' | 'folder' | undefined;

/** What a data source holds, from how it is written and (for a bare path) the disk; undefined when unknown. */
function sourceKind(source: unknown, fs: FileProbe, specPath: string): SourceKind {
  const spec = typeof source === 'string' ? { path: source } : isObject(source) ? source : undefined;
  if (!spec) return undefined;
  const format = typeof spec.format === 'string' ? spec.format : undefined;
  if (spec.masks !== undefined || format === 'segmentation') return 'masks';
  if (format === 'csv') return 'csv';
  if (format === 'idx' || spec.images !== undefined || spec.labels !== undefined) return 'idx';
  if (format === 'cifar10' || format === 'cifar100') return 'cifar';
  if (format === 'folder') return 'folder';
  if (typeof spec.path !== 'string') return undefined;
  if (spec.path.toLowerCase().endsWith('.csv')) return 'csv';
  const abs = fs.resolve(specPath, spec.path);
  const kind = fs.kind(abs);
  if (kind === 'file') return 'idx';
  if (kind !== 'directory') return undefined;
  const detected = detectFolderFormat(fs.files(abs));
  return detected === 'cifar10' || detected === 'cifar100' ? 'cifar' : detected;
}

const SOURCE_WORDS: Record<Exclude<SourceKind, undefined>, string> = {
  masks: 'images with masks',
  csv: 'a CSV manifest',
  idx: 'IDX files',
  cifar: 'CIFAR batches',
  folder: 'class folders',
};

/** A data source the task cannot train on: an error on the source that says what data the task needs. */
function checkSourceFitsTask(c: Checker, at: JsonPath, key: string, kind: SourceKind, task: Task): void {
  if (kind === undefined) return;
  const fits =
    task === 'segmentation'
      ? kind === 'masks'
      : task === 'multilabel'
        ? kind === 'csv' || kind === 'folder'
        : kind !== 'masks' && kind !== 'csv';
  if (fits) return;
  const what = SOURCE_WORDS[kind];
  if (task === 'segmentation')
    c.report(
      at,
      'error',
      'data-needs-masks',
      `task is segmentation but data.${key} is ${what}, without masks: give {"images": "data/${key}/images", "masks": "data/${key}/masks"} (a PNG mask per image, same name, pixel value = class index).`,
    );
  else if (task === 'multilabel')
    c.report(
      at,
      'error',
      'data-multilabel-format',
      `task is multilabel but data.${key} is ${what}, which has no labels per image: give a CSV manifest ("data/${key}.csv": image path, then "labels" with names separated by |, or one 0/1 column per label) or class folders (an image in several folders has all their labels).`,
    );
  else
    c.report(
      at,
      'error',
      kind === 'masks' ? 'data-masks-need-segmentation' : 'data-csv-needs-multilabel',
      kind === 'masks'
        ? `data.${key} is ${what} (a class per pixel): set "task": "segmentation" (an FC-DenseNet such as preset fc-densenet103), or give class folders.`
        : `data.${key} is ${what} (labels per image): set "task": "multilabel", or give class folders.`,
    );
}

/** The mask of each image of a segmentation source (`a.jpg` -> `a.png`): an error naming the first missing ones. */
function checkMasksPresent(
  c: Checker,
  at: JsonPath,
  source: Record<string, unknown>,
  fs: FileProbe,
  specPath: string,
): void {
  if (typeof source.images !== 'string' || typeof source.masks !== 'string') return;
  const images = fs.resolve(specPath, source.images);
  const masks = fs.resolve(specPath, source.masks);
  if (fs.kind(images) !== 'directory' || fs.kind(masks) !== 'directory') return;
  const present = new Set(fs.files(masks));
  const maskOf = (name: string) => `${name.slice(0, name.lastIndexOf('.'))}.png`;
  const missing = fs
    .files(images)
    .filter((n) => !n.startsWith('.') && isImageName(n) && !present.has(maskOf(n)))
    .sort();
  if (missing.length === 0) return;
  const list = missing.slice(0, 5).map(maskOf).join(', ') + (missing.length > 5 ? ', ...' : '');
  c.report(
    [...at, 'masks'],
    'error',
    'data-mask-missing',
    `${missing.length} image(s) of "${clip(source.images)}" have no mask in "${clip(source.masks)}" (${list} not found): add the masks (same name as the image, extension .png) or remove those images.`,
  );
}

/** Splits a CSV header line into its field names (quoted names unquoted). */
function headerFields(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === '"') {
      if (quoted && line[i + 1] === '"') field += line[++i];
      else quoted = !quoted;
    } else if (ch === ',' && !quoted) {
      fields.push(field);
      field = '';
    } else field += ch;
  }
  fields.push(field.replace(/\r$/, ''));
  return fields.map((f) => f.trim());
}

/** A manifest of 0/1 columns names its labels in its header: their number against `classes`. */
function checkManifestLabels(
  c: Checker,
  doc: Record<string, unknown>,
  r: ResolvedSpec | undefined,
  source: unknown,
  fs: FileProbe,
  specPath: string,
): void {
  const rel =
    typeof source === 'string' ? source : isObject(source) && typeof source.path === 'string' ? source.path : '';
  const classes = r?.classes ?? (typeof doc.classes === 'number' ? doc.classes : undefined);
  const line = rel && classes !== undefined ? fs.firstLine?.(fs.resolve(specPath, rel)) : undefined;
  if (line === undefined) return;
  const fields = headerFields(line);
  if (fields.length < 2 || (fields.length === 2 && fields[1].toLowerCase() === 'labels')) return;
  const labels = fields.length - 1;
  if (labels === classes) return;
  const at: JsonPath = doc.classes !== undefined ? ['classes'] : ['data', 'train'];
  c.report(
    at,
    'error',
    'classes-mismatch',
    `classes is ${classes} but ${clip(rel)} has ${labels} label columns (${fields.slice(1, 11).join(', ')}${labels > 10 ? ', ...' : ''}): set "classes" to ${labels}, or make the manifest match.`,
    doc.classes !== undefined ? c.replaceFix(['classes'], `Set classes to ${labels}`, labels) : undefined,
  );
}

/** data.classList against classes (segmentation), and the segmentation-only fields of other tasks. */
function checkSegmentationFields(
  c: Checker,
  doc: Record<string, unknown>,
  data: Record<string, unknown>,
  r: ResolvedSpec | undefined,
): void {
  const task = taskOf(doc, r);
  const given = (['classList', 'ignoreIndex'] as const).filter((k) => data[k] !== undefined);
  if (task !== 'segmentation') {
    for (const k of given)
      c.report(
        ['data', k],
        'warning',
        'data-segmentation-only',
        `data.${k} is for segmentation masks and task is ${task}: remove it, or set "task": "segmentation".`,
      );
    return;
  }
  const list = data.classList;
  if (!r || !Array.isArray(list) || list.length < 2 || list.length === r.classes) return;
  const at: JsonPath = doc.classes !== undefined ? ['classes'] : ['data', 'classList'];
  c.report(
    at,
    'error',
    'classes-mismatch',
    `classes is ${r.classes} but data.classList names ${list.length} classes: set "classes" to ${list.length}, or make data.classList list ${r.classes}.`,
    doc.classes !== undefined ? c.replaceFix(['classes'], `Set classes to ${list.length}`, list.length) : undefined,
  );
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
