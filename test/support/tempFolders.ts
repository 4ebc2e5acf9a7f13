/** Temporary folders for one test file: `make()` creates one, `removeAll()` (from an `after` hook) deletes them. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface TempFolders {
  make(): string;
  removeAll(): void;
}

export function tempFolders(prefix: string): TempFolders {
  const dirs: string[] = [];
  return {
    make() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
      dirs.push(dir);
      return dir;
    },
    removeAll() {
      for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
    },
  };
}
