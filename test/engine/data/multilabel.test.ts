import * as assert from 'assert';
import { createHash } from 'crypto';
import fc from 'fast-check';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { parseCsv } from '../../../src/core/csv';
import {
  type Dataset,
  Rng,
  batches,
  datasetFingerprint,
  isStratifiable,
  openData,
  openSource,
  splitIndices,
  targetsPerExample,
} from '../../../src/engine/data/open';
import { tempFolders } from '../../support/tempFolders';

// Multi-label data: CSV manifests (a "labels" column of |-separated names, or 0/1 columns) and class folders
// that share images, read into label sets; their batch targets, validation split and fingerprints.

const temp = tempFolders('densenet-multilabel-');
const base = { split: 'train' as const, role: 'train', task: 'multilabel' as const };
const input = { height: 4, width: 4, channels: 1 };

async function png(file: string, value: number): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp(new Uint8Array(48).fill(value), { raw: { width: 4, height: 4, channels: 3 } })
    .png()
    .toFile(file);
}

function writeText(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

const sets = (ds: Dataset) => Array.from({ length: ds.length }, (_, i) => [...ds.labelSet!(i)]);
const names = (ds: Dataset, root: string) =>
  Array.from({ length: ds.length }, (_, i) => path.relative(root, ds.location(i)).split(path.sep).join('/'));

async function collect(it: AsyncIterable<{ y: Int32Array; size: number }>) {
  const out: { y: Int32Array; size: number }[] = [];
  for await (const b of it) out.push(b);
  return out;
}

/** The CSV text of `rows`, quoting every field that needs it (RFC 4180). */
function toCsv(rows: string[][], eol: string): string {
  const quote = (f: string) => (/[",\r\n]/.test(f) || f === '' ? `"${f.replace(/"/g, '""')}"` : f);
  return rows.map((r) => r.map(quote).join(',')).join(eol) + eol;
}

describe('multi-label data', function () {
  this.timeout(20000);
  after(() => temp.removeAll());

  describe('CSV reader', () => {
    it('reads quoted fields with commas, quotes and line breaks, CRLF, a byte-order mark, and skips blank lines', () => {
      const text = '\ufeffimage,labels\r\n"a, b.png","x|""y"""\r\n\r\nc.png,\n"multi\nline.png",z\n';
      assert.deepStrictEqual(parseCsv(text, 'm.csv'), [
        { fields: ['image', 'labels'], line: 1 },
        { fields: ['a, b.png', 'x|"y"'], line: 2 },
        { fields: ['c.png', ''], line: 4 },
        { fields: ['multi\nline.png', 'z'], line: 5 },
      ]);
    });

    it('refuses an unclosed quote and text after a closing quote, naming the line', () => {
      assert.throws(() => parseCsv('a,b\n"x,y\n', 'm.csv'), {
        message:
          'm.csv, line 2: a quoted field is never closed: add the closing " (a " inside a quoted field is written "").',
      });
      assert.throws(() => parseCsv('a,b\n"x"y,1\n', 'm.csv'), /^Error: m\.csv, line 2: text after the closing quote/);
    });

    it('gives back any table written with RFC 4180 quoting (property)', () => {
      const field = fc.string({ unit: fc.constantFrom('a', 'b', ',', '"', '\n', '\r', ' ', '|', 'é') });
      fc.assert(
        fc.property(
          fc
            .integer({ min: 2, max: 4 })
            .chain((w) => fc.array(fc.array(field, { minLength: w, maxLength: w }), { minLength: 1, maxLength: 6 })),
          fc.constantFrom('\n', '\r\n'),
          (rows, eol) => {
            assert.deepStrictEqual(
              parseCsv(toCsv(rows, eol), 't.csv').map((r) => r.fields),
              rows,
            );
          },
        ),
      );
    });
  });

  describe('CSV manifests', () => {
    it('reads a "labels" column: names separated by |, the sorted union as labels, images relative to the CSV', async () => {
      const root = temp.make();
      for (const [f, v] of [
        ['img/1.png', 10],
        ['img/2.png', 20],
        ['img/3.png', 30],
      ] as const)
        await png(path.join(root, 'data', f), v);
      writeText(
        path.join(root, 'data', 'train.csv'),
        'image,labels\nimg/1.png,dog | cat\nimg/2.png,\r\nimg/3.png,bird|dog|dog\n',
      );
      const ds = await openSource('data/train.csv', { ...base, baseDir: root });
      assert.deepStrictEqual(ds.classNames, ['bird', 'cat', 'dog']);
      assert.deepStrictEqual(sets(ds), [[1, 2], [], [0, 2]]);
      assert.deepStrictEqual(names(ds, root), ['data/img/1.png', 'data/img/2.png', 'data/img/3.png']);
      assert.strictEqual(ds.label(0), 0);
      assert.strictEqual((await ds.read(2, input)).data[0], 30);
      assert.strictEqual(ds.description, 'data/train.csv (CSV manifest)');
    });

    it('reads one 0/1 column per label, labels in header order, also as {"format": "csv"}', async () => {
      const root = temp.make();
      await png(path.join(root, 'a.png'), 1);
      await png(path.join(root, 'b.png'), 2);
      writeText(path.join(root, 'labels.txt'), 'path,zebra,apple,mango\na.png,1,0,1\nb.png,0,0,0\n');
      const ds = await openSource({ format: 'csv', path: 'labels.txt' }, { ...base, baseDir: root });
      assert.deepStrictEqual(ds.classNames, ['zebra', 'apple', 'mango']);
      assert.deepStrictEqual(sets(ds), [[0, 2], []]);
      writeText(path.join(root, 'bad.csv'), 'path,zebra,apple\na.png,1,yes\n');
      await assert.rejects(openSource('bad.csv', { ...base, baseDir: root }), {
        message: 'bad.csv, line 2: "yes" in column "apple": write 1 (the image has the label) or 0 (it has not).',
      });
      writeText(path.join(root, 'short.csv'), 'path,zebra,apple\na.png,1\n');
      await assert.rejects(
        openSource('short.csv', { ...base, baseDir: root }),
        /^Error: short\.csv, line 2: 2 field\(s\) where the header has 3/,
      );
    });

    it('maps validation/test manifests to the training labels; an unknown label names the row and the labels', async () => {
      const root = temp.make();
      await png(path.join(root, 'a.png'), 1);
      await png(path.join(root, 'b.png'), 2);
      writeText(path.join(root, 'train.csv'), 'image,labels\na.png,cat|dog\nb.png,cat\n');
      writeText(path.join(root, 'test.csv'), 'image,labels\nb.png,dog\na.png,cat|cow\n');
      await assert.rejects(
        openData(
          { train: 'train.csv', test: 'test.csv', normalize: 'none' },
          { baseDir: root, input, task: 'multilabel' },
        ),
        {
          message:
            'test.csv, line 3: label "cow" is not one of the training labels (cat, dog): fix the row, or add the label to the training data.',
        },
      );
      writeText(path.join(root, 'test.csv'), 'image,labels\nb.png,dog\n');
      const data = await openData(
        { train: 'train.csv', validation: 'test.csv', normalize: 'none' },
        { baseDir: root, input, task: 'multilabel', classes: 2 },
      );
      assert.deepStrictEqual(sets(data.validation!), [[1]]);
      assert.strictEqual(data.task, 'multilabel');
      await data.close();
      writeText(path.join(root, 'cols.csv'), 'image,dog,cow\na.png,1,0\n');
      await assert.rejects(
        openData({ train: 'train.csv', test: 'cols.csv' }, { baseDir: root, input, task: 'multilabel' }),
        {
          message:
            'cols.csv: label column "cow" is not one of the training labels (cat, dog): rename or remove the column.',
        },
      );
    });

    it('refuses rows whose images do not exist at open time, listing the first ones', async () => {
      const root = temp.make();
      await png(path.join(root, 'a.png'), 1);
      const rows = ['image,labels', 'a.png,x', ...Array.from({ length: 7 }, (_, k) => `gone${k}.png,x`)];
      writeText(path.join(root, 'm.csv'), rows.join('\n'));
      await assert.rejects(openSource('m.csv', { ...base, baseDir: root }), {
        message:
          "m.csv: 7 image(s) of the manifest do not exist (line 3: gone0.png; line 4: gone1.png; line 5: gone2.png; line 6: gone3.png; line 7: gone4.png; ...): fix the paths (relative to the CSV file's folder) or remove the rows.",
      });
    });

    it('checks the label count against classes, and the source against the task', async () => {
      const root = temp.make();
      await png(path.join(root, 'a.png'), 1);
      writeText(path.join(root, 'm.csv'), 'image,labels\na.png,x|y|z\n');
      await assert.rejects(openData({ train: 'm.csv' }, { baseDir: root, input, task: 'multilabel', classes: 2 }), {
        message:
          'classes is 2 but the training data m.csv (CSV manifest) has 3 labels (x, y, z): set "classes" to 3, or make the dataset match.',
      });
      await assert.rejects(openData({ train: 'm.csv' }, { baseDir: root, input }), {
        message:
          'data.train is a CSV manifest, which task classification cannot train on: set "task": "multilabel" (a CSV manifest gives each image a set of labels).',
      });
    });

    it('refuses data none of whose images can be read, before training', async () => {
      const root = temp.make();
      writeText(path.join(root, 'a.png'), 'not a png');
      writeText(path.join(root, 'm.csv'), 'image,labels\na.png,x\n');
      await assert.rejects(
        openData({ train: 'm.csv', normalize: 'none' }, { baseDir: root, input, task: 'multilabel' }),
        /^Error: None of the 1 examples of m\.csv \(CSV manifest\) can be read \(.*a\.png: .*\): replace each unreadable image/,
      );
    });
  });

  describe('class folders', () => {
    it('makes an image found in several class folders one example with all their labels', async () => {
      const root = temp.make();
      await png(path.join(root, 'data', 'a', 'x.png'), 1);
      await png(path.join(root, 'data', 'b', 'x.png'), 1);
      await png(path.join(root, 'data', 'b', 'y.png'), 2);
      await png(path.join(root, 'data', 'c', 'sub', 'z.png'), 3);
      await png(path.join(root, 'data', 'c', 'x.png'), 1);
      const ds = await openSource('data', { ...base, baseDir: root });
      assert.deepStrictEqual(ds.classNames, ['a', 'b', 'c']);
      assert.deepStrictEqual(names(ds, root), ['data/c/sub/z.png', 'data/a/x.png', 'data/b/y.png']);
      assert.deepStrictEqual(sets(ds), [[2], [0, 1, 2], [1]]);
      const single = await openSource('data', { ...base, task: 'classification', baseDir: root });
      assert.strictEqual(single.length, 5);
      assert.strictEqual(single.labelSet, undefined);
    });
  });

  describe('batches, split and fingerprint', () => {
    function fakeMultilabel(labelSets: number[][], labels = 3): Dataset {
      return {
        description: 'fake',
        classNames: Array.from({ length: labels }, (_, k) => `l${k}`),
        length: labelSets.length,
        label: () => 0,
        labelSet: (i) => labelSets[i],
        location: (i) => `fake/${i}`,
        read: async (i, size) => ({
          data: new Uint8Array(size.height * size.width).fill(i),
          height: size.height,
          width: size.width,
          channels: 1,
          maxValue: 255,
        }),
        close: async () => undefined,
      };
    }

    it('gives 0/1 per label, example-major, and slices the last partial batch to size·L', async () => {
      const ds = fakeMultilabel([[0, 2], [], [1], [0, 1, 2], [2]]);
      assert.strictEqual(targetsPerExample('multilabel', 3, input), 3);
      assert.strictEqual(targetsPerExample('classification', 3, input), 1);
      const out = await collect(batches(ds, { batchSize: 2, input, task: 'multilabel' }));
      assert.deepStrictEqual(
        out.map((b) => [b.size, [...b.y]]),
        [
          [2, [1, 0, 1, 0, 0, 0]],
          [2, [0, 1, 0, 1, 1, 1]],
          [1, [0, 0, 1]],
        ],
      );
      assert.throws(() => batches({ ...ds, labelSet: undefined }, { batchSize: 2, input, task: 'multilabel' }), {
        message: 'Task multilabel needs label sets, and fake has none: give a CSV manifest or class folders as data.',
      });
    });

    it('keeps every example with its labels through a shuffled epoch', async () => {
      const labelSets = Array.from({ length: 9 }, (_, i) => [0, 1, 2].filter((k) => (i >> k) & 1));
      const out = await collect(
        batches(fakeMultilabel(labelSets), { batchSize: 4, input, task: 'multilabel', rng: new Rng(5) }),
      );
      const seen = out.flatMap((b) =>
        Array.from({ length: b.size }, (_, e) => [...b.y.slice(3 * e, 3 * e + 3)].join('')),
      );
      assert.deepStrictEqual(
        seen.sort(),
        labelSets.map((s) => [0, 1, 2].map((k) => (s.includes(k) ? 1 : 0)).join('')).sort(),
      );
    });

    it('splits multi-label data at random, seeded: round(fraction·n) examples, at least 1, at most n - 1 (property)', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 2, max: 300 }),
          fc.double({ min: 0.01, max: 0.99, noNaN: true }),
          fc.nat(),
          (n, fraction, seed) => {
            const ds = fakeMultilabel(Array.from({ length: n }, () => []));
            assert.strictEqual(isStratifiable(ds), false);
            const held = splitIndices(ds, fraction, seed);
            assert.strictEqual(held.length, Math.min(n - 1, Math.max(1, Math.round(fraction * n))));
            for (let k = 1; k < held.length; k++) assert.ok(held[k - 1] < held[k]);
            assert.ok(held[held.length - 1] < n);
            assert.deepStrictEqual(splitIndices(ds, fraction, seed), held);
          },
        ),
      );
      const ds = fakeMultilabel(Array.from({ length: 100 }, () => [0]));
      assert.notDeepStrictEqual([...splitIndices(ds, 0.2, 1)], [...splitIndices(ds, 0.2, 2)]);
      assert.throws(() => splitIndices(fakeMultilabel([[0]]), 0.5, 1), /has 1 example\(s\), too few to hold out 0\.5/);
    });

    it('fingerprints label sets: a changed manifest is noticed; single-label data hashes as before', async () => {
      const a = datasetFingerprint(fakeMultilabel([[0], [1, 2]]));
      assert.strictEqual(datasetFingerprint(fakeMultilabel([[0], [1, 2]])), a);
      assert.notStrictEqual(datasetFingerprint(fakeMultilabel([[0], [1]])), a);
      const single: Dataset = { ...fakeMultilabel([[0], [1]]), labelSet: undefined, label: (i) => i };
      const old = createHash('sha256').update('fake/0\t0\nfake/1\t1\n').digest('hex');
      assert.strictEqual(datasetFingerprint(single), old);

      const root = temp.make();
      await png(path.join(root, 'a.png'), 1);
      await png(path.join(root, 'b.png'), 2);
      writeText(path.join(root, 'm.csv'), 'image,labels\na.png,x\nb.png,y\n');
      const spec = { train: 'm.csv', validation: { split: 0.5 }, normalize: 'none' as const };
      const first = await openData(spec, { baseDir: root, input, task: 'multilabel' });
      writeText(path.join(root, 'm.csv'), 'image,labels\na.png,x|y\nb.png,y\n');
      await assert.rejects(
        openData(spec, { baseDir: root, input, task: 'multilabel', heldOut: first.heldOut }),
        /is not the one this run's validation split was drawn from/,
      );
    });
  });
});
