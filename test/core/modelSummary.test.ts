import * as assert from 'assert';
import { validateSpec } from '../../src/core';
import { compactCount, connectedTo, modelSummary, rowMatches, sortRows } from '../../src/core/modelSummary';

function summaryOf(text: string) {
  const v = validateSpec(text);
  assert.ok(v.analysis && v.resolved, 'the spec is valid');
  return modelSummary(v.analysis, v.resolved);
}

const DENSENET121 = '{"version": 1, "name": "densenet121", "model": {"preset": "densenet121"}}';
const DENSENET201 = '{"version": 1, "name": "densenet201", "model": {"preset": "densenet201"}}';

describe('model summary table', () => {
  it("DenseNet-121: Keras' totals (8,062,504 params, 7,978,856 trainable, 83,648 non-trainable)", () => {
    const s = summaryOf(DENSENET121);
    assert.strictEqual(s.totals.params, 8_062_504);
    assert.strictEqual(s.totals.trainableParams, 7_978_856);
    assert.strictEqual(s.totals.nonTrainableParams, 83_648);
    assert.strictEqual(s.totals.frozenParams, 0);
    assert.strictEqual(s.totals.freeze, undefined);
    // The rows add up to the totals.
    assert.strictEqual(
      s.rows.reduce((n, r) => n + r.params, 0),
      8_062_504,
    );
    assert.strictEqual(
      s.rows.reduce((n, r) => n + r.macs, 0),
      s.totals.macs,
    );
    assert.ok(s.totals.macs > 2.8e9 && s.totals.macs < 2.95e9, `${s.totals.macs} MACs`);
    assert.match(s.title, /^densenet121 \(preset densenet121\) · input 224x224x3 · 1000 classes · batch \d+$/);
  });

  it('rows: Keras names, types, shapes and figures in model order', () => {
    const s = summaryOf(DENSENET121);
    assert.deepStrictEqual(
      s.rows.slice(0, 3).map((r) => [r.name, r.type, r.shape, r.params]),
      [
        ['input_1', 'InputLayer', '224x224x3', 0],
        ['zero_padding2d', 'ZeroPadding2D', '230x230x3', 0],
        ['conv1_conv', 'Conv2D', '112x112x64', 7 * 7 * 3 * 64],
      ],
    );
    const bn = s.rows.find((r) => r.name === 'conv1_bn')!;
    assert.deepStrictEqual([bn.params, bn.trainableParams, bn.nonTrainableParams], [256, 128, 128]);
    const last = s.rows[s.rows.length - 1];
    assert.deepStrictEqual([last.name, last.shape, last.params], ['predictions', '1000', 1024 * 1000 + 1000]);
    assert.strictEqual(last.macs, 1024 * 1000);
    assert.strictEqual(s.rows.find((r) => r.name === 'pool1')!.activationBytes, 56 * 56 * 64 * 4);
  });

  it('Connected to, Keras-style: a concatenation names all its inputs, in order', () => {
    const s = summaryOf(DENSENET121);
    const row = (n: string) => s.rows.find((r) => r.name === n)!;
    assert.deepStrictEqual(row('conv2_block1_concat').connectedTo, ['pool1[0][0]', 'conv2_block1_2_conv[0][0]']);
    assert.deepStrictEqual(row('conv4_block24_concat').connectedTo, [
      'conv4_block23_concat[0][0]',
      'conv4_block24_2_conv[0][0]',
    ]);
    assert.deepStrictEqual(row('conv3_block1_0_bn').connectedTo, ['pool2_pool[0][0]']);
    assert.deepStrictEqual(row('input_1').connectedTo, []);
    assert.deepStrictEqual(connectedTo({ inputs: ['a', 'b', 'c'] }), ['a[0][0]', 'b[0][0]', 'c[0][0]']);
  });

  it('groups: one per part with its rows and figures; blocks say layers, resolution and channels', () => {
    const s = summaryOf(DENSENET121);
    assert.deepStrictEqual(
      s.groups.map((g) => g.label),
      [
        'input',
        'stem (conv1)',
        'dense block 1 (conv2)',
        'transition 1 (pool2)',
        'dense block 2 (conv3)',
        'transition 2 (pool3)',
        'dense block 3 (conv4)',
        'transition 3 (pool4)',
        'dense block 4 (conv5)',
        'head',
      ],
    );
    assert.strictEqual(s.groups[6].detail, '24 layers · 14x14 · 256→1024 ch');
    s.groups.forEach((g, gi) => {
      const rows = s.rows.slice(g.first, g.last + 1);
      assert.ok(rows.length > 0 && rows.every((r) => r.group === gi), g.name);
      assert.strictEqual(
        rows.reduce((n, r) => n + r.params, 0),
        g.params,
      );
    });
    assert.strictEqual(s.groups[s.groups.length - 1].last, s.rows.length - 1);
  });

  it('training.freeze: frozen layers count as non-trainable, in the rows, the totals and the text', () => {
    const s = summaryOf(
      '{"version": 1, "name": "ft", "model": {"preset": "densenet121"}, "training": {"freeze": "backbone"}}',
    );
    const head = 1024 * 1000 + 1000;
    assert.strictEqual(s.totals.params, 8_062_504);
    assert.strictEqual(s.totals.trainableParams, head);
    assert.strictEqual(s.totals.nonTrainableParams, 8_062_504 - head);
    assert.strictEqual(s.totals.frozenParams, 7_978_856 - head);
    assert.strictEqual(s.totals.freeze, 'backbone');
    const conv = s.rows.find((r) => r.name === 'conv1_conv')!;
    assert.deepStrictEqual([conv.frozen, conv.trainableParams, conv.nonTrainableParams], [true, 0, 9408]);
    assert.strictEqual(s.rows.find((r) => r.name === 'predictions')!.frozen, false);
    assert.match(s.text, /^Trainable params: 1,025,000$/m);
    assert.match(s.text, /^Non-trainable params: 7,037,504$/m);
  });

  it('the text is the Keras-style summary with the same totals', () => {
    const s = summaryOf(DENSENET121);
    assert.match(s.text, /^Layer \(type\)\s+Output Shape\s+Param #\s+Mult-Adds$/m);
    assert.match(s.text, /^Total params: 8,062,504$/m);
    assert.match(s.text, /^conv5_block16_concat \(Concatenate\)\s+7x7x1024\s+0\s+0$/m);
    assert.strictEqual(s.text.split('\n').filter((l) => / \(\w+\)\s+\d/.test(l)).length, s.rows.length);
  });

  it('sorting: by any numeric column, both ways, ties in model order; "order" is the model order', () => {
    const s = summaryOf(DENSENET121);
    const byParams = sortRows(s.rows, 'params', 'desc');
    assert.strictEqual(byParams.length, s.rows.length);
    assert.strictEqual(s.rows[byParams[0]].name, 'predictions');
    for (let i = 1; i < byParams.length; i++) {
      const [a, b] = [s.rows[byParams[i - 1]], s.rows[byParams[i]]];
      assert.ok(a.params > b.params || (a.params === b.params && byParams[i - 1] < byParams[i]), `${a.name} ${b.name}`);
    }
    const byMacsAsc = sortRows(s.rows, 'macs', 'asc');
    assert.strictEqual(s.rows[byMacsAsc[0]].name, 'input_1', 'zero MACs, first in model order');
    const top = s.rows[sortRows(s.rows, 'macs', 'desc')[0]];
    assert.strictEqual(top.macs, Math.max(...s.rows.map((r) => r.macs)));
    assert.strictEqual(
      s.rows[sortRows(s.rows, 'activationBytes', 'desc')[0]].name,
      'zero_padding2d_1',
      '114x114x64 before pool1',
    );
    assert.deepStrictEqual(
      sortRows(s.rows, 'outputSize', 'asc')
        .slice(0, 2)
        .map((i) => s.rows[i].name),
      ['predictions', 'avg_pool'],
    );
    assert.deepStrictEqual(
      sortRows(s.rows, 'order', 'asc'),
      s.rows.map((_, i) => i),
    );
  });

  it('filter: every word in the name or type, case-insensitive', () => {
    const s = summaryOf(DENSENET121);
    assert.strictEqual(s.rows.filter((r) => rowMatches(r, 'conv4 concat')).length, 24);
    assert.strictEqual(s.rows.filter((r) => rowMatches(r, 'CONCATENATE')).length, 58);
    assert.strictEqual(s.rows.filter((r) => rowMatches(r, '  ')).length, s.rows.length);
    assert.strictEqual(s.rows.filter((r) => rowMatches(r, 'nothing_like_this')).length, 0);
  });

  it('DenseNet-201 (700+ rows) is summarised in milliseconds', () => {
    const t0 = performance.now();
    const s = summaryOf(DENSENET201);
    sortRows(s.rows, 'params', 'desc');
    const ms = performance.now() - t0;
    assert.strictEqual(s.totals.params, 20_242_984, "Keras' DenseNet201 parameter count");
    assert.ok(s.rows.length > 700, `${s.rows.length} rows`);
    assert.ok(ms < 500, `${ms} ms`);
  });

  it('compact counts for narrow columns', () => {
    assert.deepStrictEqual([512, 9408, 118_013_952, 2_880_000_000].map(compactCount), [
      '512',
      '9.4K',
      '118.0M',
      '2.88G',
    ]);
  });
});
