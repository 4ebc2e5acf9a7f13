import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import {
  crc32c,
  encodeRecord,
  eventFiles,
  EventFileWriter,
  maskCrc,
  TensorBoardLogger,
  trimTensorBoard,
} from '../../src/runs/tensorboard';
import { tempFolders } from '../support/tempFolders';

const temp = tempFolders('densenet-tensorboard-');
const tmpDir = (): string => temp.make();

// ---- an independent TFRecord + protobuf reader (bitwise CRC, no table) ----

function crc32cBitwise(data: Uint8Array): number {
  let crc = ~0 >>> 0;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0x82f63b78 & -(crc & 1));
  }
  return ~crc >>> 0;
}
const mask = (crc: number) => ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) % 2 ** 32;

function readRecords(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  while (off < buf.length) {
    const len = Number(buf.readBigUInt64LE(off));
    assert.strictEqual(buf.readUInt32LE(off + 8), mask(crc32cBitwise(buf.subarray(off, off + 8))), 'length CRC');
    const data = buf.subarray(off + 12, off + 12 + len);
    assert.strictEqual(buf.readUInt32LE(off + 12 + len), mask(crc32cBitwise(data)), 'data CRC');
    out.push(data);
    off += 16 + len;
  }
  assert.strictEqual(off, buf.length);
  return out;
}

type Field = { wire: number; value: bigint | Buffer };
function decodeProto(buf: Buffer): Map<number, Field[]> {
  const fields = new Map<number, Field[]>();
  let off = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[off++];
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
    }
  };
  while (off < buf.length) {
    const key = Number(varint());
    const wire = key & 7;
    let value: bigint | Buffer;
    if (wire === 0) value = varint();
    else if (wire === 1) {
      value = buf.subarray(off, off + 8);
      off += 8;
    } else if (wire === 5) {
      value = buf.subarray(off, off + 4);
      off += 4;
    } else if (wire === 2) {
      const n = Number(varint());
      value = buf.subarray(off, off + n);
      off += n;
    } else throw new Error(`wire type ${wire}`);
    const list = fields.get(key >> 3) ?? [];
    list.push({ wire, value });
    fields.set(key >> 3, list);
  }
  return fields;
}

interface DecodedEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  values: { tag: string; value: number }[];
}
function decodeEvent(data: Buffer): DecodedEvent {
  const f = decodeProto(data);
  const wall = f.get(1)?.[0];
  const step = f.get(2)?.[0];
  const ev: DecodedEvent = {
    wallTime: wall ? (wall.value as Buffer).readDoubleLE(0) : 0,
    step: step ? Number(BigInt.asIntN(64, step.value as bigint)) : 0,
    values: [],
  };
  const fv = f.get(3)?.[0];
  if (fv) ev.fileVersion = (fv.value as Buffer).toString('utf8');
  const summary = f.get(5)?.[0];
  if (summary) {
    for (const v of decodeProto(summary.value as Buffer).get(1) ?? []) {
      const vf = decodeProto(v.value as Buffer);
      assert.strictEqual(vf.get(2)?.[0].wire, 5, 'simple_value is a fixed32 float');
      ev.values.push({
        tag: (vf.get(1)![0].value as Buffer).toString('utf8'),
        value: (vf.get(2)![0].value as Buffer).readFloatLE(0),
      });
    }
  }
  return ev;
}

