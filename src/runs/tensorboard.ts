/**
 * TensorBoard event files without dependencies: TFRecord framing, a minimal protobuf encoder for
 * `tensorflow.Event` / `tensorflow.Summary` scalars, and an append-only writer.
 *
 * Record: uint64 LE length, uint32 LE masked CRC32C of those 8 bytes, data, uint32 LE masked CRC32C of the data.
 * Protobuf (tensorflow/core/util/event.proto, tensorflow/core/framework/summary.proto):
 *   Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
 *   Summary { repeated Value value = 1; }
 *   Value   { string tag = 1; float simple_value = 2; }
 *
 * On resume, `trimTensorBoard` rewrites the run's event files without the events logged after the checkpoint
 * (TensorBoard reads every file of a folder, so steps trained again would show twice).
 *
 * Layout like the tfjs-node/Keras callbacks: `<runDir>/tensorboard/train/events.out.tfevents.<secs>.<host>` and
 * `<runDir>/tensorboard/validation/...`, so `tensorboard --logdir <runDir>/tensorboard` shows two runs. Tags
 * follow tfjs-node: `batch_<metric>` at the global batch count, `epoch_<metric>` at the epoch number, and a
 * `val_` metric goes to the validation stream without its prefix.
 *
 * No tfjs here.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeAllSync, writeFileAtomicSync } from './atomic';

// ---- CRC32C (Castagnoli) ----

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC32C of `data` (reflected, init and final xor 0xFFFFFFFF), as an unsigned 32-bit number. */
export function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = CRC32C_TABLE[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** TFRecord's CRC mask: rotate right by 15 bits and add a constant. */
export function maskCrc(crc: number): number {
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

/** Frames `data` as one TFRecord. */
export function encodeRecord(data: Uint8Array): Buffer {
  const out = Buffer.alloc(8 + 4 + data.length + 4);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskCrc(crc32c(out.subarray(0, 8))), 8);
  out.set(data, 12);
  out.writeUInt32LE(maskCrc(crc32c(data)), 12 + data.length);
  return out;
}

// ---- protobuf encoding ----

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

class ProtoWriter {
  private readonly parts: Uint8Array[] = [];

  private varint(value: bigint): void {
    let v = BigInt.asUintN(64, value);
    const bytes: number[] = [];
    while (v >= 0x80n) {
      bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    bytes.push(Number(v));
    this.parts.push(Uint8Array.from(bytes));
  }

  private key(field: number, wire: number): void {
    this.varint(BigInt((field << 3) | wire));
  }

  int64(field: number, value: number): this {
    this.key(field, WIRE_VARINT);
    this.varint(BigInt(Math.trunc(value)));
    return this;
  }

  double(field: number, value: number): this {
    this.key(field, WIRE_FIXED64);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(value, 0);
    this.parts.push(b);
    return this;
  }

  float(field: number, value: number): this {
    this.key(field, WIRE_FIXED32);
    const b = Buffer.alloc(4);
    b.writeFloatLE(value, 0);
    this.parts.push(b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.key(field, WIRE_LEN);
    this.varint(BigInt(value.length));
    this.parts.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, Buffer.from(value, 'utf8'));
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export interface ScalarValue {
  tag: string;
  value: number;
}

export interface EventFields {
  wallTime: number;
  step: number;
  fileVersion?: string;
  scalars?: ScalarValue[];
}

/** Serialises a `tensorflow.Event` with either `file_version` or a summary of scalar values. */
export function encodeEvent(event: EventFields): Buffer {
  const w = new ProtoWriter().double(1, event.wallTime);
  if (event.step !== 0) w.int64(2, event.step);
  if (event.fileVersion !== undefined) w.string(3, event.fileVersion);
  if (event.scalars !== undefined) {
    const summary = new ProtoWriter();
    for (const s of event.scalars) summary.bytes(1, new ProtoWriter().string(1, s.tag).float(2, s.value).finish());
    w.bytes(5, summary.finish());
  }
  return w.finish();
}

export const FILE_VERSION = 'brain.Event:2';

// ---- reading (for trimming on resume) ----

/** Reads a protobuf varint at `off`: its value (as a number; steps stay far below 2^53) and the next offset. */
function readVarint(buf: Uint8Array, off: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (off >= buf.length) throw new Error('truncated varint');
    const b = buf[off++];
    value += (b & 0x7f) * scale;
    if (!(b & 0x80)) return [value, off];
    scale *= 128;
  }
  throw new Error('varint too long');
}

/** The fields of a protobuf message: number -> values (varints as numbers, length-delimited as bytes). */
function protoFields(buf: Uint8Array): Map<number, (number | Uint8Array)[]> {
  const fields = new Map<number, (number | Uint8Array)[]>();
  let off = 0;
  while (off < buf.length) {
    let key: number;
    [key, off] = readVarint(buf, off);
    const wire = key & 7;
    let value: number | Uint8Array;
    if (wire === WIRE_VARINT) [value, off] = readVarint(buf, off);
    else if (wire === WIRE_FIXED64 || wire === WIRE_FIXED32) {
      const n = wire === WIRE_FIXED64 ? 8 : 4;
      value = buf.subarray(off, off + n);
      off += n;
    } else if (wire === WIRE_LEN) {
      let n: number;
      [n, off] = readVarint(buf, off);
      value = buf.subarray(off, off + n);
      off += n;
    } else throw new Error(`unsupported wire type ${wire}`);
    if (off > buf.length) throw new Error('truncated field');
    const field = Math.floor(key / 8);
    fields.set(field, [...(fields.get(field) ?? []), value]);
  }
  return fields;
}

/** One record of an event file: its bytes (framing included), its event's step and the tags of its scalars. */
export interface EventRecord {
  bytes: Buffer;
  step: number;
  tags: string[];
}

/** The whole, intact records of an event file's content; a torn or corrupt record ends the list. */
export function readEventRecords(buf: Buffer): EventRecord[] {
  const out: EventRecord[] = [];
  let off = 0;
  while (off + 12 <= buf.length) {
    const len = Number(buf.readBigUInt64LE(off));
    if (buf.readUInt32LE(off + 8) !== maskCrc(crc32c(buf.subarray(off, off + 8)))) break;
    const end = off + 12 + len + 4;
    if (end > buf.length) break;
    const data = buf.subarray(off + 12, off + 12 + len);
    if (buf.readUInt32LE(off + 12 + len) !== maskCrc(crc32c(data))) break;
    try {
      const event = protoFields(data);
      const step = (event.get(2)?.[0] as number | undefined) ?? 0;
      const tags: string[] = [];
      for (const summary of event.get(5) ?? []) {
        for (const value of protoFields(summary as Uint8Array).get(1) ?? []) {
          const tag = protoFields(value as Uint8Array).get(1)?.[0];
          if (tag instanceof Uint8Array) tags.push(Buffer.from(tag).toString('utf8'));
        }
      }
      out.push({ bytes: buf.subarray(off, end), step, tags });
    } catch {
      break;
    }
    off = end;
  }
  return out;
}

/** The event files of a run (both streams), in no particular order. */
export function eventFiles(runDir: string): string[] {
  const files: string[] = [];
  for (const stream of ['train', 'validation']) {
    const dir = path.join(tensorBoardDir(runDir), stream);
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names) if (n.startsWith('events.out.tfevents.')) files.push(path.join(dir, n));
  }
  return files;
}

/** Where a resumed run continues: the checkpoint's global step (batch events) and completed epochs (epoch events). */
export interface TrimPoint {
  globalStep: number;
  epoch: number;
}

/** Whether an event belongs before `at`: `epoch_` scalars are stepped by epoch, every other event by batch. */
const beforeTrimPoint = (e: EventRecord, at: TrimPoint): boolean =>
  e.tags.every((tag) => e.step <= (tag.startsWith('epoch_') ? at.epoch : at.globalStep));

/**
 * For a resume from a checkpoint: rewrites (atomically) every event file of the run without the events logged
 * after it, and without a torn last record. Returns how many events were dropped.
 */
export function trimTensorBoard(runDir: string, at: TrimPoint): number {
  let dropped = 0;
  for (const file of eventFiles(runDir)) {
    const buf = fs.readFileSync(file);
    const records = readEventRecords(buf);
    const kept = records.filter((e) => beforeTrimPoint(e, at));
    const keptBytes = kept.reduce((n, e) => n + e.bytes.length, 0);
    if (keptBytes === buf.length) continue;
    dropped += records.length - kept.length;
    writeFileAtomicSync(file, Buffer.concat(kept.map((e) => e.bytes)));
  }
  return dropped;
}

// ---- writer ----

export interface EventFileWriterOptions {
  /** Host name in the file name (default os.hostname()). */
  hostname?: string;
  /** Clock in ms (default Date.now); the file name uses its seconds, events its fractional seconds. */
  now?: () => number;
  /** Buffered bytes that trigger a write + fsync before `flush()` is called (default 64 KiB). */
  maxPendingBytes?: number;
}

/**
 * One append-only event file in `dir`. `addScalar` buffers a record; `flush` appends the buffered records and
 * fsyncs. Records are only ever appended whole, so a crash loses at most the unflushed ones (a torn last record
 * is skipped by TensorBoard's reader).
 */
export class EventFileWriter {
  readonly file: string;
  private fd: number | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly now: () => number;
  private readonly maxPendingBytes: number;

  constructor(
    readonly dir: string,
    options: EventFileWriterOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.maxPendingBytes = options.maxPendingBytes ?? 64 * 1024;
    const host = (options.hostname ?? os.hostname()).replace(/[\\/]/g, '_');
    const startMs = this.now();
    fs.mkdirSync(dir, { recursive: true });
    this.file = path.join(dir, `events.out.tfevents.${Math.floor(startMs / 1000)}.${host}`);
    this.fd = fs.openSync(this.file, 'a');
    if (fs.fstatSync(this.fd).size === 0) {
      this.pushRecord(encodeEvent({ wallTime: startMs / 1000, step: 0, fileVersion: FILE_VERSION }));
      this.flush();
    }
  }

  private pushRecord(event: Uint8Array): void {
    const rec = encodeRecord(event);
    this.pending.push(rec);
    this.pendingBytes += rec.length;
  }

  /** Buffers one scalar (`simple_value`, stored as float32). */
  addScalar(tag: string, value: number, step: number): void {
    this.addScalars([{ tag, value }], step);
  }

  /** Buffers several scalars of the same step as one event. Non-finite values are written as they are. */
  addScalars(scalars: ScalarValue[], step: number): void {
    if (this.fd === undefined) throw new Error(`event file ${this.file} is closed`);
    if (scalars.length === 0) return;
    this.pushRecord(encodeEvent({ wallTime: this.now() / 1000, step, scalars }));
    if (this.pendingBytes >= this.maxPendingBytes) this.flush();
  }

  /** Appends the buffered records and fsyncs the file. */
  flush(): void {
    if (this.fd === undefined || this.pending.length === 0) return;
    const data = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    writeAllSync(this.fd, data);
    fs.fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd === undefined) return;
    this.flush();
    fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

export type TensorBoardStream = 'train' | 'validation';

export const tensorBoardDir = (runDir: string): string => path.join(runDir, 'tensorboard');

/**
 * The two streams of a run, created on first use. `logMetrics` takes a tfjs-style logs object
 * ({loss, acc, val_loss, val_acc, ...}).
 */
export class TensorBoardLogger {
  private readonly writers = new Map<TensorBoardStream, EventFileWriter>();

  constructor(
    readonly runDir: string,
    private readonly options: EventFileWriterOptions = {},
  ) {}

  writer(stream: TensorBoardStream): EventFileWriter {
    let w = this.writers.get(stream);
    if (!w) {
      w = new EventFileWriter(path.join(tensorBoardDir(this.runDir), stream), this.options);
      this.writers.set(stream, w);
    }
    return w;
  }

  addScalar(stream: TensorBoardStream, tag: string, value: number, step: number): void {
    this.writer(stream).addScalar(tag, value, step);
  }

  /**
   * Writes each numeric entry of `logs` as `<prefix><name>`: `val_<name>` to the validation stream as
   * `<prefix><name>`, the others to the train stream. Entries `batch`, `size` and `num_steps` are skipped.
   */
  logMetrics(prefix: 'batch_' | 'epoch_', logs: Record<string, unknown>, step: number): void {
    const train: ScalarValue[] = [];
    const val: ScalarValue[] = [];
    for (const [key, value] of Object.entries(logs)) {
      if (key === 'batch' || key === 'size' || key === 'num_steps' || typeof value !== 'number') continue;
      if (key.startsWith('val_')) val.push({ tag: prefix + key.slice(4), value });
      else train.push({ tag: prefix + key, value });
    }
    if (train.length) this.writer('train').addScalars(train, step);
    if (val.length) this.writer('validation').addScalars(val, step);
  }

  flush(): void {
    for (const w of this.writers.values()) w.flush();
  }

  close(): void {
    for (const w of this.writers.values()) w.close();
    this.writers.clear();
  }
}
