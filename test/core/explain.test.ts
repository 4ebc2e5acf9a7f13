import * as assert from 'assert';
import {
  blockLensTitle,
  blocksOf,
  findPreset,
  hoverAt,
  lensAnchors,
  modelLensTitle,
  newSpecText,
  blocksLensTitle,
  type Preset,
  PRESETS,
  summaryTable,
  validateSpec,
} from '../../src/core';

const at = (text: string, needle: string) => {
  const i = text.indexOf(needle);
  assert.ok(i >= 0, needle);
  return i + 1;
};

describe('code lens titles', () => {
  it('model: trainable params and multiply-adds only (short enough to fit beside a dashboard)', () => {
    const r = validateSpec('{"version": 1, "model": {"preset": "densenet121"}}');
    assert.strictEqual(modelLensTitle(r.analysis!), '7.98M params · 2.88 GMACs');
  });
  // Block parameters worked out by hand: sum over layers of BN 2c + 1x1 c·128 + BN 256 + 3x3 9·128·32, c = c0 + 32j.
  it('blocks: layers, resolution, channels', () => {
    const r = validateSpec('{"version": 1, "model": {"preset": "densenet121"}}');
    assert.deepStrictEqual(blocksOf(r.analysis!).map(blockLensTitle), [
      'block 1: 6 layers · 56x56 · 64→256 ch',
      'block 2: 12 layers · 28x28 · 128→512 ch',
      'block 3: 24 layers · 14x14 · 256→1024 ch',
      'block 4: 16 layers · 7x7 · 512→1024 ch',
    ]);
  });
  it('several blocks on one line (a preset, or entries written on one line): one short lens for them', () => {
    const r = validateSpec('{"version": 1, "model": {"preset": "densenet121"}}');
    const blocks = blocksOf(r.analysis!);
    const title = blocksLensTitle(blocks);
    assert.strictEqual(title, 'blocks 1–4: 6·12·24·16 layers · 56x56→7x7 · 64→1024 ch');
    // DenseNet-121's block line and its model lens are short (they sit beside a panel in half an editor).
    assert.ok(title.length <= 60 && modelLensTitle(r.analysis!).length <= 30, title);
    assert.strictEqual(blocksLensTitle(blocks.slice(1, 3)), 'blocks 2–3: 12·24 layers · 28x28→14x14 · 128→1024 ch');
    assert.strictEqual(blocksLensTitle(blocks.slice(2, 3)), blockLensTitle(blocks[2]));
  });
  it('anchors: the model key, each blockConfig entry, or the preset when blocks come from it', () => {
    const text =
      '{\n  "version": 1,\n  "model": {\n    "preset": "densenet121",\n    "blockConfig": [6, 12, 24, 16]\n  }\n}';
    const anchors = lensAnchors(validateSpec(text));
    assert.strictEqual(anchors.model, text.indexOf('"model"'));
    const list = text.indexOf('[6');
    assert.deepStrictEqual(
      anchors.blocks,
      ['6', '12', '24', '16'].map((n) => text.indexOf(n, list)),
    );
    assert.strictEqual(anchors.presetBlocks, undefined);
    const fromPreset = '{"version": 1, "model": {"preset": "densenet121"}}';
    const presetAnchors = lensAnchors(validateSpec(fromPreset));
    assert.deepStrictEqual(presetAnchors.blocks, []);
    assert.strictEqual(presetAnchors.presetBlocks, fromPreset.indexOf('"preset"'));
  });
});

