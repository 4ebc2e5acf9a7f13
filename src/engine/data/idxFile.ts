/**
 * Reading IDX files (the MNIST format), plain or gzip, with their sizes checked against their headers: the
 * header is read first, the data must be exactly as long as it announces, and a gzip file is inflated only as
 * far as that size (a file that inflates to more is refused after one chunk past it, never inflated whole).
 */
import { constants as bufferConstants } from 'buffer';
import * as fs from 'fs';
import { pipeline } from 'stream';
import * as zlib from 'zlib';
import { isGzip } from './records';

const UNSIGNED_BYTE = 0x08;

/**
 * The most a deflate stream inflates to per compressed byte (a long run of one byte value gives about 1032:1):
 * a gzip file whose header announces more than this times its size is truncated or has a wrong header.
 */
export const MAX_DEFLATE_RATIO = 1032;

export interface IdxHeader {
  dims: number[];
  /** Bytes before the data. */
  size: number;
}

/** What a header announces: the bytes of data after it and, for messages, what they are ("6 images of 4x4x1"). */
export interface IdxClaim {
  bytes: number;
  what: string;
}

/** Checks a header for one kind of IDX file (images, labels) and says how much data it announces; throws if wrong. */
export type IdxExpectation = (header: IdxHeader) => IdxClaim;

/** Parses an IDX header from the start of a file; `describe` names the file in errors. */
export function parseIdxHeader(bytes: Uint8Array, describe: string): IdxHeader {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new Error(
      `${describe} is not an IDX file (it does not start with 0x00 0x00): give an MNIST-format images file such as train-images-idx3-ubyte.gz.`,
    );
  }
  if (bytes[2] !== UNSIGNED_BYTE) {
    throw new Error(
      `${describe} holds IDX type 0x${bytes[2].toString(16).padStart(2, '0')}; only unsigned bytes (0x08) are supported.`,
    );
  }
  const ndims = bytes[3];
  const size = 4 + 4 * ndims;
  if (ndims === 0 || bytes.length < size) throw new Error(`${describe} has a truncated IDX header.`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, size);
  const dims = Array.from({ length: ndims }, (_, d) => view.getUint32(4 + 4 * d, false));
  return { dims, size };
}

/** Whether `head` holds a whole header (or enough to tell it is not one). */
function headerComplete(head: Uint8Array): boolean {
  if (head.length >= 2 && (head[0] !== 0 || head[1] !== 0)) return true;
  return head.length >= 4 && head.length >= 4 + 4 * head[3];
}

function tooShort(describe: string, claim: IdxClaim, holds?: number): Error {
  const held = holds === undefined ? '' : ` (decompressed, it holds ${holds} of the ${claim.bytes} bytes of data)`;
  return new Error(
    `${describe} is truncated: its header announces ${claim.what} but the file is too short${held}. Give the whole file (download it again).`,
  );
}

function tooLong(describe: string, claim: IdxClaim): Error {
  return new Error(
    `${describe} holds more data than its header announces (${claim.what}, ${claim.bytes} bytes): give a file whose header matches its data (download it again).`,
  );
}

async function readHead(file: string, bytes: number): Promise<Buffer> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(bytes), 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The header of a plain (not gzip) IDX file, its size checked: exactly the header and the data it announces. */
export async function plainIdxHeader(
  file: string,
  describe: string,
  expect: IdxExpectation,
): Promise<{ header: IdxHeader; claim: IdxClaim }> {
  const header = parseIdxHeader(await readHead(file, 4 + 4 * 255), describe);
  const claim = expect(header);
  const size = (await fs.promises.stat(file)).size;
  if (size < header.size + claim.bytes) throw tooShort(describe, claim);
  if (size > header.size + claim.bytes) throw tooLong(describe, claim);
  return { header, claim };
}

/** Bytes inflated so far by `inflateIdx`, for callers that watch it. */
export interface InflateCount {
  inflated: number;
}

/** The buffer for a header's file, once the claim is known to fit in a gzip file of `compressed` bytes and in memory. */
function allocateFor(describe: string, header: IdxHeader, claim: IdxClaim, compressed: number): Buffer {
  const total = header.size + claim.bytes;
  if (total > compressed * MAX_DEFLATE_RATIO + 1024) {
    throw new Error(
      `${describe} is truncated or its header is wrong: the header announces ${claim.what} (${total} bytes), more than a gzip file of ${compressed} bytes can hold. Give the whole file (download it again).`,
    );
  }
  if (total > bufferConstants.MAX_LENGTH) {
    throw new Error(
      `${describe} announces ${claim.what} (${total} bytes), too much to decompress into memory: gunzip it, and give the plain file (it is read from disk as needed).`,
    );
  }
  return Buffer.allocUnsafe(total);
}

/**
 * A gzip IDX file inflated into memory, header then data, but only as far as its header says it goes: the header
 * is inflated first and checked by `expect`, the buffer has the announced size, and the inflation stops at the
 * first chunk past it. Throws, naming the file, for a file that holds more or less than its header announces.
 */
export async function inflateIdx(
  file: string,
  describe: string,
  expect: IdxExpectation,
  count: InflateCount = { inflated: 0 },
): Promise<{ header: IdxHeader; bytes: Buffer }> {
  const compressed = (await fs.promises.stat(file)).size;
  const gunzip = zlib.createGunzip();
  const source = fs.createReadStream(file);
  pipeline(source, gunzip, () => undefined);
  let head = Buffer.alloc(0);
  let found: { header: IdxHeader; claim: IdxClaim; out: Buffer } | undefined;
  let filled = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      count.inflated += chunk.length;
      let data = chunk;
      if (!found) {
        head = Buffer.concat([head, chunk]);
        if (!headerComplete(head)) continue;
        const header = parseIdxHeader(head, describe);
        const claim = expect(header);
        found = { header, claim, out: allocateFor(describe, header, claim, compressed) };
        data = head;
      }
      if (filled + data.length > found.out.length) throw tooLong(describe, found.claim);
      data.copy(found.out, filled);
      filled += data.length;
    }
  } catch (e) {
    if (e instanceof Error && 'code' in e && typeof e.code === 'string' && e.code.startsWith('Z_'))
      throw new Error(`${describe} is not a valid gzip file (${e.message}): give the whole file (download it again).`);
    throw e;
  } finally {
    gunzip.destroy();
    source.destroy();
  }
  if (!found) {
    parseIdxHeader(head, describe); // throws: the file ends inside its header
    throw new Error(`${describe} has a truncated IDX header.`);
  }
  const { header, claim, out } = found;
  if (filled < out.length) throw tooShort(describe, claim, filled - header.size);
  return { header, bytes: out };
}

/** A whole IDX file, gunzipped when it is gzip, its size checked against its header. */
export async function readIdx(
  file: string,
  describe: string,
  expect: IdxExpectation,
): Promise<{ header: IdxHeader; bytes: Buffer }> {
  if (await isGzip(file)) return inflateIdx(file, describe, expect);
  const { header } = await plainIdxHeader(file, describe, expect);
  return { header, bytes: await fs.promises.readFile(file) };
}
