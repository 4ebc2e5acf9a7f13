import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import {
  appendEvaluation,
  EVALUATIONS_FILE,
  evaluationSplits,
  evaluationsToShow,
  readEvaluations,
  runEvaluationSplits,
  trimEvaluations,
} from '../../src/runs/evaluations';
import { tempFolders } from '../support/tempFolders';

const temp = tempFolders('densenet-evaluations-');

const input = (
  kind: 'validation' | 'evaluate',
  epoch: number,
  extra: { split?: string; checkpoint?: string } = {},
) => ({
  kind,
  split: extra.split ?? 'validation',
  epoch,
  step: epoch * 10,
  loss: 0.5,
  accuracy: 0.5,
  classNames: ['a', 'b'],
  confusion: [
    [1, 1],
    [0, 2],
  ],
  ...(extra.checkpoint ? { checkpoint: extra.checkpoint } : {}),
});

describe('runs/evaluations', () => {
  after(() => temp.removeAll());

  it('appends whole lines, keeps a torn line apart, reads back only well-formed records', () => {
    const runDir = temp.make();
    const first = appendEvaluation(runDir, input('validation', 1));
    assert.strictEqual(first.examples, 4);
    assert.deepStrictEqual(first.perClass, [
      { class: 'a', precision: 1, recall: 0.5, f1: 2 / 3, support: 2 },
      { class: 'b', precision: 2 / 3, recall: 1, f1: 0.8, support: 2 },
    ]);
    const file = path.join(runDir, EVALUATIONS_FILE);
    fs.appendFileSync(file, '{"kind": "valid'); // a crash mid-write
    appendEvaluation(runDir, input('evaluate', 1, { split: 'test', checkpoint: 'checkpoints/best' }));
    fs.appendFileSync(
      file,
      [
        JSON.stringify({
          ...first,
          confusion: [
            [1, '<b>'],
            [0, 2],
          ],
        }),
        JSON.stringify({ ...first, kind: 5 }),
        JSON.stringify({ ...first, classNames: ['a'] }),
        '[]',
        '',
      ].join('\n'),
    );
    const { records, problems } = readEvaluations(runDir);
    assert.deepStrictEqual(
      records.map((r) => [r.kind, r.split, r.checkpoint]),
      [
        ['validation', 'validation', undefined],
        ['evaluate', 'test', 'checkpoints/best'],
      ],
    );
    assert.strictEqual(problems.length, 5);
    assert.match(problems[0], /line 2 is not JSON/);
    assert.match(problems[1], /"line 4\.confusion\[0\]\[1\]" must be a whole number ≥ 0, found the string "<b>"/);
    assert.match(problems[2], /"line 5\.kind" must be one of validation, evaluate/);
    assert.match(problems[3], /"line 6\.confusion" must be an array of 1 rows/);
    assert.match(problems[4], /line 7: the file must be|"line 7" must be a JSON object/);
  });

  it('trims the validations after a checkpoint (evaluate results stay) and picks what to show', () => {
    const runDir = temp.make();
    for (const e of [1, 2, 3]) appendEvaluation(runDir, input('validation', e));
    appendEvaluation(runDir, input('evaluate', 3, { split: 'test', checkpoint: 'checkpoints/best' }));
    appendEvaluation(runDir, input('evaluate', 3, { split: 'validation', checkpoint: 'checkpoints/latest' }));
    appendEvaluation(runDir, input('evaluate', 3, { split: 'test', checkpoint: 'checkpoints/best' }));
    assert.strictEqual(trimEvaluations(runDir, 1), 2);
    const { records } = readEvaluations(runDir);
    assert.deepStrictEqual(
      records.map((r) => `${r.kind}:${r.epoch}`),
      ['validation:1', 'evaluate:3', 'evaluate:3', 'evaluate:3'],
    );
    const shown = evaluationsToShow(records);
    assert.deepStrictEqual(
      shown.map((r) => `${r.kind}:${r.split}:${r.checkpoint ?? ''}`),
      ['validation:validation:', 'evaluate:test:checkpoints/best', 'evaluate:validation:checkpoints/latest'],
    );
    assert.strictEqual(shown[1], records[3], 'the last evaluate of a split and checkpoint');
    assert.strictEqual(trimEvaluations(temp.make(), 0), 0);
  });

  it('keeps the id of an evaluate, and refuses one of the wrong type', () => {
    const runDir = temp.make();
    appendEvaluation(runDir, { ...input('evaluate', 1, { split: 'test' }), id: '20261201-023000-123-test' });
    const { records, problems } = readEvaluations(runDir);
    assert.deepStrictEqual(problems, []);
    assert.strictEqual(records[0].id, '20261201-023000-123-test');
    fs.appendFileSync(path.join(runDir, EVALUATIONS_FILE), JSON.stringify({ ...records[0], id: 3 }) + '\n');
    assert.strictEqual(readEvaluations(runDir).problems.length, 1);
  });

  it('offers the test data, then the validation examples, as the spec of the run has them', () => {
    assert.deepStrictEqual(evaluationSplits({ train: 'a', test: 'b', validation: { split: 0.1 } }), [
      'test',
      'validation',
    ]);
    assert.deepStrictEqual(evaluationSplits({ train: 'a', validation: 'v' }), ['validation']);
    assert.deepStrictEqual(evaluationSplits({ train: 'a', test: 'b' }), ['test']);
    assert.deepStrictEqual(evaluationSplits({ train: 'a' }), []);
    assert.deepStrictEqual(evaluationSplits(undefined), []);
    const runDir = temp.make();
    assert.deepStrictEqual(runEvaluationSplits(runDir), [], 'no spec snapshot');
    fs.writeFileSync(
      path.join(runDir, 'spec.densenet.json'),
      '{\n  // a comment, as specs have\n  "data": { "train": "t", "test": "data/test" }\n}\n',
    );
    assert.deepStrictEqual(runEvaluationSplits(runDir), ['test']);
  });
});
