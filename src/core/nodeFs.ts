/** The validator's file-system probe on Node's `fs` (host and CLI; webviews have no file system). */
import * as fs from 'fs';
import * as path from 'path';
import type { FileProbe } from './validate';

function entries(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** What an entry is, a symbolic link followed (to nothing or in a loop: neither). */
function kindOf(dir: string, e: fs.Dirent): 'file' | 'directory' | undefined {
  if (!e.isSymbolicLink()) return e.isDirectory() ? 'directory' : e.isFile() ? 'file' : undefined;
  const st = fs.statSync(path.join(dir, e.name), { throwIfNoEntry: false });
  return st?.isDirectory() ? 'directory' : st?.isFile() ? 'file' : undefined;
}

function linkSafeKind(dir: string, e: fs.Dirent): 'file' | 'directory' | undefined {
  try {
    return kindOf(dir, e);
  } catch {
    return undefined; // a loop of links: the engine refuses it when it opens the data
  }
}

/** How much of a file `firstLine` reads: a CSV header of a few hundred label names. */
const FIRST_LINE_BYTES = 16384;

export const nodeFileProbe: FileProbe = {
  resolve: (specPath, relative) => path.resolve(path.dirname(specPath), relative),
  kind(p) {
    try {
      const st = fs.statSync(p);
      return st.isDirectory() ? 'directory' : 'file';
    } catch {
      return undefined;
    }
  },
  directories: (dir) =>
    entries(dir)
      .filter((e) => !e.name.startsWith('.') && linkSafeKind(dir, e) === 'directory')
      .map((e) => e.name),
  files: (dir) =>
    entries(dir)
      .filter((e) => linkSafeKind(dir, e) === 'file')
      .map((e) => e.name),
  firstLine(file) {
    try {
      const fd = fs.openSync(file, 'r');
      try {
        const buffer = Buffer.alloc(FIRST_LINE_BYTES);
        const read = fs.readSync(fd, buffer, 0, buffer.length, 0);
        const text = buffer.toString('utf8', 0, read).replace(/^\ufeff/, '');
        const end = text.indexOf('\n');
        // A first line longer than what was read is not known whole.
        return end >= 0 ? text.slice(0, end) : read < buffer.length ? text : undefined;
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      return undefined;
    }
  },
};
