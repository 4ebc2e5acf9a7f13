import * as assert from 'assert';
import {
  BENCH_ROWS,
  checkTarget,
  type Comparison,
  comparisonTargets,
  formatTarget,
  parseRows,
  speedTarget,
} from '../../src/metrics/benchRows';

const s = (median: number, min = median, max = median) => ({ median, min, max, n: min === max ? 1 : 3 });

describe('metrics/benchRows', () => {
  it('runs every row by default, the named ones in the given order otherwise, each once', () => {
    assert.deepStrictEqual(parseRows(undefined), [...BENCH_ROWS]);
    assert.deepStrictEqual(parseRows(''), ['models', 'mnist-epoch', 'frozen-head', 'onnxruntime']);
    assert.deepStrictEqual(parseRows('onnxruntime, mnist-epoch,onnxruntime'), ['onnxruntime', 'mnist-epoch']);
  });

  it('refuses an unknown row, naming it and the rows there are', () => {
    assert.throws(
      () => parseRows('models,mnist'),
      /--rows: unknown row mnist \(give some of models,mnist-epoch,frozen-head,onnxruntime\)/,
    );
  });

  it("sets the issue's speed targets relative to PyTorch", () => {
    const t = (row: Comparison['row'], engine: string, model: string, mode: string) =>
      speedTarget({ row, engine, model, mode });
    assert.strictEqual(t('onnxruntime', 'onnxruntime', 'densenet-bc-40', 'infer'), 2);
    assert.strictEqual(t('onnxruntime', 'onnxruntime', 'densenet121-64', 'infer'), 2);
    assert.strictEqual(t('mnist-epoch', 'wasm', 'mnist', 'epoch'), 0.8);
    assert.strictEqual(t('models', 'wasm', 'densenet-bc-40', 'train'), 1.0);
    assert.strictEqual(t('models', 'wasm', 'densenet121-64', 'train'), 0.5);
    assert.strictEqual(t('models', 'wasm', 'densenet-bc-40', 'infer'), undefined);
    assert.strictEqual(t('frozen-head', 'wasm', 'mnist', 'frozen-head'), undefined);
  });

  it('checks a target on the median, met or not, either way round', () => {
    assert.deepStrictEqual(checkTarget('x', s(0.9, 0.7, 1.2), '>=', 1), {
      name: 'x',
      value: 0.9,
      min: 0.7,
      max: 1.2,
      target: '>= 1',
      met: false,
    });
    assert.strictEqual(checkTarget('x', s(1.5), '<=', 1.5)?.met, true, 'the bound itself meets <=');
    assert.strictEqual(checkTarget('x', s(2), '>=', 2)?.met, true, 'the bound itself meets >=');
    assert.strictEqual(checkTarget('x', undefined, '>=', 2), undefined, 'no samples, no target');
  });

  it('holds every compared side to peak RSS within 1.5x of PyTorch, and to a speed where one is set', () => {
    const targets = comparisonTargets([
      {
        row: 'onnxruntime',
        engine: 'onnxruntime',
        model: 'densenet-bc-40',
        mode: 'infer',
        imagesPerSecond: s(2.5, 1.9, 3),
        peakRss: s(0.6),
      },
      {
        row: 'frozen-head',
        engine: 'wasm',
        model: 'mnist',
        mode: 'frozen-head',
        imagesPerSecond: s(3),
        peakRss: s(1.6),
      },
      { row: 'mnist-epoch', engine: 'wasm', model: 'mnist', mode: 'epoch', peakRss: s(1.2) },
    ]);
    assert.deepStrictEqual(
      targets.map((t) => [t.name, t.target, t.met]),
      [
        ['onnxruntime densenet-bc-40 infer images/s vs PyTorch', '>= 2', true],
        ['onnxruntime densenet-bc-40 infer peak RSS vs PyTorch', '<= 1.5', true],
        ['wasm mnist frozen-head peak RSS vs PyTorch', '<= 1.5', false],
        ['wasm mnist epoch peak RSS vs PyTorch', '<= 1.5', true],
      ],
    );
  });

  it('prints a target with its spread, or alone for one sample', () => {
    const [speed] = comparisonTargets([
      { row: 'models', engine: 'wasm', model: 'densenet-bc-40', mode: 'train', imagesPerSecond: s(0.512, 0.4, 0.61) },
    ]);
    assert.strictEqual(
      formatTarget(speed),
      '  NOT met  wasm densenet-bc-40 train images/s vs PyTorch: 0.51 (0.40–0.61; target >= 1)',
    );
    assert.strictEqual(
      formatTarget({ name: 'x', value: 1.2, min: 1.2, max: 1.2, target: '<= 1.5', met: true }),
      '  met      x: 1.20 (target <= 1.5)',
    );
  });
});
