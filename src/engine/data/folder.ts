/**
 * Class folders: one sub-folder per class, classes in plain string order of the folder names (the Keras and
 * DIGITS convention), hidden files and folders ignored, images found at any depth inside a class folder.
 * Symbolic links to images and folders are followed; a loop of links and a link to nothing are refused.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Dataset, Pixels, Size } from './dataset';
import { IMAGE_EXTENSIONS } from '../../core/dataKind';
import { decodeImage } from './decode';

export { IMAGE_EXTENSIONS };
const EXTENSION_LIST = IMAGE_EXTENSIONS.join(', ');

export function isImageFile(name: string): boolean {
  const ext = path.extname(name).slice(1).toLowerCase();
  return (IMAGE_EXTENSIONS as readonly string[]).includes(ext);
}

type EntryKind = 'file' | 'directory' | 'other' | 'broken link';

interface Entry {
  name: string;
  full: string;
  /** What the entry is, symbolic links followed. */
  kind: EntryKind;
}

const byName = (a: fs.Dirent, b: fs.Dirent): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** What a symbolic link leads to; throws for a loop of links. */
async function linkKind(full: string, show: (abs: string) => string): Promise<EntryKind> {
  try {
    const st = await fs.promises.stat(full);
    return st.isDirectory() ? 'directory' : st.isFile() ? 'file' : 'other';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'broken link';
    if (code === 'ELOOP')
      throw new Error(
        `"${show(full)}" is a symbolic link in a loop of links (it never leads to a file or folder): fix or remove it.`,
      );
    throw e;
  }
}

/** The visible entries of `dir`, sorted by name, symbolic links followed. */
async function visibleEntries(dir: string, show: (abs: string) => string): Promise<Entry[]> {
  const entries = (await fs.promises.readdir(dir, { withFileTypes: true }))
    .filter((e) => !e.name.startsWith('.'))
    .sort(byName);
  const out: Entry[] = [];
  for (const e of entries) {
    const full = path.join(dir, e.name);
    const kind: EntryKind = e.isSymbolicLink()
      ? await linkKind(full, show)
      : e.isDirectory()
        ? 'directory'
        : e.isFile()
          ? 'file'
          : 'other';
    out.push({ name: e.name, full, kind });
  }
  return out;
}

async function brokenLink(full: string, show: (abs: string) => string, what: string): Promise<Error> {
  const target = await fs.promises.readlink(full);
  return new Error(
    `${what} "${show(full)}" is a symbolic link to "${target}", which does not exist: fix the link or remove it.`,
  );
}

/** The real path of folder `dir`; throws when it is one of the folders that contain it (a loop of links). */
async function enter(dir: string, ancestors: ReadonlySet<string>, show: (abs: string) => string): Promise<string> {
  const real = await fs.promises.realpath(dir);
  if (ancestors.has(real)) {
    throw new Error(
      `Folder "${show(dir)}" leads back to "${real}", which contains it: a loop of symbolic links. Remove the link or point it elsewhere.`,
    );
  }
  return real;
}

/** Image files under `dir`, recursively, in a stable order, symbolic links followed (a loop refused). */
async function imageFiles(
  dir: string,
  ancestors: ReadonlySet<string>,
  show: (abs: string) => string,
  out: string[],
): Promise<string[]> {
  const inside = new Set(ancestors).add(await enter(dir, ancestors, show));
  for (const entry of await visibleEntries(dir, show)) {
    if (entry.kind === 'directory') await imageFiles(entry.full, inside, show, out);
    else if (entry.kind === 'file' && isImageFile(entry.name)) out.push(entry.full);
    else if (entry.kind === 'broken link' && isImageFile(entry.name)) throw await brokenLink(entry.full, show, 'Image');
  }
  return out;
}

export interface FolderOptions {
  /** How a path appears in messages (relative to the spec's folder). */
  show(abs: string): string;
  /** The training classes, for validation and test folders: their folders map to these labels by name. */
  classNames?: readonly string[];
}

interface ClassFolders {
  classNames: readonly string[];
  /** The images of each class folder found, with its label. */
  folders: { label: number; files: string[] }[];
}

