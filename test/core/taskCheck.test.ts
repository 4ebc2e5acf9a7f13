import * as assert from 'assert';
import { type SpecDiagnostic, validateSpec } from '../../src/core';

// The training section against the task: one loss weight per class or label, and an early stopping monitor that
// the task has and that validation data can feed.

const spec = (task: string, training: Record<string, unknown>, data: Record<string, unknown> = {}) =>
  JSON.stringify(
    {
      version: 1,
      name: 't',
      task,
      input: { height: 32, width: 32, channels: 1 },
      classes: 4,
      model:
        task === 'segmentation'
          ? {
              blockConfig: [2, 2],
              bottleneckLayers: 2,
              growthRate: 4,
              numInitFeatures: 8,
              stem: { kernelSize: 3, stride: 1, pool: 'none', norm: false },
            }
          : { blockConfig: [2, 2], growthRate: 4, numInitFeatures: 8 },
      data,
      training,
    },
    null,
    2,
  );

const errors = (text: string): SpecDiagnostic[] => validateSpec(text).diagnostics.filter((d) => d.severity === 'error');

describe('training settings against the task', () => {
  const withValidation = { validation: { split: 0.1 } };

  it('val_mean_auroc is watched only by a multi-label task, val_mean_iou by a segmentation one', () => {
    const ok = [
      spec('multilabel', { earlyStopping: { monitor: 'val_mean_auroc' } }, withValidation),
      spec('segmentation', { earlyStopping: { monitor: 'val_mean_iou', patience: 3 } }, withValidation),
      spec('classification', { earlyStopping: { monitor: 'val_accuracy' } }, withValidation),
    ];
    for (const text of ok) assert.deepStrictEqual(errors(text), [], text);

    const wrong = errors(spec('segmentation', { earlyStopping: { monitor: 'val_mean_auroc' } }, withValidation));
    assert.strictEqual(wrong.length, 1);
    assert.strictEqual(wrong[0].code, 'monitor-task');
    assert.strictEqual(
      wrong[0].message,
      "val_mean_auroc is a figure of a multilabel task and this spec's task is segmentation: watch val_loss or val_accuracy (or val_mean_iou) instead.",
    );
    assert.deepStrictEqual(
      wrong[0].fixes?.map((f) => f.title),
      ['Set monitor to "val_loss"', 'Set monitor to "val_mean_iou"'],
    );
    const cls = errors(spec('classification', { earlyStopping: { monitor: 'val_mean_iou' } }, withValidation));
    assert.deepStrictEqual(
      cls.map((d) => d.code),
      ['monitor-task'],
    );
  });

  it('a validation figure without validation data is an error (the run would stop after `patience` epochs)', () => {
    const given = errors(spec('classification', { earlyStopping: { monitor: 'val_accuracy', patience: 2 } }));
    assert.deepStrictEqual(
      given.map((d) => d.code),
      ['monitor-needs-validation'],
    );
    assert.match(given[0].message, /add "validation": \{ "split": 0\.1 \} to data, or watch loss or accuracy/);
    assert.deepStrictEqual(
      given[0].fixes?.map((f) => f.title),
      ['Set monitor to "loss"', 'Set monitor to "accuracy"'],
    );
    // The default monitor is val_loss: the diagnostic is on earlyStopping, with no fix that would replace it.
    const byDefault = errors(spec('multilabel', { earlyStopping: { patience: 2 } }));
    assert.deepStrictEqual(
      byDefault.map((d) => d.code),
      ['monitor-needs-validation'],
    );
    assert.strictEqual(byDefault[0].fixes, undefined);
    assert.deepStrictEqual(errors(spec('multilabel', { earlyStopping: { monitor: 'loss' } })), []);
  });

  it('lossWeights has one weight per class, or per label', () => {
    const [d] = errors(spec('multilabel', { lossWeights: [1, 2] }));
    assert.strictEqual(d.code, 'lossWeights-length');
    assert.match(d.message, /^lossWeights has 2 weight\(s\) but the model has 4 labels: give one weight per label/);
    assert.deepStrictEqual(errors(spec('multilabel', { lossWeights: [1, 2, 1, 1] })), []);
  });
});
