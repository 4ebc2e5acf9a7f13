import * as assert from 'assert';
import {
  cellValue,
  compareCells,
  csvField,
  curveX,
  densenetDepth,
  differingParams,
  type ExperimentRow,
  flattenSpec,
  paramKeys,
  sortRows,
  stepsPerEpoch,
  summarizeMetrics,
  tableColumns,
  toCsv,
  withDefaults,
  type CurvePoint,
} from '../../src/metrics/experimentTable';

function row(over: Partial<ExperimentRow> & { runDir: string }): ExperimentRow {
  return {
    runId: over.runDir,
    name: over.runDir,
    spec: 'digits',
    status: 'completed',
    startedAt: '2026-01-01T00:00:00.000Z',
    epochsDone: 2,
    epochsPlanned: 2,
    params: {},
    defaulted: [],
    metrics: {},
    ...over,
  };
}

describe('metrics/experimentTable', () => {
  it('flattens a spec into dotted keys, arrays as one cell, without version and name', () => {
    const flat = flattenSpec({
      version: 1,
      name: 'digits',
      input: { height: 28, width: 28, channels: 1 },
      model: { growthRate: 4, blockConfig: [2, 2], stem: { kernelSize: 3, pool: 'none' } },
      data: { train: 'data/train', validation: { split: 0.2 }, augment: { horizontalFlip: true } },
      training: { optimizer: 'adam', lrSchedule: { type: 'cosine', milestones: [0.5, 0.75] }, nothing: null },
      extra: { nested: [{ a: 1 }] },
    });
    assert.deepStrictEqual(flat, {
      'input.height': 28,
      'input.width': 28,
      'input.channels': 1,
      'model.growthRate': 4,
      'model.blockConfig': '[2, 2]',
      'model.stem.kernelSize': 3,
      'model.stem.pool': 'none',
      'data.train': 'data/train',
      'data.validation.split': 0.2,
      'data.augment.horizontalFlip': true,
      'training.optimizer': 'adam',
      'training.lrSchedule.type': 'cosine',
      'training.lrSchedule.milestones': '[0.5, 0.75]',
      'training.nothing': null,
      'extra.nested': '[{"a":1}]',
    });
    assert.deepStrictEqual(flattenSpec('not an object'), {});
    assert.deepStrictEqual(flattenSpec({ model: { preset: 'densenet121' }, x: ['a', 2] }), {
      'model.preset': 'densenet121',
      x: '["a", 2]',
    });
  });

  it('fills in the defaults a spec leaves out, marks them, and derives the depth', () => {
    assert.strictEqual(densenetDepth([6, 12, 24, 16], 4), 121);
    assert.strictEqual(densenetDepth([16, 16, 16], 4), 100); // DenseNet-BC-100
    assert.strictEqual(densenetDepth([12, 12, 12], 0), 40); // DenseNet (L=40)
    const params = flattenSpec({ model: { preset: 'densenet121' }, training: { learningRate: 0.05 } });
    const filled = withDefaults(params, {
      model: {
        growthRate: 32,
        blockConfig: [6, 12, 24, 16],
        bnSize: 4,
        compression: 0.5,
        numInitFeatures: 64,
        dropRate: 0,
      },
      training: {
        epochs: 10,
        batchSize: 32,
        optimizer: 'sgd',
        learningRate: 0.1,
        weightDecay: 1e-4,
        scheduleType: 'step',
        freeze: 'none',
      },
    });
    assert.strictEqual(params['training.learningRate'], 0.05, 'a written value is kept');
    assert.strictEqual(params['training.optimizer'], 'sgd');
    assert.strictEqual(params['model.blockConfig'], '[6, 12, 24, 16]');
    assert.strictEqual(params['model.depth'], 121);
    assert.ok(filled.includes('training.optimizer') && !filled.includes('training.learningRate'));
    assert.ok(!filled.includes('model.preset'));
  });

  it('orders the hyperparameters the usual ones first, then training, data, model, the rest', () => {
    const keys = paramKeys([
      row({
        runDir: 'a',
        params: { 'zz.top': 1, 'data.train': 'x', 'training.seed': 1, 'training.optimizer': 'adam' },
      }),
      row({ runDir: 'b', params: { 'model.stem.pool': 'max', 'model.growthRate': 12 } }),
    ]);
    assert.deepStrictEqual(keys, [
      'model.growthRate',
      'training.optimizer',
      'training.seed',
      'data.train',
      'model.stem.pool',
      'zz.top',
    ]);
    const cols = tableColumns(keys);
    assert.ok(cols.some((c) => c.key === 'param:training.optimizer' && c.label === 'optimizer'));
    // Name, status and progress first, then the hyperparameters and metrics, the rest of the run's record last.
    const at = (key: string) => cols.findIndex((c) => c.key === key);
    assert.deepStrictEqual(
      cols.slice(0, 3).map((c) => c.key),
      ['name', 'status', 'epochsDone'],
    );
    assert.strictEqual(at(`param:${keys[0]}`), 3);
    assert.ok(at(`param:${keys[keys.length - 1]}`) < at('metric:trainLoss'));
    assert.ok(at('metric:evalAcc') < at('spec') && at('spec') < at('notes'));
    assert.strictEqual(cols[cols.length - 1].key, 'notes');
  });

  it('finds the hyperparameters that differ, a field only some runs have included', () => {
    const rows = [
      row({ runDir: 'a', params: { lr: 0.01, opt: 'adam', blocks: '[2, 2]', flip: true } }),
      row({ runDir: 'b', params: { lr: 0.001, opt: 'adam', blocks: '[2, 2]' } }),
      row({ runDir: 'c', params: { lr: 0.01, opt: 'adam', blocks: '[2, 2]', flip: true } }),
    ];
    assert.deepStrictEqual([...differingParams(rows, ['lr', 'opt', 'blocks', 'flip'])].sort(), ['flip', 'lr']);
    assert.deepStrictEqual([...differingParams(rows.slice(0, 1), ['lr'])], [], 'one run: nothing differs');
    // 1 and "1" are different values; null and missing too.
    assert.strictEqual(
      differingParams([row({ runDir: 'x', params: { k: 1 } }), row({ runDir: 'y', params: { k: '1' } })], ['k']).size,
      1,
    );
    assert.strictEqual(
      differingParams([row({ runDir: 'x', params: { k: null } }), row({ runDir: 'y', params: {} })], ['k']).size,
      1,
    );
  });

  it('sorts numbers by value, text naturally, empty cells last in both directions', () => {
    const rows = [
      row({ runDir: 'a', name: 'run 10', params: { lr: 0.1 }, metrics: { valAcc: 0.5 } }),
      row({ runDir: 'b', name: 'run 2', params: { lr: 0.01 } }),
      row({ runDir: 'c', name: 'Run 1', params: { lr: 0.001 }, metrics: { valAcc: 0.9 } }),
    ];
    const names = (key: string, dir: 'asc' | 'desc') => sortRows(rows, key, dir).map((r) => r.runDir);
    assert.deepStrictEqual(names('name', 'asc'), ['c', 'b', 'a']);
    assert.deepStrictEqual(names('param:lr', 'asc'), ['c', 'b', 'a']);
    assert.deepStrictEqual(names('param:nothing', 'asc'), ['a', 'b', 'c'], 'all empty: the order stays');
    assert.deepStrictEqual(names('metric:valAcc', 'desc'), ['c', 'a', 'b']);
    assert.deepStrictEqual(names('metric:valAcc', 'asc'), ['a', 'c', 'b']);
    assert.ok(compareCells(2, 10) < 0 && compareCells('2', '10') < 0 && compareCells(undefined, 1) > 0);
    assert.strictEqual(cellValue(rows[0], 'metric:valAcc'), 0.5);
    assert.strictEqual(cellValue(rows[0], 'nonsense'), undefined);
  });

  it('summarises the last epoch and the best validation accuracy with its epoch', () => {
    const m = summarizeMetrics([
      { kind: 'batch', epoch: 1, step: 1, loss: 9 },
      { kind: 'epoch', epoch: 1, step: 6, loss: 1.2, acc: 0.4, val_loss: 1.1, val_acc: 0.5 },
      { kind: 'epoch', epoch: 2, step: 12, loss: 0.9, acc: 0.6, val_loss: 1.0, val_acc: 0.7 },
      { kind: 'epoch', epoch: 3, step: 18, loss: 0.8, acc: 0.65, val_loss: 1.3, val_acc: 0.6 },
      { kind: 'epoch', epoch: 'x', val_acc: 0.99 },
    ]);
    assert.deepStrictEqual(m, {
      trainLoss: 0.8,
      trainAcc: 0.65,
      valLoss: 1.3,
      valAcc: 0.6,
      bestValAcc: 0.7,
      bestEpoch: 2,
    });
    assert.deepStrictEqual(summarizeMetrics([{ kind: 'epoch', epoch: 1, loss: 1 }]), { trainLoss: 1 });
  });

  it("a segmentation run's best epoch is that of its best mean IoU (its best checkpoint), not of its pixel accuracy", () => {
    const m = summarizeMetrics([
      { kind: 'epoch', epoch: 1, loss: 1, val_acc: 0.95, val_mean_iou: 0.4 },
      { kind: 'epoch', epoch: 2, loss: 0.9, val_acc: 0.97, val_mean_iou: 0.35 },
      { kind: 'epoch', epoch: 3, loss: 0.8, val_acc: 0.96, val_mean_iou: 0.3 },
    ]);
    assert.deepStrictEqual([m.bestValAcc, m.bestEpoch, m.valMeanIou], [0.97, 1, 0.3]);
  });

  it("shows a task's validation figure (mean AUROC, mean IoU) only when a run has it", () => {
    const seg = summarizeMetrics([
      { kind: 'epoch', epoch: 1, loss: 0.5, acc: 0.9, val_acc: 0.95, val_mean_iou: 0.4 },
      { kind: 'epoch', epoch: 2, loss: 0.3, acc: 0.97, val_acc: 0.98, val_mean_iou: 0.72 },
    ]);
    assert.strictEqual(seg.valMeanIou, 0.72);
    assert.strictEqual(seg.valMeanAuroc, undefined);
    const labels = summarizeMetrics([{ kind: 'epoch', epoch: 1, loss: 0.2, val_mean_auroc: 0.991 }]);
    assert.strictEqual(labels.valMeanAuroc, 0.991);
    const keys = (rows: { metrics: typeof seg }[]) => tableColumns([], rows).map((c) => c.key);
    assert.ok(!keys([{ metrics: { valAcc: 0.9 } }]).includes('metric:valMeanIou'), 'no empty task columns');
    assert.ok(!keys([]).includes('metric:valMeanAuroc'));
    assert.ok(keys([{ metrics: seg }, { metrics: {} }]).includes('metric:valMeanIou'));
    assert.ok(!keys([{ metrics: seg }]).includes('metric:valMeanAuroc'));
    assert.ok(keys([{ metrics: labels }]).includes('metric:valMeanAuroc'));
  });

  it('puts a point on the step, epoch (batches at their fraction) or wall-time axis', () => {
    const points: CurvePoint[] = [
      { kind: 'batch', epoch: 1, step: 3, t: 0.5, loss: 1 },
      { kind: 'epoch', epoch: 1, step: 6, t: 1, loss: 1 },
      { kind: 'batch', epoch: 2, step: 9, t: 1.5, loss: 1 },
    ];
    const per = stepsPerEpoch(points);
    assert.strictEqual(per, 6);
    assert.deepStrictEqual(
      points.map((p) => curveX(p, 'epoch', per)),
      [0.5, 1, 1.5],
    );
    assert.deepStrictEqual(
      points.map((p) => curveX(p, 'step', per)),
      [3, 6, 9],
    );
    assert.deepStrictEqual(
      points.map((p) => curveX(p, 'time', per)),
      [0.5, 1, 1.5],
    );
    assert.strictEqual(curveX(points[0], 'epoch', undefined), 1, 'no epoch end yet: the batch at its epoch');
  });

  it('quotes CSV fields (RFC 4180) and defuses spreadsheet formulas', () => {
    assert.strictEqual(csvField('plain'), 'plain');
    assert.strictEqual(csvField('a,b'), '"a,b"');
    assert.strictEqual(csvField('say "hi"'), '"say ""hi"""');
    assert.strictEqual(csvField('two\nlines'), '"two\nlines"');
    assert.strictEqual(csvField('=SUM(A1)'), "'=SUM(A1)");
    assert.strictEqual(csvField('-1+2, x'), `"'-1+2, x"`);
    assert.strictEqual(csvField(-0.5), '-0.5', 'a number is a number');
    assert.strictEqual(csvField(1e-7), '1e-7');
    assert.strictEqual(csvField(null), '');
    assert.strictEqual(csvField(undefined), '');
    assert.strictEqual(csvField(true), 'true');
    const rows = [
      row({
        runDir: 'a',
        name: 'lr, high',
        notes: 'first "try"\nfine',
        params: { 'training.learningRate': 0.01 },
        metrics: { valAcc: 0.5 },
        durationSec: 12.5,
      }),
    ];
    const cols = tableColumns(['training.learningRate']).filter((c) =>
      ['name', 'notes', 'durationSec', 'param:training.learningRate', 'metric:valAcc'].includes(c.key),
    );
    assert.strictEqual(
      toCsv(cols, rows),
      'run,training.learningRate,val acc,duration,notes\r\n"lr, high",0.01,0.5,12.5,"first ""try""\nfine"\r\n',
    );
  });
});
