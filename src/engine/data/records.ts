/** Fixed-size records in a binary file (IDX images, CIFAR batches), read one at a time. */
import * as fs from 'fs';

/** True when the file starts with the gzip magic bytes. */
export async function isGzip(file: string): Promise<boolean> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const { bytesRead, buffer } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/**
 * `count` records of `recordSize` bytes starting at `offset`: read with positional reads from an open file
 * (the file is never loaded whole), or sliced from memory for gzip files, which cannot be read at an offset.
 */
export class RecordFile {
  private handle: Promise<fs.promises.FileHandle> | undefined;

  private constructor(
    readonly file: string,
    private readonly offset: number,
    readonly recordSize: number,
    readonly count: number,
    private readonly memory: Uint8Array | undefined,
  ) {}

  static onDisk(file: string, offset: number, recordSize: number, count: number): RecordFile {
    return new RecordFile(file, offset, recordSize, count, undefined);
  }

  static inMemory(file: string, data: Uint8Array, offset: number, recordSize: number, count: number): RecordFile {
    return new RecordFile(file, offset, recordSize, count, data);
  }

  async read(index: number): Promise<Uint8Array> {
    const start = this.offset + index * this.recordSize;
    if (this.memory) return this.memory.subarray(start, start + this.recordSize);
    this.handle ??= fs.promises.open(this.file, 'r');
    const handle = await this.handle;
    const out = Buffer.alloc(this.recordSize);
    const { bytesRead } = await handle.read(out, 0, this.recordSize, start);
    if (bytesRead !== this.recordSize)
      throw new Error(`record ${index} is truncated (${bytesRead} of ${this.recordSize} bytes)`);
    return out;
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    if (handle) await (await handle).close();
  }
}
