import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { analyze, findPreset, type SpecDiagnostic, validateSpec, type ValidationOptions } from '../../src/core';
import { minInputSide } from '../../src/core/specFixes';
import { nodeFileProbe } from '../../src/core/nodeFs';
import { schemaDiagnostics } from '../../src/core/schemaCheck';

function spec(model: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  return JSON.stringify(
    { version: 1, name: 't', input: { height: 32, width: 32, channels: 3 }, classes: 10, model, ...extra },
    null,
    2,
  );
}

function only(text: string, code: string, options?: ValidationOptions): SpecDiagnostic {
  const found = validateSpec(text, options).diagnostics;
  const matching = found.filter((d) => d.code === code);
  assert.strictEqual(matching.length, 1, `expected one ${code}, got ${JSON.stringify(found, null, 1)}`);
  return matching[0];
}

/** The text a diagnostic's range covers. */
const covered = (text: string, d: SpecDiagnostic) => text.slice(d.offset, d.offset + d.length);

const titles = (d: SpecDiagnostic) => (d.fixes ?? []).map((f) => f.title);

/** Applies a diagnostic's first (or `which`) fix. */
function fixed(text: string, d: SpecDiagnostic, which = 0): string {
  const fix = d.fixes?.[which];
  assert.ok(fix, 'expected a quick fix');
  return [...fix.edits]
    .sort((a, b) => b.offset - a.offset)
    .reduce((t, e) => t.slice(0, e.offset) + e.newText + t.slice(e.offset + e.length), text);
}