describe('hovers', () => {
  const text = JSON.stringify(
    {
      version: 1,
      name: 'small',
      input: { height: 32, width: 32, channels: 3 },
      classes: 10,
      model: {
        growthRate: 12,
        blockConfig: [6, 6],
        bnSize: 4,
        compression: 0.25,
        numInitFeatures: 24,
        stem: { kernelSize: 3, stride: 1, pool: 'none', norm: false },
      },
      training: { batchSize: 64 },
    },
    null,
    2,
  );
  const v = validateSpec(text);
  const hover = (needle: string) => hoverAt(v, at(text, needle))?.markdown ?? '';

  it('growthRate explains k in terms of the blocks', () => {
    assert.match(
      hover('"growthRate"'),
      /each layer adds k=12 feature maps; block 1 ends with 24\+6x12=96 channels; block 2 ends with 24\+6x12=96 channels/,
    );
  });
  it('a block entry shows its shape, params, multiply-adds and memory', () => {
    const md = hoverHoverOnSecondBlock();
    assert.match(
      md,
      /\*\*Dense block 2\*\* \(`conv3_block1` … `conv3_block6`\) — 6 layers at 16x16: 24 \+ 6x12 = 96 channels/,
    );
    assert.match(md, /\| dense block 2 \(conv3\) \| 16x16x96 \| [\d,]+ \| [\d.]+ MMACs \| [\d.]+ MiB \|/);
    assert.match(md, /activations \(batch 64\)/);
  });
  function hoverHoverOnSecondBlock(): string {
    const start = text.indexOf('"blockConfig"');
    const second = text.indexOf('6', text.indexOf('6', start) + 1);
    return hoverAt(v, second)?.markdown ?? '';
  }
  it('compression lists each transition', () => {
    assert.match(hover('"compression"'), /\| pool2 \| 96 -> 24 \| 32x32 -> 16x16 \|/);
  });
  it('preset, input, classes, bnSize, stem and batch size have their own hovers', () => {
    const p = JSON.stringify({ version: 1, model: { preset: 'densenet-bc-100-k12' } }, null, 2);
    const pv = validateSpec(p);
    assert.match(
      hoverAt(pv, at(p, 'densenet-bc'))!.markdown,
      /Preset `densenet-bc-100-k12`.*Expands to growthRate 12, blockConfig \[16, 16, 16\]/s,
    );
    assert.match(hover('"height"'), /\*\*input\*\* 32x32x3 .* -> stem 32x32 -> blocks 32x32, 16x16/);
    assert.match(hover('"classes"'), /maps 96 features to 10 classes: 970 parameters/);
    assert.match(hover('"bnSize"'), /1x1 bottleneck convolution to 4x12 = 48 channels/);
    assert.match(
      hover('"kernelSize"'),
      /3x3 convolution, stride 1, to numInitFeatures = 24 channels: 32x32x3 -> 32x32x24/,
    );
    assert.match(hover('"batchSize"'), /Training memory\*\* at batch 64 with sgd/);
  });
  it('the training memory hover follows training.memoryEfficient and names the other figure', () => {
    const spec = (memoryEfficient: boolean) =>
      JSON.stringify(
        { version: 1, model: { preset: 'densenet-bc-100-k12' }, training: { batchSize: 64, memoryEfficient } },
        null,
        2,
      );
    const [off, on] = [false, true].map((me) => {
      const text = spec(me);
      return hoverAt(validateSpec(text), at(text, 'memoryEfficient'))!.markdown;
    });
    const total = (md: string) => /≈ ([\d.]+ \w+)/.exec(md)?.[1];
    assert.match(off, /at batch 64 with sgd ≈/);
    assert.match(on, /at batch 64 with sgd, memory-efficient ≈/);
    assert.notStrictEqual(total(on), total(off));
    assert.match(off, /"memoryEfficient": true` would recompute/);
    assert.match(on, /without it: /);
  });
  it('a spec with errors explains why figures are missing, and never throws', () => {
    const bad = '{"version": 1, "model": {"preset": "nope", "growthRate": 12}}';
    assert.match(
      hoverAt(validateSpec(bad), at(bad, 'growthRate'))!.markdown,
      /figures appear once the spec is valid \(1 error/,
    );
    for (let i = 0; i <= bad.length; i++) assert.doesNotThrow(() => hoverAt(validateSpec(bad.slice(0, i)), i));
  });
});

describe('summary table', () => {
  it('lists every layer with type, shape, params, mult-adds and Keras-style totals', () => {
    const r = validateSpec('{"version": 1, "model": {"preset": "densenet121"}}');
    const table = summaryTable(r.analysis!, r.resolved!);
    assert.match(table, /^conv1_conv \(Conv2D\)\s+112x112x64\s+9,408\s+118,013,952$/m);
    assert.match(table, /^predictions \(Dense\)\s+1000\s+1,025,000\s+1,024,000$/m);
    assert.match(table, /^── dense block 2 \(conv3\): 12 layers, 28x28, 128->512 ch/m);
    assert.match(table, /^Total params: 8,062,504$/m);
    assert.match(table, /^Trainable params: 7,978,856$/m);
    assert.match(table, /^Non-trainable params: 83,648$/m);
    assert.match(table, /^Total mult-adds: 2\.88 GMACs \(convolutions and dense layers: 2\.83 GMACs\)$/m);
    assert.strictEqual(
      table.split('\n').filter((l) => / \((Conv2D|BatchNormalization|Dense|Concatenate)\)/.test(l)).length,
      120 + 121 + 1 + 58,
    );
  });
});

describe('new spec template', () => {
  it('writes a valid spec for every preset, with a batch size that fits the memory limit', () => {
    for (const p of PRESETS) {
      const text = newSpecText(p, p.input, p.classes, `my-${p.name}`);
      const r = validateSpec(text);
      assert.deepStrictEqual(r.diagnostics, [], p.name);
      assert.strictEqual(r.resolved?.name, `my-${p.name}`);
      assert.strictEqual(r.resolved?.preset, p.name);
    }
    const d264 = findPreset('densenet264') as Preset;
    assert.ok(validateSpec(newSpecText(d264, d264.input, 1000, 'x')).resolved!.batchSize < 64);
  });

  it('a multi-label or segmentation spec says its task and starts from Adam at 0.001 with a cosine decay', () => {
    const fc = findPreset('fc-densenet56') as Preset;
    const seg = newSpecText(fc, { height: 64, width: 64, channels: 1 }, 11, 'seg', undefined, 'segmentation');
    const d121 = findPreset('densenet121') as Preset;
    const ml = newSpecText(d121, d121.input, 14, 'chest', undefined, 'multilabel');
    for (const [text, task] of [
      [seg, 'segmentation'],
      [ml, 'multilabel'],
    ] as const) {
      const r = validateSpec(text);
      assert.deepStrictEqual(r.diagnostics, [], text);
      assert.strictEqual(r.resolved?.task, task);
      const training = JSON.parse(text.replace(/^\s*\/\/.*$/gm, '')).training;
      assert.deepStrictEqual(
        [training.optimizer, training.learningRate, training.lrSchedule, training.epochs],
        ['adam', 0.001, { type: 'cosine' }, 100],
      );
    }
    assert.ok(!newSpecText(d121, d121.input, 1000, 'x').includes('"task"'), 'classification: no task field');
  });
});
