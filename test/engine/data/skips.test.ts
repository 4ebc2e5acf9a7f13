import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { type Dataset, Rng, openData } from '../../../src/engine/data/open';
import { SkipLedger, checkClassesReadable } from '../../../src/engine/data/skips';
import { tempFolders } from '../../support/tempFolders';

// Unreadable images: each counted and named once however often it is met; a class with none readable refused.

const temp = tempFolders('densenet-skips-');
const input = { height: 4, width: 4, channels: 3 };

async function png(file: string, value: number): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp(new Uint8Array(48).fill(value), { raw: { width: 4, height: 4, channels: 3 } })
    .png()
    .toFile(file);
}

function corrupt(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, Buffer.from('\x89PNG\r\n\x1a\n not really a png'));
}

async function drain(it: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of it) void _;
}

describe('data accounting: unreadable images', function () {
  this.timeout(20000);
  after(() => temp.removeAll());

  it('counts and names 3 corrupt files once each over the normalisation sample, 2 epochs and validations', async () => {
    const root = temp.make();
    for (let i = 0; i < 6; i++) {
      await png(path.join(root, 'train', 'a', `${i}.png`), 10 + i);
      await png(path.join(root, 'train', 'b', `${i}.png`), 200 - i);
    }
    const bad = [path.join(root, 'train', 'a', 'bad1.png'), path.join(root, 'train', 'b', 'bad2.png')];
    bad.push(path.join(root, 'train', 'b', 'deep', 'bad3.png'));
    bad.forEach(corrupt);
    const reported: string[] = [];
    const data = await openData(
      { train: 'train', validation: { split: 0.4 }, normalize: 'auto' },
      { baseDir: root, input, seed: 5, onSkip: (file) => reported.push(file) },
    );
    const rng = new Rng(5);
    for (let epoch = 0; epoch < 2; epoch++) {
      const it = data.trainBatches(4, rng);
      await drain(it);
      await drain(data.evalBatches(data.validation!, 4));
    }
    await data.close();
    assert.deepStrictEqual([...reported].sort(), [...bad].sort());
  });

  it('refuses a class whose every image is corrupt before training, naming the class and its folder', async () => {
    const root = temp.make();
    for (let i = 0; i < 3; i++) await png(path.join(root, 'train', 'cat', `${i}.png`), 9);
    for (let i = 0; i < 3; i++) corrupt(path.join(root, 'train', 'dog', `${i}.png`));
    const reported: string[] = [];
    await assert.rejects(
      openData(
        { train: 'train', validation: { split: 0.3 } },
        { baseDir: root, input, onSkip: (f) => reported.push(f) },
      ),
      (e: Error) => {
        assert.match(
          e.message,
          /^Class "dog" has no readable image: none of its 3 image\(s\) in "train\/dog" can be read \(.*train\/dog\/0\.png: .*\)\. Before training, replace them with readable images, or remove the class folder \(and lower "classes"\)\.$/,
        );
        return true;
      },
    );
    assert.deepStrictEqual(
      reported.map((f) => path.relative(root, f)),
      ['0.png', '1.png', '2.png'].map((f) => path.join('train', 'dog', f)),
    );
  });

  it('checks validation and test folders too, and passes a class with one readable image among corrupt ones', async () => {
    const root = temp.make();
    for (const c of ['cat', 'dog']) await png(path.join(root, 'train', c, '1.png'), 9);
    corrupt(path.join(root, 'val', 'dog', '0.png'));
    await png(path.join(root, 'val', 'dog', '1.png'), 9);
    corrupt(path.join(root, 'test', 'cat', 'only.png'));
    const reported: string[] = [];
    await assert.rejects(
      openData(
        { train: 'train', validation: 'val', test: 'test' },
        { baseDir: root, input, onSkip: (f) => reported.push(f) },
      ),
      /^Error: Class "cat" has no readable image: none of its 1 image\(s\) in "test\/cat" can be read/,
    );
    assert.deepStrictEqual(
      reported.map((f) => path.relative(root, f)),
      [path.join('val', 'dog', '0.png'), path.join('test', 'cat', 'only.png')],
    );
  });

  it('names every unreadable class of a dataset without folders, and reads one image a class when all are good', async () => {
    const labels = [0, 1, 2, 0, 1, 2];
    const reads: number[] = [];
    const ds: Dataset = {
      description: 'records.bin (test)',
      classNames: ['x', 'y', 'z'],
      length: labels.length,
      label: (i) => labels[i],
      location: (i) => `records.bin [record ${i}]`,
      read: async (i, size) => {
        reads.push(i);
        if (labels[i] !== 0 && bad) throw new Error('short read');
        return { data: new Uint8Array(size.height * size.width), ...size, channels: 1, maxValue: 255 };
      },
      close: async () => undefined,
    };
    let bad = false;
    await checkClassesReadable(ds, input, new SkipLedger());
    assert.deepStrictEqual([...reads].sort(), [0, 1, 2]);
    bad = true;
    const ledger = new SkipLedger();
    await assert.rejects(checkClassesReadable(ds, input, ledger), {
      message:
        'Class "y" has no readable image: none of its 2 image(s) in records.bin (test) can be read (records.bin [record 1]: short read). Before training, fix the data. (1 more class(es) have no readable image: z.)',
    });
    assert.strictEqual(ledger.count, 4);
  });

  it('reports a file once, with its first reason', () => {
    const seen: string[] = [];
    const ledger = new SkipLedger((f, r) => seen.push(`${f}: ${r}`));
    ledger.add('a.png', 'truncated');
    ledger.add('b.png', 'garbage');
    ledger.add('a.png', 'truncated again');
    assert.deepStrictEqual(seen, ['a.png: truncated', 'b.png: garbage']);
    assert.strictEqual(ledger.count, 2);
  });
});
