import * as assert from 'assert';
import * as fc from 'fast-check';
import { zipSync } from 'fflate';
import * as fs from 'fs';
import * as path from 'path';
import { readPytorchFile } from '../../src/interchange/pytorch';
import {
  assertMatchesPython,
  maliciousTorchFixtures,
  readExpected,
  type TorchExpected,
  torchFixtures,
  variantTorchFixtures,
} from '../support/torchFixtures';

const read = (dir: string, file: string) => readPytorchFile(new Uint8Array(fs.readFileSync(path.join(dir, file))));

/** A zip like torch.save's holding {name: tensor(size, stride, offset)} over a 1-element float32 storage "0". */
function oneTensorZip(size: number[], stride: number[], offset = 0): Uint8Array {
  const int = (n: number) => [0x4a, ...new Uint8Array(new Int32Array([n]).buffer)]; // BININT
  const text = (t: string) => [0x58, ...new Uint8Array(new Uint32Array([t.length]).buffer), ...Buffer.from(t)];
  const tuple = (ns: number[]) => [0x28, ...ns.flatMap(int), 0x74];
  const pickle = [
    ...[0x80, 2, 0x7d], // PROTO 2, EMPTY_DICT
    ...text('w'),
    ...Buffer.from('ctorch._utils\n_rebuild_tensor_v2\n('),
    ...[0x28, ...text('storage'), ...Buffer.from('ctorch\nFloatStorage\n'), ...text('0'), ...text('cpu'), ...int(1)],
    ...[0x74, 0x51], // TUPLE, BINPERSID
    ...int(offset),
    ...tuple(size),
    ...tuple(stride),
    ...[0x89, 0x4e, 0x74, 0x52, 0x73, 0x2e], // False, None, TUPLE, REDUCE, SETITEM, STOP
  ];
  return zipSync({ 'archive/data.pkl': Uint8Array.from(pickle), 'archive/data/0': new Uint8Array(4) });
}

/** A clean refusal: an Error whose message says it is about a PyTorch file. */
function tryRead(bytes: Uint8Array): void {
  try {
    readPytorchFile(bytes);
  } catch (e) {
    assert.ok(e instanceof Error, `threw ${String(e)}`);
    assert.match(e.message, /^PyTorch file: /);
  }
}

