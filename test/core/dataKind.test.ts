import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { nodeFileProbe } from '../../src/core/nodeFs';
import {
  type DataProbe,
  type FolderListing,
  detectDataset,
  idxDims,
  imageShape,
  noDataHowTo,
  suggestedInput,
} from '../../src/core/dataKind';
import { validateSpec } from '../../src/core/validate';

/** A fake folder tree: "a/b/c.png" paths with their bytes. */
function probe(files: Record<string, Uint8Array | string>): DataProbe {
  const list = (rel: string): FolderListing | undefined => {
    const prefix = rel === '' ? '' : `${rel}/`;
    const below = Object.keys(files).filter((f) => f.startsWith(prefix));
    if (rel !== '' && below.length === 0) return undefined;
    const parts = below.map((f) => f.slice(prefix.length).split('/'));
    return {
      files: [...new Set(parts.filter((p) => p.length === 1 && p[0] !== '').map((p) => p[0]))],
      dirs: [...new Set(parts.filter((p) => p.length > 1).map((p) => p[0]))],
    };
  };
  return {
    list,
    read: (rel, max) => {
      const v = files[rel];
      return v === undefined ? undefined : (typeof v === 'string' ? Buffer.from(v) : v).subarray(0, max);
    },
  };
}

/** The first bytes of a PNG of `w`x`h` with a colour type (0 gray, 2 RGB, 6 RGBA). */
function pngHead(w: number, h: number, colorType: number): Uint8Array {
  const b = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b);
  b.writeUInt32BE(13, 8);
  b.write('IHDR', 12);
  b.writeUInt32BE(w, 16);
  b.writeUInt32BE(h, 20);
  b[24] = 8;
  b[25] = colorType;
  return b;
}

function idx(dims: number[], data: number[] = []): Uint8Array {
  const b = Buffer.alloc(4 + 4 * dims.length + data.length);
  b[2] = 0x08;
  b[3] = dims.length;
  dims.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
  Buffer.from(data).copy(b, 4 + 4 * dims.length);
  return b;
}

