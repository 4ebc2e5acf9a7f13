import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fc from 'fast-check';
import * as fs from 'fs';
import * as path from 'path';
import { readPytorchFile } from '../../src/interchange/pytorch';
import { readSafetensors, type TensorToWrite, writeSafetensors } from '../../src/interchange/safetensors';
import { tempFolders } from '../support/tempFolders';
import { assertMatchesPython, readExpected, torchFixtures, torchPython } from '../support/torchFixtures';

/** A file made of `header` (JSON text or an object) and `data` bytes. */
function file(header: unknown, data: number[] = []): Uint8Array {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const f32 = (shape: number[], begin: number) => ({
  dtype: 'F32',
  shape,
  data_offsets: [begin, begin + 4 * shape.reduce((a, b) => a * b, 1)],
});

describe('safetensors', function () {
  this.timeout(600_000);
  const temp = tempFolders('safetensors-');
  after(() => temp.removeAll());

  it('reads every tensor of torchvision DenseNet-121 as python wrote it (F32, I64), with its metadata', async () => {
    const dir = await torchFixtures('densenet121');
    const expected = readExpected(dir);
    const { tensors, metadata } = readSafetensors(new Uint8Array(fs.readFileSync(path.join(dir, 'model.safetensors'))));
    assertMatchesPython(tensors, expected, (d) => ({ float32: 'F32', int64: 'I64' })[d] ?? d);
    assert.deepStrictEqual(metadata, { format: 'pt', arch: 'densenet121', seed: '0' });
    const pth = readPytorchFile(new Uint8Array(fs.readFileSync(path.join(dir, 'model.pth'))));
    for (const [name, t] of pth) assert.deepStrictEqual(tensors.get(name)!.values, t.values, name);
  });

  it('reads F16, BF16, F64, integer and boolean tensors', () => {
    const data = [
      ...[0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0x00, 0x7c], // F16: 1, -2, smallest subnormal, +inf
      ...[0x80, 0x3f, 0x40, 0xc0], // BF16: 1, -3
      ...new Uint8Array(new Float64Array([0.1]).buffer),
      ...new Uint8Array(new BigInt64Array([-5n]).buffer),
      ...[0xff, 0x01, 0x00], // I8 -1, U8 1, BOOL false
    ];
    const header = {
      __metadata__: { note: 'x' },
      half: { dtype: 'F16', shape: [4], data_offsets: [0, 8] },
      bf: { dtype: 'BF16', shape: [2], data_offsets: [8, 12] },
      dbl: { dtype: 'F64', shape: [], data_offsets: [12, 20] },
      long: { dtype: 'I64', shape: [1], data_offsets: [20, 28] },
      i8: { dtype: 'I8', shape: [1], data_offsets: [28, 29] },
      u8: { dtype: 'U8', shape: [1], data_offsets: [29, 30] },
      flag: { dtype: 'BOOL', shape: [1, 1], data_offsets: [30, 31] },
    };
    const { tensors, metadata } = readSafetensors(file(header, data));
    assert.deepStrictEqual(metadata, { note: 'x' });
    assert.deepStrictEqual([...tensors.get('half')!.values], [1, -2, Math.fround(2 ** -24), Infinity]);
    assert.deepStrictEqual([...tensors.get('bf')!.values], [1, -3]);
    assert.deepStrictEqual([...tensors.get('dbl')!.values], [Math.fround(0.1)]);
    assert.deepStrictEqual(tensors.get('dbl')!.shape, []);
    assert.deepStrictEqual([...tensors.get('long')!.values], [-5]);
    assert.deepStrictEqual(
      ['i8', 'u8', 'flag'].map((n) => tensors.get(n)!.values[0]),
      [-1, 1, 0],
    );
  });

  it('round-trips what it writes, 8-byte aligned, for any names, shapes, values and metadata', () => {
    const tensor = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }).chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        values: fc.float32Array({
          noNaN: true,
          minLength: shape.reduce((a, b) => a * b, 1),
          maxLength: shape.reduce((a, b) => a * b, 1),
        }),
      }),
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.string({ minLength: 1 }), tensor), {
          selector: ([name]) => name,
          maxLength: 6,
        }),
        fc.dictionary(fc.string(), fc.string()),
        (entries, metadata) => {
          const tensors: TensorToWrite[] = entries
            .filter(([name]) => name !== '__metadata__')
            .map(([name, t]) => ({ name, shape: t.shape, values: t.values }));
          const bytes = writeSafetensors(tensors, metadata);
          assert.strictEqual(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8, 0);
          const back = readSafetensors(bytes);
          assert.deepStrictEqual(back.metadata, Object.keys(metadata).length ? { ...metadata } : {});
          assert.deepStrictEqual(
            new Map([...back.tensors].map(([name, t]) => [name, [t.dtype, t.shape, [...t.values]]])),
            new Map(tensors.map((t) => [t.name, ['F32', t.shape, [...t.values]]])),
          );
          // In the order written (empty tensors share an offset, so their order is the header's).
          const nonEmpty = (names: string[]) => names.filter((n) => tensors.find((t) => t.name === n)!.values.length);
          assert.deepStrictEqual(nonEmpty([...back.tensors.keys()]), nonEmpty(tensors.map((t) => t.name)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('writes files python reads back to the same values', () => {
    const dir = temp.make();
    const tensors = [
      { name: 'features.conv0.weight', shape: [2, 3, 1, 1], values: Float32Array.from([1, -2, 3.5, 0, 1e-30, -7]) },
      { name: 'classifier.bias', shape: [3], values: Float32Array.from([0.25, 0.5, -1]) },
    ];
    fs.writeFileSync(path.join(dir, 'out.safetensors'), writeSafetensors(tensors, { source: 'test' }));
    const code = `
import json, struct, sys, numpy as np
data = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
out = {"metadata": header.pop("__metadata__")}
for name, h in header.items():
    b, e = h["data_offsets"]
    out[name] = [h["dtype"], h["shape"], np.frombuffer(data[8 + n + b:8 + n + e], dtype="<f4").tolist()]
print(json.dumps(out))`;
    const read = JSON.parse(
      execFileSync(torchPython(), ['-c', code, path.join(dir, 'out.safetensors')], { encoding: 'utf8' }),
    ) as Record<string, unknown>;
    assert.deepStrictEqual(read, {
      metadata: { source: 'test' },
      'features.conv0.weight': ['F32', [2, 3, 1, 1], [...tensors[0].values]],
      'classifier.bias': ['F32', [3], [...tensors[1].values]],
    });
  });

  it('refuses inconsistent headers, saying what is wrong', () => {
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array(5), /5 bytes; the file starts with an 8-byte header length/],
      [Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 1]), /more than the 100000000 allowed/],
      [Uint8Array.from([100, 0, 0, 0, 0, 0, 0, 0, 0x7b]), /a header of 100 bytes in a file of 9/],
      [file('{"a": '), /the header is not JSON/],
      [file('[1, 2]'), /not a JSON object/],
      [file({ __metadata__: { a: 1 } }), /__metadata__\.a is not a string/],
      [file({ t: { dtype: 'F8', shape: [1], data_offsets: [0, 1] } }, [0]), /tensor t has dtype "F8"/],
      [file({ t: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, [0, 0, 0, 0]), /no valid shape/],
      [file({ t: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }), /no valid data_offsets/],
      [file({ t: f32([2], 0) }, [0, 0, 0, 0]), /cover 8 bytes of data but the file has 4/],
      [file({ t: { ...f32([1], 0), shape: [2] } }, [0, 0, 0, 0]), /needs 8 bytes; its data_offsets span 4/],
      [file({ t: f32([1], 4) }, Array(8).fill(0)), /starts at data byte 4, not 0/],
      [file({ t: f32([1], 0), u: f32([1], 0) }, Array(8).fill(0)), /starts at data byte 0, not 4/],
      [file({ t: f32([1], 0) }, Array(12).fill(0)), /cover 4 bytes of data but the file has 12/],
    ];
    for (const [bytes, message] of cases) assert.throws(() => readSafetensors(bytes), message);
    assert.throws(() => writeSafetensors([{ name: 'x', shape: [2], values: new Float32Array(3) }]), /3 values for/);
    assert.throws(() => writeSafetensors([{ name: '__metadata__', shape: [], values: new Float32Array(1) }]), /taken/);
  });

  it('gives a clean Error, never a hang or a crash, for truncated or bit-flipped files', () => {
    const good = writeSafetensors(
      [
        { name: 'a', shape: [3, 2], values: Float32Array.from([1, 2, 3, 4, 5, 6]) },
        { name: 'b', shape: [2], values: Float32Array.from([7, 8]) },
      ],
      { k: 'v' },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: good.length - 1 }), (n) => {
        assert.throws(() => readSafetensors(good.subarray(0, n)), /^Error: safetensors file: /);
      }),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 7 })), { minLength: 1 }),
        (flips) => {
          const bad = good.slice();
          for (const [at, bit] of flips) bad[at] ^= 1 << bit;
          try {
            readSafetensors(bad);
          } catch (e) {
            assert.ok(e instanceof Error && e.message.startsWith('safetensors file: '), String(e));
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