describe('validation', () => {
  it('accepts every preset with no diagnostics', () => {
    for (const preset of ['densenet121', 'densenet-bc-100-k12', 'densenet-40-k12']) {
      const r = validateSpec(JSON.stringify({ version: 1, name: preset, model: { preset } }));
      assert.deepStrictEqual(r.diagnostics, [], preset);
      assert.ok(r.analysis);
    }
  });

  it('tolerates comments and trailing commas', () => {
    const text = '{\n  // my model\n  "version": 1, /* block */\n  "model": { "preset": "densenet121", },\n}\n';
    assert.deepStrictEqual(validateSpec(text).diagnostics, []);
  });

  it('reports syntax errors with a range and what to write', () => {
    const text = '{ "version": 1, "model": { "preset": "densenet121" "growthRate": 12 } }';
    const d = only(text, 'syntax');
    assert.match(d.message, /CommaExpected.*add a ","/);
    assert.strictEqual(covered(text, d), '"growthRate"');
  });

  it('compression outside (0,1]: ranged error and a clamp fix', () => {
    const text = spec({ preset: 'densenet-bc-100-k12', compression: 1.5 });
    const d = only(text, 'compression-range');
    assert.strictEqual(d.severity, 'error');
    assert.strictEqual(covered(text, d), '1.5');
    assert.match(d.message, /compression must be in \(0, 1\], not 1\.5.*use 0\.5 \(DenseNet-BC\) or 1/);
    // Both values the message suggests, the nearer one first.
    assert.deepStrictEqual(titles(d), ['Set compression to 1', 'Set compression to 0.5']);
    assert.deepStrictEqual(validateSpec(fixed(text, d)).diagnostics, []);
    assert.deepStrictEqual(validateSpec(fixed(text, d, 1)).diagnostics, []);
    assert.match(fixed(text, d, 1), /"compression": 0\.5/);
    const zero = spec({ preset: 'densenet-bc-100-k12', compression: 0 });
    assert.deepStrictEqual(titles(only(zero, 'compression-range')), ['Set compression to 0.5', 'Set compression to 1']);
  });

  it('growth rate: non-integer or non-positive', () => {
    for (const bad of [0, -3, 12.5, '12']) {
      const text = spec({ preset: 'densenet-40-k12', growthRate: bad });
      const d = only(text, 'growthRate-invalid');
      assert.strictEqual(covered(text, d), JSON.stringify(bad));
      assert.match(
        d.message,
        /growthRate \(k\) must be a positive whole number, not .*each layer of a dense block adds k feature maps/,
      );
    }
  });

  it('block sizes: the range is the bad entry and the message names the block', () => {
    const text = spec({ preset: 'densenet-40-k12', blockConfig: [12, 0, 12] });
    const d = only(text, 'blockConfig-invalid');
    assert.strictEqual(covered(text, d), '0');
    assert.ok(text.slice(0, d.offset).endsWith('12,\n      '), 'points at the second entry');
    assert.match(d.message, /Dense block 2 must have a positive whole number of layers, not 0/);
    assert.match(only(spec({ blockConfig: [] }), 'blockConfig-invalid').message, /non-empty list/);
    assert.match(only(spec({ blockConfig: [6, 2.5] }), 'blockConfig-invalid').message, /Dense block 2 .* not 2\.5/);
  });

  it("block sizes: fixes set the preset's count (or 1) or remove the block, and the spec is then valid", () => {
    // densenet-40-k12 has 12 layers per block: its value is the one suggested for block 2.
    const text = spec({ preset: 'densenet-40-k12', blockConfig: [12, 0, 12] });
    const d = only(text, 'blockConfig-invalid');
    assert.match(d.message, /write e\.g\. 12, or remove the block/);
    assert.deepStrictEqual(titles(d), ['Set dense block 2 to 12', 'Remove dense block 2']);
    assert.match(fixed(text, d), /"blockConfig": \[\s*12,\s*12,\s*12\s*\]/);
    assert.match(fixed(text, d, 1), /"blockConfig": \[\s*12,\s*12\s*\]/);
    for (const i of [0, 1]) assert.deepStrictEqual(validateSpec(fixed(text, d, i)).diagnostics, [], `fix ${i}`);
    // No preset, a block past the default model's four: 1; the last entry is removed with its comma.
    const plain = spec({ growthRate: 12, numInitFeatures: 24, blockConfig: [6, 6, 6, 6, -1] });
    const last = only(plain, 'blockConfig-invalid');
    assert.deepStrictEqual(titles(last), ['Set dense block 5 to 1', 'Remove dense block 5']);
    assert.match(fixed(plain, last, 1), /"blockConfig": \[\s*6,\s*6,\s*6,\s*6\s*\]/);
    // Without a preset the second default block (12 layers) is suggested; a list's only entry is not removed.
    const two = spec({ blockConfig: [6, -1] }, { input: { height: 224, width: 224, channels: 3 } });
    assert.deepStrictEqual(titles(only(two, 'blockConfig-invalid')), [
      'Set dense block 2 to 12',
      'Remove dense block 2',
    ]);
    assert.deepStrictEqual(titles(only(spec({ blockConfig: [0] }), 'blockConfig-invalid')), ['Set dense block 1 to 6']);
    const notList = only(spec({ blockConfig: 'six' }), 'blockConfig-invalid');
    assert.deepStrictEqual(titles(notList), ['Set blockConfig to [6,12,24,16]']);
  });

  it('every value a message suggests has a quick fix', () => {
    const cases: [Record<string, unknown>, string, string[]][] = [
      [{ growthRate: 0 }, 'growthRate-invalid', [12, 24, 32, 40, 48].map((n) => `Set growthRate (k) to ${n}`)],
      [{ bnSize: -1 }, 'bnSize-invalid', ['Set bnSize to 4', 'Set bnSize to 0']],
      [
        { growthRate: 12, numInitFeatures: 0 },
        'numInitFeatures-invalid',
        ['Set numInitFeatures to 64', 'Set numInitFeatures to 24'],
      ],
      [{ dropRate: 1 }, 'dropRate-range', ['Set dropRate to 0', 'Set dropRate to 0.2']],
      [{ stem: { pool: 'avg' } }, 'pool-invalid', ['Set stem.pool to "max"', 'Set stem.pool to "none"']],
      [{ stem: { norm: 'yes' } }, 'norm-invalid', ['Set stem.norm to true', 'Set stem.norm to false']],
      [{ stem: { kernelSize: 0 } }, 'kernelSize-invalid', ['Set stem.kernelSize to 7', 'Set stem.kernelSize to 3']],
      [{ stem: { stride: 0 } }, 'stride-invalid', ['Set stem.stride to 2', 'Set stem.stride to 1']],
    ];
    for (const [model, code, expected] of cases) {
      const text = spec({ preset: 'densenet-40-k12', ...model });
      const d = only(text, code);
      assert.deepStrictEqual(titles(d), expected, code);
      expected.forEach((_, i) =>
        assert.deepStrictEqual(validateSpec(fixed(text, d, i)).diagnostics, [], `${code} ${i}`),
      );
    }
    const channels = spec({ preset: 'densenet-40-k12' }).replace('"channels": 3', '"channels": 0');
    assert.deepStrictEqual(titles(only(channels, 'channels-invalid')), [
      'Set input.channels to 1',
      'Set input.channels to 3',
    ]);
    const classes = spec({ preset: 'densenet-40-k12' }, { classes: 1 });
    assert.deepStrictEqual(titles(only(classes, 'classes-invalid')), ['Set classes to 10', 'Set classes to 1000']);
  });

  it('other model fields: bnSize, numInitFeatures, dropRate, stem', () => {
    assert.match(only(spec({ bnSize: -1 }), 'bnSize-invalid').message, /bnSize must be a whole number >= 0, not -1/);
    assert.match(
      only(spec({ numInitFeatures: 0 }), 'numInitFeatures-invalid').message,
      /numInitFeatures must be a positive whole number/,
    );
    assert.match(only(spec({ dropRate: 1 }), 'dropRate-range').message, /dropRate must be in \[0, 1\), not 1/);
    assert.match(only(spec({ stem: { pool: 'avg' } }), 'pool-invalid').message, /stem.pool must be "max" .* or "none"/);
    assert.match(
      only(spec({ stem: { kernelSize: 0 } }), 'kernelSize-invalid').message,
      /stem.kernelSize must be a positive whole number/,
    );
  });

  it('an input too small for the downsampling names the transition', () => {
    const text = spec({ preset: 'densenet121' })
      .replace('"height": 32', '"height": 20')
      .replace('"width": 32', '"width": 20');
    const d = only(text, 'input-too-small');
    assert.match(
      d.message,
      /The input 20x20 is too small: the feature maps fall under 1 px at transition 3 \(pool4, after dense block 3\)/,
    );
    assert.match(covered(text, d), /^\{\s*"height": 20/);
    const tiny = spec({ preset: 'densenet-40-k12' }).replace('"height": 32', '"height": 3');
    assert.match(
      only(tiny, 'input-too-small').message,
      /The input 3x32 is too small: .* at transition 2 \(pool3, after dense block 2\)/,
    );
  });

  it('an input too small states the minimum size, why, and fixes it', () => {
    // DenseNet-121 by hand: 3 transitions need 8 px after the stem; 3x3/2 max pool needs 15; 7x7/2 conv needs 29.
    const text = spec({ preset: 'densenet121' })
      .replace('"height": 32', '"height": 20')
      .replace('"width": 32', '"width": 40');
    const d = only(text, 'input-too-small');
    assert.match(
      d.message,
      /at least 29x29 \(stem stride 2, 3x3\/2 max pooling and 3 transitions halving it\): set input\.height and input\.width to 29 or more/,
    );
    assert.deepStrictEqual(titles(d), ['Set the input to at least 29x29']);
    const after = fixed(text, d);
    assert.match(after, /"height": 29,\s*"width": 40/, 'only the side that is too small changes');
    assert.deepStrictEqual(validateSpec(after).diagnostics, []);
    // The minimum is exact: one pixel less is too small.
    assert.strictEqual(only(after.replace('"height": 29', '"height": 28'), 'input-too-small').code, 'input-too-small');
    // CIFAR stem (3x3/1, no pooling) and two transitions: 4 px.
    const cifar = spec({ preset: 'densenet-40-k12' }).replace('"height": 32', '"height": 3');
    assert.match(only(cifar, 'input-too-small').message, /at least 4x4 \(stem stride 1 and 2 transitions halving it\)/);
  });
  it('minInputSide matches the analysis at the boundary', () => {
    for (const name of ['densenet121', 'densenet-bc-100-k12', 'densenet-40-k12']) {
      const p = findPreset(name)!;
      const side = minInputSide(p.model, 3, 10)!;
      assert.ok(!analyze(p.model, { height: side, width: side, channels: 3 }, 10).problem, name);
      assert.ok(analyze(p.model, { height: side - 1, width: side - 1, channels: 3 }, 10).problem, name);
    }
  });

  it('an unknown preset suggests the nearest name, with a quick fix', () => {
    const text = spec({ preset: 'DenseNet-121' });
    const d = only(text, 'preset-unknown');
    assert.strictEqual(covered(text, d), '"DenseNet-121"');
    assert.match(d.message, /Unknown preset "DenseNet-121": did you mean "densenet121"\?/);
    assert.deepStrictEqual(validateSpec(fixed(text, d)).diagnostics, []);
    assert.match(
      only(spec({ preset: 'densenet-bc-100-k1' }), 'preset-unknown').message,
      /did you mean "densenet-bc-100-k12"/,
    );
  });

  it('explicit fields override the preset', () => {
    const r = validateSpec(spec({ preset: 'densenet-bc-100-k12', growthRate: 24, blockConfig: [4, 4] }));
    assert.deepStrictEqual(
      [r.resolved?.model.growthRate, r.resolved?.model.blockConfig, r.resolved?.model.bnSize],
      [24, [4, 4], 4],
    );
    assert.strictEqual(r.resolved?.model.numInitFeatures, 24, 'the preset value stays where not overridden');
  });

  it('missing parts: model, input/classes without a preset, version', () => {
    assert.match(only('{"version": 1}', 'model-missing').message, /Add a "model" section/);
    const noPreset = JSON.stringify({
      version: 1,
      model: { growthRate: 12, blockConfig: [6, 6], numInitFeatures: 24 },
    });
    assert.match(only(noPreset, 'input-missing').message, /Add "input"/);
    assert.match(only(noPreset, 'classes-missing').message, /Add "classes"/);
    const v = only('{"model": {"preset": "densenet121"}}', 'version-missing');
    assert.strictEqual(v.severity, 'warning');
    assert.deepStrictEqual(validateSpec(fixed('{"model": {"preset": "densenet121"}}', v)).diagnostics, []);
    assert.match(
      only('{"version": 2, "model": {"preset": "densenet121"}}', 'version-unsupported').message,
      /Set "version": 1/,
    );
    assert.match(only('[1, 2]', 'not-object').message, /is a JSON object/);
    assert.match(
      only(spec({ preset: 'densenet121' }, { classes: 1 }), 'classes-invalid').message,
      /classes must be a whole number >= 2/,
    );
  });

  it('training memory above the limit is a warning on the batch size that says which batch fits', () => {
    const text = spec(
      { preset: 'densenet121' },
      { input: { height: 224, width: 224, channels: 3 }, classes: 1000, training: { batchSize: 256 } },
    );
    const d = only(text, 'memory-limit', { maxTrainingMemoryBytes: 8 * 1024 ** 3 });
    assert.strictEqual(d.severity, 'warning');
    assert.strictEqual(covered(text, d), '256');
    assert.match(
      d.message,
      /Training needs about 3\d\.\d GiB at batch 256 .* above the limit of 8\.0 GiB: lower training.batchSize to 6\d or less/,
    );
    assert.deepStrictEqual(
      validateSpec(text.replace('256', '32'), { maxTrainingMemoryBytes: 8 * 1024 ** 3 }).diagnostics,
      [],
    );
    // The quick fix sets the batch size the message names, and the warning goes.
    const fitting = /lower training.batchSize to (\d+)/.exec(d.message)![1];
    assert.deepStrictEqual(titles(d), [`Set training.batchSize to ${fitting}`]);
    assert.deepStrictEqual(validateSpec(fixed(text, d), { maxTrainingMemoryBytes: 8 * 1024 ** 3 }).diagnostics, []);
  });

  it('never throws on broken or strange input', () => {
    const base = spec(
      { preset: 'densenet-bc-100-k12', stem: { kernelSize: 3 } },
      { data: { train: 'x' }, training: { batchSize: 4 } },
    );
    let seed = 1;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const junk = ['', '{', '}', '[', ']', ',', ':', '"', '-1', '1e309', 'null', 'true', '[]', '{}', '0.5', '"a"'];
    for (let i = 0; i < 3000; i++) {
      const at = rand(base.length);
      const cut = rand(8);
      const text = base.slice(0, at) + junk[rand(junk.length)] + base.slice(at + cut);
      assert.doesNotThrow(
        () => validateSpec(text, { specPath: '/nonexistent/x.densenet.json', fs: nodeFileProbe }),
        text,
      );
    }
    for (const text of [
      '',
      ' ',
      'null',
      '42',
      '"x"',
      '{"model": null}',
      '{"model": {"blockConfig": "6"}}',
      '{"input": [], "model": {"stem": 3}}',
    ]) {
      assert.doesNotThrow(() => validateSpec(text), text);
    }
  });
});

describe('validation against the file system', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'densenet-validate-'));
    for (const digit of ['0', '1', '2']) fs.mkdirSync(path.join(dir, 'digits', 'train', digit), { recursive: true });
    fs.mkdirSync(path.join(dir, 'cifar'));
    fs.writeFileSync(path.join(dir, 'cifar', 'data_batch_1.bin'), Buffer.alloc(3073));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const opts = () => ({ specPath: path.join(dir, 'm.densenet.json'), fs: nodeFileProbe });

  it('a data path that does not exist is an error on that path', () => {
    const text = spec(
      { preset: 'densenet-40-k12' },
      { data: { train: 'digits/train', validation: { path: 'digits/val' } } },
    );
    const d = only(text, 'data-missing', opts());
    assert.strictEqual(covered(text, d), '"digits/val"');
    assert.match(
      d.message,
      /Data path "digits\/val" does not exist \(looked for .*digits\/val\): fix the path; it is relative to this spec's folder/,
    );
  });

  it('classes that disagree with the class folders, with a fix', () => {
    const text = spec({ preset: 'densenet-40-k12' }, { data: { train: 'digits/train' } });
    const d = only(text, 'classes-mismatch', opts());
    assert.strictEqual(covered(text, d), '10');
    assert.match(d.message, /classes is 10 but digits\/train has 3 class folders \(0, 1, 2\): set "classes" to 3/);
    assert.deepStrictEqual(validateSpec(fixed(text, d), opts()).diagnostics, []);
  });

  it('CIFAR-10 batches mean 10 classes', () => {
    assert.deepStrictEqual(
      validateSpec(spec({ preset: 'densenet-40-k12' }, { data: { train: 'cifar' } }), opts()).diagnostics,
      [],
    );
    const d = only(
      spec({ preset: 'densenet-40-k12' }, { classes: 100, data: { train: 'cifar' } }),
      'classes-mismatch',
      opts(),
    );
    assert.match(d.message, /cifar holds CIFAR-10 batches \(10 classes\)/);
  });
});

describe('schema check (part of validateSpec: the editor, analyze and train all run it)', () => {
  it('reports unknown fields and wrong types with their range', () => {
    const text = spec({ preset: 'densenet121', growthrate: 12 }, { training: { optimizer: 'adagrad', epochs: 'ten' } });
    const found = schemaDiagnostics(validateSpec(text).parsed);
    const unknown = found.find((d) => d.code === 'schema-additionalProperties');
    assert.ok(unknown);
    assert.match(unknown.message, /Unknown field "growthrate" in model/);
    assert.ok(found.some((d) => /training.optimizer must be one of "sgd", "adam", "adamw"/.test(d.message)));
    assert.ok(found.some((d) => d.code === 'schema-type' && covered(text, d) === '"ten"'));
    assert.deepStrictEqual(schemaDiagnostics(validateSpec(spec({ preset: 'densenet121' })).parsed), []);
  });
});