describe('dataKind: what a data folder holds', () => {
  it('class folders: the class count and the size of their images', () => {
    const d = detectDataset(
      probe({ 'cat/1.png': pngHead(64, 48, 2), 'dog/a.jpg': 'x', 'bird/deep/b.png': pngHead(64, 48, 2) }),
    );
    assert.ok(d.ok, JSON.stringify(d));
    assert.strictEqual(d.format, 'folder');
    assert.strictEqual(d.classes, 3);
    assert.strictEqual(d.train, '.');
    assert.deepStrictEqual(d.input, { height: 48, width: 64, channels: 3 });
  });

  it('train/ and test/ folders of class folders, grayscale images as in MNIST', () => {
    const files: Record<string, Uint8Array> = {};
    for (const split of ['train', 'test']) for (const c of '0123') files[`${split}/${c}/x.png`] = pngHead(28, 28, 0);
    const d = detectDataset(probe(files));
    assert.ok(d.ok);
    assert.deepStrictEqual([d.train, d.validation, d.test, d.classes], ['train', undefined, 'test', 4]);
    assert.deepStrictEqual(d.input, { height: 28, width: 28, channels: 1 });
  });

  it('IDX files (MNIST names, .gz too): size from the header, classes from the labels', () => {
    const d = detectDataset(
      probe({
        'train-images-idx3-ubyte.gz': idx([5, 28, 28]),
        'train-labels-idx1-ubyte.gz': idx([5], [0, 3, 9, 1, 2]),
        't10k-images-idx3-ubyte.gz': idx([2, 28, 28]),
        't10k-labels-idx1-ubyte.gz': idx([2], [1, 2]),
      }),
    );
    assert.ok(d.ok, JSON.stringify(d));
    assert.deepStrictEqual([d.format, d.train, d.test, d.classes], ['idx', '.', '.', 10]);
    assert.deepStrictEqual(d.input, { height: 28, width: 28, channels: 1 });
  });

  it('IDX images without labels, or only test files, say what is missing', () => {
    const noLabels = detectDataset(probe({ 'train-images-idx3-ubyte': idx([1, 28, 28]) }));
    assert.ok(!noLabels.ok && /labels/.test(noLabels.reason));
    const testOnly = detectDataset(probe({ 't10k-images-idx3-ubyte': idx([1, 28, 28]) }));
    assert.ok(!testOnly.ok && /training images/.test(testOnly.reason));
  });

  it('CIFAR-10 and CIFAR-100 binary batches, also one folder down (the extracted archive)', () => {
    const c10 = detectDataset(
      probe({ 'cifar-10-batches-bin/data_batch_1.bin': '', 'cifar-10-batches-bin/test_batch.bin': '' }),
    );
    assert.ok(c10.ok);
    assert.deepStrictEqual(
      [c10.format, c10.train, c10.test, c10.classes],
      ['cifar10', 'cifar-10-batches-bin', 'cifar-10-batches-bin', 10],
    );
    assert.deepStrictEqual(c10.input, { height: 32, width: 32, channels: 3 });
    const c100 = detectDataset(probe({ 'train.bin': '', 'test.bin': '' }));
    assert.ok(c100.ok);
    assert.deepStrictEqual([c100.format, c100.classes], ['cifar100', 100]);
  });

  it('an empty folder, a folder without images, and one class are refused with the reason', () => {
    const empty = detectDataset(probe({}));
    assert.ok(!empty.ok && /empty/.test(empty.reason));
    const noImages = detectDataset(probe({ 'a/readme.txt': '', 'b/notes.md': '' }));
    assert.ok(!noImages.ok && /No images/.test(noImages.reason));
    const one = detectDataset(probe({ 'a/1.png': pngHead(8, 8, 0) }));
    assert.ok(!one.ok && /at least 2/.test(one.reason));
  });

  it('mixed: class folders with one empty folder name it; batches beside folders read as the engine does', () => {
    const oneEmpty = detectDataset(probe({ 'a/1.png': pngHead(8, 8, 0), 'b/2.png': pngHead(8, 8, 0), 'c/x.txt': '' }));
    assert.ok(!oneEmpty.ok);
    assert.match(oneEmpty.reason, /Class folder c .*no images/);
    const both = detectDataset(
      probe({ 'data_batch_1.bin': '', 'a/1.png': pngHead(8, 8, 0), 'b/1.png': pngHead(8, 8, 0) }),
    );
    assert.ok(both.ok);
    assert.strictEqual(both.format, 'cifar10', 'the engine reads the batches of such a folder');
  });

  it('image headers and input suggestions', () => {
    assert.deepStrictEqual(imageShape(pngHead(10, 20, 6)), { width: 10, height: 20, channels: 3 });
    assert.deepStrictEqual(imageShape(pngHead(10, 20, 4)), { width: 10, height: 20, channels: 1 });
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0, 0xff, 0xc0, 0, 11, 8, 0, 30, 0, 40, 1, 0, 0, 0]);
    assert.deepStrictEqual(imageShape(jpeg), { height: 30, width: 40, channels: 1 });
    assert.strictEqual(imageShape(Buffer.from('GIF89a')), undefined);
    assert.deepStrictEqual(idxDims(idx([3, 4, 5])), [3, 4, 5]);
    assert.strictEqual(idxDims(Buffer.from('nope')), undefined);
    assert.deepStrictEqual(suggestedInput({ height: 500, width: 375, channels: 3 }), {
      height: 224,
      width: 224,
      channels: 3,
    });
  });
});

describe('dataKind: specs without data', () => {
  const examples = path.resolve(__dirname, '../../../examples');
  for (const [file, words] of [
    ['cifar/densenet-bc-100.densenet.json', /cifar-10-binary\.tar\.gz.*"train": "cifar-10-batches-bin"/],
    ['imagenet/densenet121.densenet.json', /ImageNet.*image-net\.org/],
  ] as const) {
    it(`${file}: an information diagnostic with a one-line how-to, no error`, () => {
      const specPath = path.join(examples, file);
      const r = validateSpec(fs.readFileSync(specPath, 'utf8'), { specPath, fs: nodeFileProbe });
      assert.deepStrictEqual(
        r.diagnostics.filter((d) => d.severity !== 'information').map((d) => d.message),
        [],
      );
      const info = r.diagnostics.filter((d) => d.code === 'data-none');
      assert.strictEqual(info.length, 1);
      assert.strictEqual(info[0].severity, 'information');
      assert.match(info[0].message, words);
      assert.ok(!info[0].message.includes('\n'), 'one line');
      assert.strictEqual(info[0].message, noDataHowTo(r.resolved!.input, r.resolved!.classes));
    });
  }

  it('a spec with data has no such diagnostic; a data section without train has it on "data"', () => {
    const specPath = path.join(examples, 'mnist/mnist.densenet.json');
    const text = fs.readFileSync(specPath, 'utf8');
    const r = validateSpec(text, { specPath, fs: nodeFileProbe });
    assert.ok(!r.diagnostics.some((d) => d.code === 'data-none'));
    const noTrain = text.replace('"train": "data/train",', '');
    const d = validateSpec(noTrain, { specPath, fs: nodeFileProbe }).diagnostics.find((x) => x.code === 'data-none')!;
    assert.strictEqual(noTrain.slice(d.offset, d.offset + d.length), '"data"');
    assert.match(d.message, /MNIST/);
  });
});
