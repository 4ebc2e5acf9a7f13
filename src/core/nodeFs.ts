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
      .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
      .map((e) => e.name),
  files: (dir) =>
    entries(dir)
      .filter((e) => e.isFile())
      .map((e) => e.name),
};