/** Lists the class folders of `dir`; throws an Error that says what to change when they hold no images. */
async function listClassFolders(dir: string, options: FolderOptions): Promise<ClassFolders> {
  const entries = await visibleEntries(dir, options.show);
  const broken = entries.find((e) => e.kind === 'broken link');
  if (broken) throw await brokenLink(broken.full, options.show, 'Class folder');
  const root = new Set([await fs.promises.realpath(dir)]);
  const classDirs = entries.filter((e) => e.kind === 'directory').map((e) => e.name);
  if (classDirs.length === 0) {
    const loose = entries.filter((e) => e.kind === 'file' && isImageFile(e.name)).length;
    throw new Error(
      loose > 0
        ? `Data folder "${options.show(dir)}" holds ${loose} image(s) but no class sub-folders: move the images into one sub-folder per class (e.g. ${options.show(path.join(dir, 'cat'))}/1.png).`
        : `Data folder "${options.show(dir)}" has no class sub-folders and no CIFAR or IDX files: put the images in one sub-folder per class (${EXTENSION_LIST}), or point to CIFAR batches or an IDX file.`,
    );
  }
  const classNames = options.classNames ?? classDirs;
  const folders: ClassFolders['folders'] = [];
  const empty: string[] = [];
  for (const name of classDirs) {
    const label = classNames.indexOf(name);
    if (label < 0) {
      throw new Error(
        `Class folder "${options.show(path.join(dir, name))}" is not one of the ${classNames.length} training classes (${classNames.join(', ')}): rename or remove it.`,
      );
    }
    const files = await imageFiles(path.join(dir, name), root, options.show, []);
    if (files.length === 0) empty.push(name);
    folders.push({ label, files });
  }
  if (folders.every((f) => f.files.length === 0)) {
    throw new Error(
      `Data folder "${options.show(dir)}" has no images: its class folders (${classDirs.join(', ')}) hold no ${EXTENSION_LIST} files. Add images to them.`,
    );
  }
  if (empty.length > 0) {
    throw new Error(
      `Class folder "${options.show(path.join(dir, empty[0]))}" has no images (${EXTENSION_LIST}): add images or remove the folder.` +
        (empty.length > 1
          ? ` (${empty.length - 1} more class folder(s) are empty: ${empty.slice(1).join(', ')}.)`
          : ''),
    );
  }
  return { classNames, folders };
}

// A synchronous read: for image files it takes a tenth of the CPU time of fs.promises.readFile (whose file
// handle costs more than the read of a small image), and the engine process has no user interface to block.
const readImage = async (file: string, size: Size): Promise<Pixels> => decodeImage(fs.readFileSync(file), size);

/** Single-label class folders: each image is one example of its folder's class. */
export async function openImageFolder(dir: string, options: FolderOptions): Promise<Dataset> {
  const { classNames, folders } = await listClassFolders(dir, options);
  const files = folders.flatMap((f) => f.files);
  const labelArray = Int32Array.from(folders.flatMap((f) => f.files.map(() => f.label)));
  return {
    description: `${options.show(dir)} (class folders)`,
    classNames,
    length: files.length,
    label: (i) => labelArray[i],
    location: (i) => files[i],
    classFolder: (label) => options.show(path.join(dir, classNames[label])),
    read: async (i: number, size: Size): Promise<Pixels> => readImage(files[i], size),
    close: async () => undefined,
  };
}

/**
 * Multi-label class folders: an image found under the same path (relative to its class folder) in several class
 * folders is one example with all their labels, e.g. a/x.png and b/x.png make x.png with labels a and b. Examples
 * in the order of those relative paths; each is read from its first class folder.
 */
export async function openMultilabelFolder(dir: string, options: FolderOptions): Promise<Dataset> {
  const { classNames, folders } = await listClassFolders(dir, options);
  const examples = new Map<string, { file: string; labels: number[] }>();
  for (const { label, files } of folders) {
    const classDir = path.join(dir, classNames[label]);
    for (const file of files) {
      const key = path.relative(classDir, file).split(path.sep).join('/');
      const known = examples.get(key);
      if (known) known.labels.push(label);
      else examples.set(key, { file, labels: [label] });
    }
  }
  const keys = [...examples.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const list = keys.map((k) => examples.get(k)!);
  for (const e of list) e.labels.sort((a, b) => a - b);
  return {
    description: `${options.show(dir)} (multi-label class folders)`,
    classNames,
    length: list.length,
    label: () => 0,
    labelSet: (i) => list[i].labels,
    location: (i) => list[i].file,
    classFolder: (label) => options.show(path.join(dir, classNames[label])),
    read: async (i: number, size: Size): Promise<Pixels> => readImage(list[i].file, size),
    close: async () => undefined,
  };
}
