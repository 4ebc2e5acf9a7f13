import * as assert from 'assert';
import {
  freezePlan,
  modelLensTitle,
  summaryTable,
  trainingConfig,
  validateSpec,
  type SpecDiagnostic,
} from '../../src/core';

function spec(training: Record<string, unknown>): string {
  return JSON.stringify(
    {
      version: 1,
      name: 't',
      input: { height: 32, width: 32, channels: 3 },
      classes: 5,
      model: { preset: 'densenet121' },
      training,
    },
    null,
    2,
  );
}

function errorsOf(text: string, code: string): SpecDiagnostic[] {
  return validateSpec(text).diagnostics.filter((d) => d.code === code);
}

const analysis = () => {
  const v = validateSpec(spec({}));
  assert.ok(v.analysis);
  return v.analysis;
};

describe('training.freeze', () => {
  it('"conv3" freezes the stem, block 1, transition pool2 and block 2, and nothing after', () => {
    const a = analysis();
    const p = freezePlan(a, 'conv3');
    for (const name of [
      'conv1_conv',
      'conv1_bn',
      'conv2_block6_concat',
      'pool2_conv',
      'pool2_pool',
      'conv3_block12_concat',
    ])
      assert.ok(p.layers.has(name), name);
    for (const name of ['pool3_bn', 'pool3_conv', 'conv4_block1_0_bn', 'bn', 'predictions'])
      assert.ok(!p.layers.has(name), name);
    assert.strictEqual(p.backbone, false);
    assert.strictEqual(p.trainableParams + p.frozenParams, a.totals.trainableParams);
  });

  it('"backbone" freezes everything but the classifier; a layer name freezes up to and including it', () => {
    const a = analysis();
    const b = freezePlan(a, 'backbone');
    assert.strictEqual(b.backbone, true);
    assert.ok(!b.layers.has('predictions') && b.layers.has('bn') && b.layers.has('avg_pool'));
    assert.strictEqual(b.trainableParams, 1024 * 5 + 5);
    const l = freezePlan(a, 'conv4_block5_concat');
    assert.ok(l.layers.has('conv4_block5_concat') && l.layers.has('pool3_pool'));
    assert.ok(!l.layers.has('conv4_block6_0_bn'));
    assert.strictEqual(freezePlan(a, 'none').layers.size, 0);
    assert.strictEqual(freezePlan(a, undefined).frozenParams, 0);
  });

  it('an unknown name is an error at training.freeze that says "did you mean" and fixes it', () => {
    const text = spec({ freeze: 'conv33' });
    const [d] = errorsOf(text, 'freeze-unknown');
    assert.ok(d, 'expected freeze-unknown');
    assert.strictEqual(d.severity, 'error');
    assert.strictEqual(text.slice(d.offset, d.offset + d.length), '"conv33"');
    assert.match(d.message, /did you mean "conv3"/);
    assert.match(d.message, /"none", "backbone"/);
    assert.strictEqual(d.fixes?.[0].edits[0].newText, '"conv3"');
  });

  it('freezing the classifier is refused with the fix "backbone"', () => {
    for (const freeze of ['predictions', 'head']) {
      const [d] = errorsOf(spec({ freeze }), 'freeze-unknown');
      assert.match(d.message, /nothing would train/);
      assert.strictEqual(d.fixes?.[0].edits[0].newText, '"backbone"');
    }
  });

  it('known names validate; a non-string freeze is a schema error; backboneLearningRate with a frozen backbone warns', () => {
    for (const freeze of ['none', 'backbone', 'conv1', 'conv2', 'pool2', 'pool3', 'conv4_block5_concat'])
      assert.deepStrictEqual(validateSpec(spec({ freeze })).diagnostics, [], freeze);
    assert.ok(validateSpec(spec({ freeze: 3 })).diagnostics.some((d) => d.severity === 'error'));
    assert.strictEqual(
      errorsOf(spec({ freeze: 'backbone', backboneLearningRate: 0.001 }), 'backbone-lr-unused').length,
      1,
    );
    assert.strictEqual(
      errorsOf(spec({ freeze: 'conv3', backboneLearningRate: 0.001 }), 'backbone-lr-unused').length,
      0,
    );
  });

  it('trainingConfig reads freeze and backboneLearningRate', () => {
    const c = trainingConfig({ freeze: 'conv2', backboneLearningRate: 0.01 });
    assert.strictEqual(c.freeze, 'conv2');
    assert.strictEqual(c.backboneLearningRate, 0.01);
    assert.strictEqual(trainingConfig(undefined).freeze, 'none');
  });

  it('the lens and the summary give trainable and frozen parameter counts', () => {
    const v = validateSpec(spec({ freeze: 'backbone' }));
    assert.ok(v.analysis && v.resolved);
    assert.match(modelLensTitle(v.analysis, v.resolved), / · 6\.95M frozen$/);
    assert.doesNotMatch(modelLensTitle(v.analysis), /frozen/);
    assert.match(
      summaryTable(v.analysis, v.resolved),
      /training\.freeze "backbone": 5,125 params train, 6,953,856 frozen/,
    );
  });
});
