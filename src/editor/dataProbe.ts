/** Node's file system as a DataProbe (src/core/dataKind.ts): lists a chosen data folder and reads file heads. */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import type { DataProbe } from '../core';

/** Reads at most `max` bytes of a file; a .gz file is inflated only as far as that (its head read, not all). */
function readHead(file: string, max: number): Uint8Array | undefined {
  const gz = file.toLowerCase().endsWith('.gz');
  // Deflate stores data at worst a few bytes per 64 KiB larger: max + 4 KiB of input gives max bytes out.
  const want = gz ? max + 4096 : max;
  const fd = fs.openSync(file, 'r');
  try {
    const size = Math.min(fs.fstatSync(fd).size, want);
    const buffer = Buffer.alloc(size);
    const read = fs.readSync(fd, buffer, 0, size, 0);
    const head = buffer.subarray(0, read);
    if (!gz) return head;
    const inflated = zlib.gunzipSync(head, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    return inflated.subarray(0, max);
  } finally {
    fs.closeSync(fd);
  }
}

export function nodeDataProbe(root: string): DataProbe {
  const abs = (relative: string) => path.join(root, ...relative.split('/').filter((p) => p !== '' && p !== '.'));
  return {
    list(relative) {
      try {
        const entries = fs.readdirSync(abs(relative), { withFileTypes: true }).filter((e) => !e.name.startsWith('.'));
        const isDir = (e: fs.Dirent) =>
          e.isDirectory() || (e.isSymbolicLink() && fs.statSync(path.join(abs(relative), e.name)).isDirectory());
        return {
          files: entries.filter((e) => !isDir(e)).map((e) => e.name),
          dirs: entries.filter(isDir).map((e) => e.name),
        };
      } catch {
        return undefined;
      }
    },
    read(relative, max) {
      try {
        return readHead(abs(relative), max);
      } catch {
        return undefined;
      }
    },
  };
}
