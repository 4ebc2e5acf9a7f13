/**
 * The 1000 ImageNet class names of the pretrained models, in class-index order (0 `tench`, 1 `goldfish`, …), read
 * at run time from `media/imagenet-classes.json` (made by scripts/make-imagenet-classes.py from torchvision's own
 * list). The extension passes `context.asAbsolutePath('media/imagenet-classes.json')`; the CLI and the engine find
 * it beside their bundle (`dist/../media`), and the compiled tests under `out/` find it in the repository.
 *
 * Node only (fs, path).
 */
import * as fs from 'fs';
import * as path from 'path';

/** The number of ImageNet-1k classes. */
export const IMAGENET_CLASS_COUNT = 1000;

/** The file's name under `media/`. */
export const IMAGENET_CLASSES_FILE = 'imagenet-classes.json';

/** Where the class names are looked for when no path is given, first found wins. */
export function imagenetClassesCandidates(dir: string = __dirname): string[] {
  return [
    path.resolve(dir, '../media', IMAGENET_CLASSES_FILE), // dist/*.js (bundles)
    path.resolve(dir, '../../../media', IMAGENET_CLASSES_FILE), // out/src/interchange (compiled tests)
    path.resolve(dir, '../../media', IMAGENET_CLASSES_FILE), // src/interchange (run from source)
  ];
}

/**
 * Checks parsed JSON as the class list: an array of exactly 1000 distinct non-empty strings (`source` names the
 * file in errors).
 */
export function parseImagenetClasses(value: unknown, source: string): string[] {
  if (!Array.isArray(value)) {
    throw new Error(`${source} must hold a JSON array of ${IMAGENET_CLASS_COUNT} class names.`);
  }
  if (value.length !== IMAGENET_CLASS_COUNT) {
    throw new Error(
      `${source} holds ${value.length} class names, not ${IMAGENET_CLASS_COUNT}: regenerate it with ` +
        `scripts/make-imagenet-classes.py.`,
    );
  }
  const seen = new Map<string, number>();
  value.forEach((name: unknown, i) => {
    if (typeof name !== 'string' || name.trim() === '') {
      throw new Error(`${source}: class ${i} is ${JSON.stringify(name)}, not a non-empty string.`);
    }
    const before = seen.get(name);
    if (before !== undefined) throw new Error(`${source}: classes ${before} and ${i} are both named "${name}".`);
    seen.set(name, i);
  });
  return value as string[];
}

const cache = new Map<string, readonly string[]>();

/**
 * The 1000 ImageNet class names in index order, read from `file` (or the first existing of
 * `imagenetClassesCandidates()`) and checked; cached per file.
 * @throws Error naming the file when it is missing, not JSON, or not 1000 distinct names.
 */
export function loadImagenetClasses(file?: string): readonly string[] {
  const resolved = file ?? imagenetClassesCandidates().find((f) => fs.existsSync(f));
  if (!resolved) {
    throw new Error(
      `The ImageNet class names (media/${IMAGENET_CLASSES_FILE}) were not found; looked in ` +
        `${imagenetClassesCandidates().join(', ')}. Reinstall the extension, or pass the file's path.`,
    );
  }
  const cached = cache.get(resolved);
  if (cached) return cached;
  let text: string;
  try {
    text = fs.readFileSync(resolved, 'utf8');
  } catch (e) {
    throw new Error(`Could not read the ImageNet class names from ${resolved}: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`${resolved} is not valid JSON (${(e as Error).message}).`);
  }
  const names = Object.freeze(parseImagenetClasses(parsed, resolved));
  cache.set(resolved, names);
  return names;
}
