import * as assert from 'assert';
import { findPreset } from '../../src/core/presets';
import {
  findPretrained,
  IMAGENET_PREPROCESSING,
  parsePretrainedName,
  PRETRAINED,
  PRETRAINED_NAMES,
  pretrainedForPreset,
} from '../../src/interchange/pretrained';
import { KERAS_BN_EPSILON, TORCH_BN_EPSILON } from '../../src/interchange/tensors';

describe('interchange/pretrained', () => {
  it('knows the 7 official models, each name parsing to its entry', () => {
    assert.deepStrictEqual(
      [...PRETRAINED_NAMES],
      [
        'torchvision:densenet121',
        'torchvision:densenet161',
        'torchvision:densenet169',
        'torchvision:densenet201',
        'keras:densenet121',
        'keras:densenet169',
        'keras:densenet201',
      ],
    );
    for (const name of PRETRAINED_NAMES) {
      const entry = parsePretrainedName(name);
      assert.strictEqual(entry.name, name);
      assert.strictEqual(`${entry.source}:${entry.preset}`, name);
      assert.strictEqual(parsePretrainedName(`  ${name.toUpperCase()} `), entry);
      assert.ok(findPreset(entry.preset), `${name}: preset ${entry.preset} is not a preset of src/core/presets.ts`);
    }
  });

  it('torchvision entries follow torch.hub: <preset>-<first 8 hex digits of the SHA-256>.pth', () => {
    const torch = PRETRAINED.filter((e) => e.source === 'torchvision');
    assert.strictEqual(torch.length, 4);
    for (const e of torch) {
      assert.strictEqual(e.checksum.kind, 'sha256-prefix');
      assert.match(e.checksum.value, /^[0-9a-f]{8}$/);
      assert.strictEqual(e.fileName, `${e.preset}-${e.checksum.value}.pth`);
      // torch.hub's HASH_REGEX on the file name gives back the checksum.
      assert.strictEqual(/-([a-f0-9]*)\./.exec(e.fileName)?.[1], e.checksum.value);
      assert.strictEqual(e.url, `https://download.pytorch.org/models/${e.fileName}`);
      assert.strictEqual(e.format, 'pytorch');
      assert.strictEqual(e.bnEpsilon, TORCH_BN_EPSILON);
      assert.strictEqual(e.bnEpsilon, 1e-5);
    }
    assert.strictEqual(parsePretrainedName('torchvision:densenet121').url, torchvisionUrl('densenet121-a639ec97'));
    assert.strictEqual(parsePretrainedName('torchvision:densenet161').url, torchvisionUrl('densenet161-8d451a50'));
  });

  it('Keras entries are the "with top" HDF5 files, checked by a 32-digit MD5', () => {
    const keras = PRETRAINED.filter((e) => e.source === 'keras');
    assert.deepStrictEqual(
      keras.map((e) => e.preset),
      ['densenet121', 'densenet169', 'densenet201'],
    );
    for (const e of keras) {
      assert.strictEqual(e.checksum.kind, 'md5');
      assert.match(e.checksum.value, /^[0-9a-f]{32}$/);
      assert.strictEqual(e.fileName, `${e.preset}_weights_tf_dim_ordering_tf_kernels.h5`);
      assert.ok(!e.fileName.includes('notop'));
      assert.ok(e.url.endsWith(`/${e.fileName}`) && e.url.startsWith('https://'));
      assert.strictEqual(e.format, 'keras-h5');
      assert.strictEqual(e.bnEpsilon, KERAS_BN_EPSILON);
      assert.strictEqual(e.bnEpsilon, 1.001e-5);
    }
    assert.strictEqual(parsePretrainedName('keras:densenet121').checksum.value, '9d60b8095a5708f2dcce2bca79d332c7');
  });

  it('every entry: 1000 classes, ImageNet preprocessing (RGB, /255, torch mean and std), a licence note', () => {
    const checksums = new Set<string>();
    for (const e of PRETRAINED) {
      assert.strictEqual(e.classes, 1000);
      assert.deepStrictEqual(e.preprocessing, {
        channelOrder: 'RGB',
        scale: 1 / 255,
        mean: [0.485, 0.456, 0.406],
        std: [0.229, 0.224, 0.225],
        inputSize: 224,
      });
      assert.match(e.licence, /BSD-3-Clause/);
      assert.match(e.licence, /ImageNet/);
      assert.strictEqual(e.url.split('/').at(-1), e.fileName);
      checksums.add(e.checksum.value);
    }
    assert.strictEqual(checksums.size, PRETRAINED.length);
    assert.ok(Object.isFrozen(IMAGENET_PREPROCESSING) && Object.isFrozen(IMAGENET_PREPROCESSING.mean));
  });

  it('a typo gets "did you mean" and the list of known names', () => {
    assert.throws(
      () => parsePretrainedName('torchvison:densenet121'),
      (e: Error) =>
        e.message.includes('"torchvison:densenet121"') &&
        e.message.includes('did you mean torchvision:densenet121?') &&
        e.message.includes(PRETRAINED_NAMES.join(', ')),
    );
    assert.throws(() => parsePretrainedName('keras:densenet-201'), /did you mean keras:densenet201\?/);
    assert.throws(() => parsePretrainedName('keras:densenet161'), /did you mean/);
    assert.strictEqual(findPretrained('keras:densenet161'), undefined);
  });

  it('a bare preset name asks for its source', () => {
    assert.throws(
      () => parsePretrainedName('densenet121'),
      /needs its source: write torchvision:densenet121 or keras:densenet121/,
    );
    assert.throws(() => parsePretrainedName('DenseNet161'), /needs its source: write torchvision:densenet161\./);
    assert.deepStrictEqual(
      pretrainedForPreset('densenet201').map((e) => e.name),
      ['torchvision:densenet201', 'keras:densenet201'],
    );
  });
});

const torchvisionUrl = (stem: string) => `https://download.pytorch.org/models/${stem}.pth`;