describe('runs/tensorboard', () => {
  after(() => temp.removeAll());

  describe('CRC32C', () => {
    it('matches the known test vectors', () => {
      assert.strictEqual(crc32c(Buffer.from('123456789', 'ascii')), 0xe3069283);
      assert.strictEqual(crc32c(new Uint8Array(32)), 0x8a9136aa);
      assert.strictEqual(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
      assert.strictEqual(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
      assert.strictEqual(crc32c(new Uint8Array(0)), 0);
    });
    it('masks as TFRecord does and frames a record', () => {
      const crc = 0xe3069283;
      assert.strictEqual(maskCrc(crc), mask(crc));
      const rec = encodeRecord(Buffer.from('hello'));
      assert.deepStrictEqual(
        readRecords(rec).map((r) => r.toString()),
        ['hello'],
      );
    });
  });

  describe('TensorBoard event files', () => {
    it('writes events that an independent decoder reads back', () => {
      const dir = tmpDir();
      let clock = 1_700_000_000_123;
      const w = new EventFileWriter(dir, { hostname: 'testhost', now: () => clock });
      assert.strictEqual(path.basename(w.file), 'events.out.tfevents.1700000000.testhost');
      const written: { tag: string; value: number; step: number }[] = [];
      for (let step = 1; step <= 50; step++) {
        clock += 10;
        const loss = 2 / step + 0.1234567;
        w.addScalar('batch_loss', loss, step);
        written.push({ tag: 'batch_loss', value: loss, step });
      }
      w.addScalars(
        [
          { tag: 'epoch_loss', value: 0.25 },
          { tag: 'epoch_acc', value: 0.9 },
        ],
        3_000_000_000_000,
      );
      written.push(
        { tag: 'epoch_loss', value: 0.25, step: 3_000_000_000_000 },
        { tag: 'epoch_acc', value: 0.9, step: 3_000_000_000_000 },
      );
      w.close();
      const events = readRecords(fs.readFileSync(w.file)).map(decodeEvent);
      assert.strictEqual(events[0].fileVersion, 'brain.Event:2');
      assert.strictEqual(events[0].wallTime, 1_700_000_000.123);
      const got = events.slice(1).flatMap((e) => e.values.map((v) => ({ ...v, step: e.step })));
      assert.deepStrictEqual(
        got,
        written.map((s) => ({ ...s, value: Math.fround(s.value) })),
      );
      assert.strictEqual(events[1].wallTime, 1_700_000_000.133);
    });

    it('flushes records whole and appends to the same file', () => {
      const dir = tmpDir();
      const w = new EventFileWriter(dir, { hostname: 'h', now: () => 5000 });
      w.addScalar('a', 1, 1);
      assert.strictEqual(readRecords(fs.readFileSync(w.file)).length, 1, 'buffered until flush');
      w.flush();
      assert.strictEqual(readRecords(fs.readFileSync(w.file)).length, 2);
      w.close();
      const again = new EventFileWriter(dir, { hostname: 'h', now: () => 5000 });
      again.addScalar('a', 2, 2);
      again.close();
      const events = readRecords(fs.readFileSync(w.file)).map(decodeEvent);
      assert.deepStrictEqual(
        events.map((e) => e.fileVersion ?? e.values[0].value),
        ['brain.Event:2', 1, 2],
      );
    });

    it('splits tfjs logs into the train and validation streams like tfjs-node', () => {
      const run = tmpDir();
      const tb = new TensorBoardLogger(run, { hostname: 'h' });
      tb.logMetrics('epoch_', { loss: 0.5, acc: 0.75, val_loss: 0.625, val_acc: 0.5, size: 32 }, 1);
      tb.close();
      const read = (stream: string) => {
        const dir = path.join(run, 'tensorboard', stream);
        const files = fs.readdirSync(dir);
        assert.strictEqual(files.length, 1);
        assert.match(files[0], /^events\.out\.tfevents\.\d+\.h$/);
        return readRecords(fs.readFileSync(path.join(dir, files[0])))
          .map(decodeEvent)
          .slice(1)
          .flatMap((e) => e.values.map((v) => `${v.tag}@${e.step}=${v.value}`));
      };
      assert.deepStrictEqual(read('train'), ['epoch_loss@1=0.5', 'epoch_acc@1=0.75']);
      assert.deepStrictEqual(read('validation'), ['epoch_loss@1=0.625', 'epoch_acc@1=0.5']);
    });
  });

  describe('resume', () => {
    /** Every scalar of a run's stream as `tag@step`, over all its files in name order. */
    const scalars = (run: string, stream: string) =>
      eventFiles(run)
        .filter((f) => path.basename(path.dirname(f)) === stream)
        .sort()
        .flatMap((f) => readRecords(fs.readFileSync(f)).map(decodeEvent))
        .flatMap((e) => e.values.map((v) => `${v.tag}@${e.step}`));

    it('drops the events after the checkpoint (batches by step, epochs by epoch), torn tail included', () => {
      const run = tmpDir();
      let clock = 1_700_000_000_000;
      const first = new TensorBoardLogger(run, { hostname: 'h', now: () => clock });
      for (let step = 1; step <= 10; step++) {
        first.addScalar('train', 'batch_loss', 1 / step, step);
        if (step % 4 === 0) {
          first.addScalar('train', 'epoch_loss', 1 / step, step / 4);
          first.addScalar('validation', 'epoch_acc', step / 10, step / 4);
        }
      }
      first.close();
      // A crash in the middle of a write leaves a torn record.
      const trainFile = eventFiles(run).find((f) => f.includes(`${path.sep}train${path.sep}`))!;
      fs.appendFileSync(trainFile, encodeRecord(Buffer.from('torn')).subarray(0, 9));

      // Resume from the checkpoint at step 6 (1 epoch completed).
      assert.strictEqual(trimTensorBoard(run, { globalStep: 6, epoch: 1 }), 6); // batches 7..10, epoch 2 in both streams
      const batchSteps = (stream: string) => scalars(run, stream).filter((s) => s.startsWith('batch_'));
      assert.deepStrictEqual(
        batchSteps('train'),
        [1, 2, 3, 4, 5, 6].map((s) => `batch_loss@${s}`),
      );
      assert.deepStrictEqual(
        scalars(run, 'train').filter((s) => s.startsWith('epoch_')),
        ['epoch_loss@1'],
      );
      assert.deepStrictEqual(scalars(run, 'validation'), ['epoch_acc@1']);
      assert.strictEqual(trimTensorBoard(run, { globalStep: 6, epoch: 1 }), 0, 'nothing more to drop');

      // The resumed training writes a new file; together the files hold each step once.
      clock += 60_000;
      const second = new TensorBoardLogger(run, { hostname: 'h', now: () => clock });
      for (let step = 7; step <= 12; step++) second.addScalar('train', 'batch_loss', 1 / step, step);
      second.addScalar('train', 'epoch_loss', 0.1, 2);
      second.close();
      assert.strictEqual(eventFiles(run).filter((f) => f.includes(`${path.sep}train${path.sep}`)).length, 2);
      assert.deepStrictEqual(
        batchSteps('train'),
        Array.from({ length: 12 }, (_, i) => `batch_loss@${i + 1}`),
      );
      assert.deepStrictEqual(
        scalars(run, 'train').filter((s) => s.startsWith('epoch_')),
        ['epoch_loss@1', 'epoch_loss@2'],
      );
    });

    it('leaves a run without TensorBoard files alone', () => {
      assert.strictEqual(trimTensorBoard(tmpDir(), { globalStep: 0, epoch: 0 }), 0);
    });
  });
});
