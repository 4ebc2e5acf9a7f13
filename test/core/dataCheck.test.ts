import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { type SpecDiagnostic, validateSpec } from '../../src/core';
import { nodeFileProbe } from '../../src/core/nodeFs';

// The editor's checks of a spec's data against its task: segmentation needs images with masks, multilabel a CSV
// manifest or class folders, classification neither; data.classList against classes.

describe('data formats against the task', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'densenet-datacheck-'));
    for (const d of ['folders/a', 'folders/b', 'seg/images', 'seg/masks'])
      fs.mkdirSync(path.join(dir, d), { recursive: true });
    fs.mkdirSync(path.join(dir, 'cifar'));
    fs.writeFileSync(path.join(dir, 'cifar', 'data_batch_1.bin'), Buffer.alloc(3073));
    fs.writeFileSync(path.join(dir, 'train.csv'), 'image,labels\n');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const opts = () => ({ specPath: path.join(dir, 'm.densenet.json'), fs: nodeFileProbe });
  const segmentation = (extra: Record<string, unknown>) =>
    JSON.stringify(
      { version: 1, name: 's', task: 'segmentation', model: { preset: 'fc-densenet56' }, ...extra },
      null,
      2,
    );
  const classifier = (extra: Record<string, unknown>) =>
    JSON.stringify({ version: 1, name: 'c', model: { preset: 'densenet-40-k12' }, ...extra }, null, 2);
  /** The codes of the data and class-count diagnostics (the model's own, e.g. its memory, are not at stake). */
  const codes = (text: string) =>
    validateSpec(text, opts())
      .diagnostics.map((d) => d.code)
      .filter((c) => c.startsWith('data-') || c.startsWith('classes-'));
  function only(text: string, code: string): SpecDiagnostic {
    const found = validateSpec(text, opts()).diagnostics.filter((d) => d.code === code);
    assert.strictEqual(
      found.length,
      1,
      `expected one ${code} in ${JSON.stringify(validateSpec(text, opts()).diagnostics)}`,
    );
    return found[0];
  }
  const covered = (text: string, d: SpecDiagnostic) => text.slice(d.offset, d.offset + d.length);

  it('accepts images with masks for segmentation, and refuses class folders or CIFAR there', () => {
    assert.deepStrictEqual(
      codes(segmentation({ classes: 3, data: { train: { images: 'seg/images', masks: 'seg/masks' } } })),
      [],
    );
    const text = segmentation({ classes: 3, data: { train: 'folders', test: { format: 'cifar10', path: 'cifar' } } });
    const found = validateSpec(text, opts()).diagnostics.filter((d) => d.code === 'data-needs-masks');
    assert.deepStrictEqual(
      found.map((d) => JSON.parse(covered(text, d)) as unknown),
      ['folders', { format: 'cifar10', path: 'cifar' }],
    );
    assert.strictEqual(
      found[0].message,
      'task is segmentation but data.train is class folders, without masks: give {"images": "data/train/images", "masks": "data/train/masks"} (a PNG mask per image, same name, pixel value = class index).',
    );
    assert.ok(!codes(text).includes('classes-mismatch'), 'no class-folder count for segmentation');
  });

  it('says a missing masks folder does not exist', () => {
    const d = only(segmentation({ data: { train: { images: 'seg/images', masks: 'seg/labels' } } }), 'data-missing');
    assert.match(d.message, /^Data path "seg\/labels" does not exist/);
  });

  it('accepts a CSV manifest or class folders for multilabel, and refuses CIFAR or IDX there', () => {
    const multilabel = (train: unknown) => classifier({ task: 'multilabel', classes: 2, data: { train } });
    for (const train of ['train.csv', { format: 'csv', path: 'train.csv' }, 'folders'])
      assert.ok(!codes(multilabel(train)).some((c) => c.startsWith('data-')), JSON.stringify(train));
    const d = only(multilabel('cifar'), 'data-multilabel-format');
    assert.match(
      d.message,
      /^task is multilabel but data\.train is CIFAR batches, which has no labels per image: give a CSV manifest/,
    );
    only(multilabel({ images: 'x-images-idx3-ubyte', labels: 'y' }), 'data-multilabel-format');
  });

  it('refuses masks and manifests for classification, saying which task they are for', () => {
    const masks = only(
      classifier({ data: { train: { images: 'seg/images', masks: 'seg/masks' } } }),
      'data-masks-need-segmentation',
    );
    assert.match(masks.message, /set "task": "segmentation"/);
    const csv = only(classifier({ data: { validation: 'train.csv' } }), 'data-csv-needs-multilabel');
    assert.strictEqual(
      csv.message,
      'data.validation is a CSV manifest (labels per image): set "task": "multilabel", or give class folders.',
    );
  });

  it('names the images whose mask is missing', () => {
    fs.writeFileSync(path.join(dir, 'seg/images/a.jpg'), '');
    fs.writeFileSync(path.join(dir, 'seg/images/b.png'), '');
    fs.writeFileSync(path.join(dir, 'seg/images/notes.txt'), '');
    fs.writeFileSync(path.join(dir, 'seg/masks/a.png'), '');
    try {
      const text = segmentation({ classes: 3, data: { train: { images: 'seg/images', masks: 'seg/masks' } } });
      const d = only(text, 'data-mask-missing');
      assert.strictEqual(covered(text, d), '"seg/masks"');
      assert.strictEqual(
        d.message,
        '1 image(s) of "seg/images" have no mask in "seg/masks" (b.png not found): add the masks (same name as the image, extension .png) or remove those images.',
      );
    } finally {
      for (const f of ['images/a.jpg', 'images/b.png', 'images/notes.txt', 'masks/a.png'])
        fs.rmSync(path.join(dir, 'seg', f));
    }
  });

  it('counts the label columns of a 0/1 manifest against classes, with a fix', () => {
    fs.writeFileSync(path.join(dir, 'cols.csv'), '\ufeffimage,"cat",dog,"bird, small"\r\na.png,1,0,1\r\n');
    const text = classifier({ task: 'multilabel', classes: 2, data: { train: 'cols.csv' } });
    const d = only(text, 'classes-mismatch');
    assert.strictEqual(
      d.message,
      'classes is 2 but cols.csv has 3 label columns (cat, dog, bird, small): set "classes" to 3, or make the manifest match.',
    );
    assert.strictEqual(d.fixes?.[0].title, 'Set classes to 3');
    assert.ok(
      !codes(classifier({ task: 'multilabel', classes: 3, data: { train: 'cols.csv' } })).includes('classes-mismatch'),
    );
    assert.ok(
      !codes(classifier({ task: 'multilabel', classes: 7, data: { train: 'train.csv' } })).includes('classes-mismatch'),
      'a labels column: counted when the data opens',
    );
  });

  it('checks data.classList against classes, with a fix, and warns about segmentation fields elsewhere', () => {
    const classList = [
      { name: 'a', color: '#000000' },
      { name: 'b', color: '#ffffff' },
    ];
    const text = segmentation({
      classes: 3,
      data: { train: { images: 'seg/images', masks: 'seg/masks' }, classList, ignoreIndex: 255 },
    });
    const d = only(text, 'classes-mismatch');
    assert.strictEqual(covered(text, d), '3');
    assert.strictEqual(
      d.message,
      'classes is 3 but data.classList names 2 classes: set "classes" to 2, or make data.classList list 3.',
    );
    assert.strictEqual(d.fixes?.[0].title, 'Set classes to 2');
    const warned = only(classifier({ data: { train: 'folders', ignoreIndex: 255 } }), 'data-segmentation-only');
    assert.strictEqual(warned.severity, 'warning');
  });
});