describe('PyTorch files (torch.save, zip and legacy)', function () {
  this.timeout(600_000);
  let dir: string;
  let expected: TorchExpected;
  before(async () => {
    dir = await torchFixtures('densenet121');
    expected = readExpected(dir);
  });

  it('reads every tensor of torchvision DenseNet-121 from the zip format as python saved it', () => {
    const t0 = Date.now();
    const tensors = read(dir, 'model.pth');
    const ms = Date.now() - t0;
    assert.strictEqual(tensors.size, 727);
    assertMatchesPython(tensors, expected);
    assert.ok(ms < 20_000, `read in ${ms} ms`);
    assert.strictEqual(tensors.get('features.norm0.num_batches_tracked')?.dtype, 'int64');
  });

  it('reads the legacy format (_use_new_zipfile_serialization=False) to the same values', () => {
    const legacy = read(dir, 'model-legacy.pth');
    assertMatchesPython(legacy, expected);
    const zip = read(dir, 'model.pth');
    for (const [name, t] of zip) assert.deepStrictEqual(legacy.get(name)!.values, t.values, name);
  });

  it('reads DenseNet-169 (zip format)', async () => {
    const d169 = await torchFixtures('densenet169', { classes: 10, size: 64, formats: ['pth'] });
    const tensors = read(d169, 'model.pth');
    assert.ok(tensors.has('features.denseblock4.denselayer32.conv2.weight'));
    assertMatchesPython(tensors, readExpected(d169));
    assert.deepStrictEqual(tensors.get('classifier.weight')!.shape, [10, 1664]);
  });

  it('reads every dtype and layout: strides, storage offsets, shared storages, 0-d, empty, nn.Parameter', async () => {
    const vdir = await variantTorchFixtures();
    const want = JSON.parse(fs.readFileSync(path.join(vdir, 'expected.json'), 'utf8')) as {
      tensors: Record<string, { shape: number[]; dtype: string; values: (number | string)[] }>;
    };
    const number = (v: number | string) => (typeof v === 'number' ? v : Number(v.replace('inf', 'Infinity')));
    // A checkpoint dict under "state_dict" (zip and legacy) and one under "model" (protocol 4); `module.` stripped.
    for (const file of ['variants.pth', 'variants-legacy.pth', 'variants-model.pth']) {
      const tensors = read(vdir, file);
      assert.deepStrictEqual(
        [...tensors.keys()],
        Object.keys(want.tensors).map((k) => k.replace(/^module\./, '')),
      );
      for (const [key, w] of Object.entries(want.tensors)) {
        const t = tensors.get(key.replace(/^module\./, ''))!;
        assert.deepStrictEqual(t.shape, w.shape, `${file} ${key}`);
        assert.strictEqual(t.dtype, w.dtype, `${file} ${key}`);
        assert.deepStrictEqual(
          [...t.values],
          w.values.map((v) => Math.fround(number(v))),
          `${file} ${key}`,
        );
      }
    }
  });

  it('refuses pickles that would run code or use opcodes a state dict does not need, naming what', async () => {
    const mdir = await maliciousTorchFixtures();
    const manifest = JSON.parse(fs.readFileSync(path.join(mdir, 'manifest.json'), 'utf8')) as {
      cases: { file: string; refuses: string }[];
    };
    assert.ok(manifest.cases.length >= 8);
    for (const { file, refuses } of manifest.cases) {
      const what = /^[A-Z0-9_]+$/.test(refuses) ? `uses opcode ${refuses} ` : `calls ${refuses}: `;
      assert.throws(
        () => read(mdir, file),
        (e: Error) =>
          e.message.includes(what) &&
          e.message.includes('refused; only tensors and state dicts are read (what torch.load(weights_only=True)'),
        file,
      );
    }
  });

  it('says what is wrong with files that are not state dicts', () => {
    assert.throws(() => readPytorchFile(new Uint8Array(0)), /neither a zip archive nor a pickle/);
    assert.throws(() => readPytorchFile(Uint8Array.from(Buffer.from('{"a": 1}'))), /neither a zip archive/);
    const tar = new Uint8Array(600);
    tar.set(Buffer.from('ustar'), 257);
    assert.throws(() => readPytorchFile(tar), /tar format of torch before 0\.4/);
    const noPickle = zipSync({ 'archive/version': Buffer.from('3\n') });
    assert.throws(() => readPytorchFile(noPickle), /0 data\.pkl entries/);
    // A pickle of a plain number, and a dict without tensors.
    const numberZip = zipSync({ 'archive/data.pkl': Uint8Array.from([0x80, 2, 0x4b, 7, 0x2e]) });
    assert.throws(() => readPytorchFile(numberZip), /holds number, not a state dict; save it again/);
    const emptyDict = zipSync({ 'archive/data.pkl': Uint8Array.from([0x80, 2, 0x7d, 0x2e]) });
    assert.throws(() => readPytorchFile(emptyDict), /holds no tensors/);
  });

  it('refuses a storage that is missing or shorter than its tensor', async () => {
    const vdir = await variantTorchFixtures();
    const { unzipSync } = await import('fflate');
    const files = unzipSync(new Uint8Array(fs.readFileSync(path.join(vdir, 'variants.pth'))));
    const storage = Object.keys(files).find((n) => n.endsWith('/data/0'))!;
    const { [storage]: _dropped, ...rest } = files;
    assert.throws(() => readPytorchFile(zipSync(rest)), /storage 0 is missing from the archive/);
    const short = zipSync({ ...files, [storage]: files[storage].subarray(0, 4) });
    assert.throws(() => readPytorchFile(short), /storage 0 has 4 bytes; the pickle says 6 elements of float32/);
  });

  it('checks every tensor against its storage and the file: offsets, strides, sizes', () => {
    assert.deepStrictEqual(readPytorchFile(oneTensorZip([3], [0])).get('w')!.values, new Float32Array(3));
    assert.throws(
      () => readPytorchFile(oneTensorZip([10], [1])),
      /tensor w \(shape \[10\], offset 0, strides \[1\]\) reaches element 9 of storage 0, which has 1 elements/,
    );
    assert.throws(() => readPytorchFile(oneTensorZip([1], [1], 1)), /reaches element 1 of storage 0/);
    assert.throws(() => readPytorchFile(oneTensorZip([2], [1, 1])), /shape \[2\] but 2 strides/);
    // Stride 0 repeats one stored float 2^27 times: refused before anything that large is allocated.
    assert.throws(() => readPytorchFile(oneTensorZip([2 ** 27], [0])), /past the elements the file can hold/);
    assert.throws(() => readPytorchFile(oneTensorZip([2 ** 15, 2 ** 15], [0, 0])), /is too large to read/);
  });

  it('gives a clean Error, never a hang or a crash, for truncated or bit-flipped files', async () => {
    const vdir = await variantTorchFixtures();
    for (const file of ['variants.pth', 'variants-legacy.pth']) {
      const good = new Uint8Array(fs.readFileSync(path.join(vdir, file)));
      fc.assert(
        fc.property(fc.integer({ min: 0, max: good.length - 1 }), (n) => {
          assert.throws(() => readPytorchFile(good.subarray(0, n)), /^Error: PyTorch file: /);
        }),
        { numRuns: 300 },
      );
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 8 }),
          (flips) => {
            const bad = good.slice();
            for (const [at, bit] of flips) bad[at] ^= 1 << bit;
            tryRead(bad);
          },
        ),
        { numRuns: 500 },
      );
    }
  });
});
