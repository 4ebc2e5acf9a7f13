/**
 * The New Model Spec wizard's detection of multi-label and segmentation data in a chosen folder, as the engine
 * reads them: a CSV manifest (train.csv, and test.csv / val.csv beside it) of image paths with their labels,
 * either a `labels` column of names separated by `|` or one 0/1 column per label; or a folder of images with a
 * folder of masks of the same names (images/ + masks/, or train/, val/, test/ each holding both). Pure: the
 * files are reached through a DataProbe.
 */
import { parseCsv } from './csv';
import { type DataProbe, type Detection, detectDataset, imageShape, isImageName, suggestedInput } from './dataKind';

/** At most this much of a manifest is read to count its labels. */
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

const join = (a: string, b: string) => (a === '' || a === '.' ? b : `${a}/${b}`);
const dot = (p: string) => (p === '' ? '.' : p);

const SPLIT_CSV = {
  train: /^train(ing)?\.csv$/i,
  validation: /^(val|valid|validation)\.csv$/i,
  test: /^test(ing)?\.csv$/i,
};

/** The label names of a manifest's text: its 0/1 columns' header, else the sorted names of its `labels` lists. */
function manifestLabels(text: string, file: string): { labels: string[]; firstImage?: string } | string {
  let records;
  try {
    records = parseCsv(text, file);
  } catch (e) {
    return (e as Error).message;
  }
  const [header, ...rows] = records;
  if (!header || header.fields.length < 2)
    return `${file} has no header of an image column and label columns: write "image,labels" (names separated by |) or "image,<label>,<label>,...".`;
  const firstImage = rows[0]?.fields[0]?.trim();
  const columns = header.fields.slice(1).map((h) => h.trim());
  if (columns.length > 1 || columns[0].toLowerCase() !== 'labels') return { labels: columns, firstImage };
  const names = new Set<string>();
  for (const r of rows)
    for (const name of (r.fields[1] ?? '').split('|').map((s) => s.trim())) if (name !== '') names.add(name);
  return { labels: [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), firstImage };
}

/** A multi-label manifest in `at` (train.csv, with val.csv / test.csv), or undefined when there is none. */
export function detectManifest(probe: DataProbe, at: string, files: readonly string[]): Detection | undefined {
  const named = (re: RegExp) => files.find((f) => re.test(f));
  const train = named(SPLIT_CSV.train);
  if (!train) return undefined;
  const path = join(at, train);
  const bytes = probe.read(path, MAX_MANIFEST_BYTES);
  if (!bytes) return { ok: false, reason: `Cannot read ${path}.` };
  const found = manifestLabels(new TextDecoder().decode(bytes), path);
  if (typeof found === 'string') return { ok: false, reason: found };
  if (found.labels.length < 2)
    return {
      ok: false,
      reason: `${path} names ${found.labels.length} label(s) (${found.labels.join(', ') || 'none'}): a multi-label model needs at least 2.`,
    };
  const shape = found.firstImage
    ? imageShape(probe.read(join(at, found.firstImage), 65536) ?? new Uint8Array())
    : undefined;
  const [validation, test] = [named(SPLIT_CSV.validation), named(SPLIT_CSV.test)].map((f) => f && join(at, f));
  const list = found.labels.length <= 8 ? found.labels.join(', ') : `${found.labels.slice(0, 7).join(', ')}, ...`;
  const extra = [validation && `validation in ${validation}`, test && `test in ${test}`].filter(Boolean).join(', ');
  return {
    ok: true,
    format: 'manifest',
    task: 'multilabel',
    train: path,
    validation,
    test,
    classes: found.labels.length,
    input: shape ? suggestedInput(shape) : undefined,
    description: `a multi-label CSV manifest ${path}: ${found.labels.length} labels (${list})${shape ? `, images of ${shape.height}x${shape.width}x${shape.channels}` : ''}${extra ? `; ${extra}` : ''}`,
  };
}

/** `dir`'s images/ and masks/ folders when it has both. */
function imagesAndMasks(probe: DataProbe, dir: string): { images: string; masks: string } | undefined {
  const dirs = probe.list(dir)?.dirs ?? [];
  const images = dirs.find((d) => d.toLowerCase() === 'images');
  const masks = dirs.find((d) => d.toLowerCase() === 'masks');
  return images && masks ? { images: join(dir, images), masks: join(dir, masks) } : undefined;
}

const SPLIT_DIRS = {
  train: ['train', 'training'],
  validation: ['val', 'valid', 'validation'],
  test: ['test', 'testing'],
};

/**
 * Segmentation data in the chosen folder: images/ + masks/ in it, or in its train/ (val/, test/) folders; undefined
 * when there is none. The classes are not told (a mask's pixel values): the wizard asks.
 */
export function detectSegmentation(probe: DataProbe, dirs: readonly string[]): Detection | undefined {
  const split = (names: string[]) => {
    const d = dirs.find((x) => names.includes(x.toLowerCase()));
    return d ? imagesAndMasks(probe, d) : undefined;
  };
  const train = imagesAndMasks(probe, '') ?? split(SPLIT_DIRS.train);
  if (!train) return undefined;
  const first = probe.list(train.images)?.files.filter(isImageName).sort()[0];
  if (!first)
    return { ok: false, reason: `${train.images} has no images: add the images whose masks are in ${train.masks}.` };
  const maskNames = probe.list(train.masks)?.files ?? [];
  const stem = (f: string) => f.replace(/\.[^.]+$/, '');
  if (!maskNames.some((m) => stem(m) === stem(first)))
    return {
      ok: false,
      reason: `${train.masks} has no mask for ${first}: a mask is a PNG of the image's name whose pixel values are the classes.`,
    };
  const shape = imageShape(probe.read(join(train.images, first), 65536) ?? new Uint8Array());
  const validation = split(SPLIT_DIRS.validation);
  const test = split(SPLIT_DIRS.test);
  const extra = [validation && `validation in ${validation.images}`, test && `test in ${test.images}`]
    .filter(Boolean)
    .join(', ');
  return {
    ok: true,
    format: 'masks',
    task: 'segmentation',
    train: train.images,
    validation: validation?.images,
    test: test?.images,
    masks: { train: train.masks, validation: validation?.masks, test: test?.masks },
    input: shape ? suggestedInput(shape) : undefined,
    description: `images with masks (segmentation) in ${dot(train.images)} and ${train.masks}${shape ? `, images of ${shape.height}x${shape.width}x${shape.channels}` : ''}${extra ? `; ${extra}` : ''}`,
  };
}

/**
 * The data of a chosen folder, whatever the task: a multi-label manifest, images with masks, else what
 * detectDataset finds (class folders, IDX, CIFAR).
 */
export function detectTrainingData(probe: DataProbe): Detection {
  const root = probe.list('');
  if (!root) return { ok: false, reason: 'Cannot list the folder.' };
  return detectManifest(probe, '', root.files) ?? detectSegmentation(probe, root.dirs) ?? detectDataset(probe);
}
