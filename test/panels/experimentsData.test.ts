import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import {
  allRuns,
  ExperimentReader,
  findOnPath,
  folderRuns,
  readCurves,
  shellQuote,
  snapshotParams,
  tensorboardCommand,
} from '../../src/panels/experimentsData';
import { appendEvaluation } from '../../src/runs/evaluations';
import { MetricsWriter } from '../../src/runs/metricsLog';
import {
  createRun,
  finishRun,
  listRuns,
  readRunInfoChecked,
  runsDirFor,
  setRunLabels,
  updateRunInfo,
} from '../../src/runs/runFolder';
import { tempFolders } from '../support/tempFolders';

const temp = tempFolders('densenet-experiments-');

const spec = (name: string, training: object) =>
  JSON.stringify({
    version: 1,
    name,
    input: { height: 28, width: 28, channels: 1 },
    classes: 3,
    model: { growthRate: 4, blockConfig: [2, 2], bnSize: 2, compression: 0.5, numInitFeatures: 8 },
    data: { train: 'data/train', validation: { split: 0.2 } },
    training,
  });

/** A finished run with two epochs of metrics written by the run store's own writers. */
function makeRun(base: string, specFile: string, name: string, training: object, start: Date): string {
  const { runDir } = createRun({
    baseFolder: base,
    specName: name,
    specText: spec(name, training),
    epochs: 2,
    specFile,
    now: start,
  });
  const w = new MetricsWriter(path.join(runDir, 'metrics.jsonl'));
  const t0 = start.getTime();
  for (let step = 1; step <= 4; step++) {
    w.append({ kind: 'batch', epoch: step <= 2 ? 1 : 2, step, loss: 2 / step, acc: step / 5, time: t0 + step * 1000 });
    if (step % 2 === 0)
      w.append({
        kind: 'epoch',
        epoch: step / 2,
        step,
        loss: 1 / step,
        acc: step / 5,
        val_loss: 1.5 / step,
        val_acc: step === 2 ? 0.8 : 0.6,
        time: t0 + step * 1000 + 10,
      });
  }
  w.close();
  finishRun(runDir, 'completed', {
    epochsCompleted: 2,
    bestValAccuracy: 0.8,
    bestEpoch: 1,
    endedAt: new Date(t0 + 5000).toISOString(),
  });
  return runDir;
}

describe('panels/experimentsData', () => {
  after(() => temp.removeAll());

  it('reads each run as a row: snapshot hyperparameters with defaults, metrics, duration, evaluation', () => {
    const base = temp.make();
    const a = makeRun(
      base,
      path.join(base, 'digits', 'a.densenet.json'),
      'a',
      { optimizer: 'adam', learningRate: 0.01 },
      new Date('2026-01-01T00:00:00Z'),
    );
    appendEvaluation(a, {
      kind: 'evaluate',
      split: 'test',
      loss: 0.5,
      accuracy: 0.75,
      classNames: ['0', '1'],
      confusion: [
        [3, 1],
        [0, 0],
      ],
    });
    const row = new ExperimentReader().row(listRuns(runsDirFor(base, 'a'))[0], Date.now());
    assert.strictEqual(row.name, row.runId);
    assert.strictEqual(row.spec, 'a');
    assert.strictEqual(row.durationSec, 5);
    assert.strictEqual(row.epochsDone, 2);
    assert.strictEqual(row.params['training.optimizer'], 'adam');
    assert.strictEqual(row.params['training.learningRate'], 0.01);
    assert.strictEqual(row.params['training.batchSize'], 32, 'the default batch size');
    assert.ok(row.defaulted.includes('training.batchSize') && !row.defaulted.includes('training.optimizer'));
    assert.strictEqual(row.params['model.depth'], 2 * 4 + 1 + 2);
    assert.deepStrictEqual(row.metrics, {
      trainLoss: 0.25,
      trainAcc: 0.8,
      valLoss: 0.375,
      valAcc: 0.6,
      bestValAcc: 0.8,
      bestEpoch: 1,
      evalAcc: 0.75,
      evalSplit: 'test',
    });
    assert.strictEqual(row.problems, undefined);
    // `--epochs` overrides the snapshot's epochs: the row shows what the run was started for.
    updateRunInfo(a, { epochs: 7 });
    const overridden = new ExperimentReader().row(listRuns(runsDirFor(base, 'a'))[0], Date.now());
    assert.strictEqual(overridden.params['training.epochs'], 7);
    assert.ok(!overridden.defaulted.includes('training.epochs'));
  });

  it('reads hyperparameters from the snapshot, never the current spec; a missing snapshot is named', () => {
    const base = temp.make();
    const specFile = path.join(base, 'a.densenet.json');
    fs.writeFileSync(specFile, spec('a', { optimizer: 'sgd', learningRate: 0.5 }));
    const dir = makeRun(base, specFile, 'a', { optimizer: 'adam' }, new Date('2026-01-01T00:00:00Z'));
    const reader = new ExperimentReader();
    assert.strictEqual(reader.row(listRuns(path.dirname(dir))[0], 0).params['training.optimizer'], 'adam');
    fs.rmSync(path.join(dir, 'spec.densenet.json'));
    const row = reader.row(listRuns(path.dirname(dir))[0], 0);
    assert.deepStrictEqual(row.params, { 'training.epochs': 2 }, 'only the epochs run.json records');
    assert.match(row.problems?.join('\n') ?? '', /spec\.densenet\.json: missing/);
  });

  it('lists the runs of the specs of a folder: by the spec file the run names', () => {
    const base = temp.make();
    const t = new Date('2026-01-01T00:00:00Z');
    makeRun(base, path.join(base, 'one', 'a.densenet.json'), 'a', {}, t);
    makeRun(base, path.join(base, 'one', 'deep', 'b.densenet.json'), 'b', {}, t);
    makeRun(base, path.join(base, 'two', 'c.densenet.json'), 'c', {}, t);
    assert.strictEqual(allRuns(base).length, 3);
    assert.deepStrictEqual(
      folderRuns(base, path.join(base, 'one'))
        .map((r) => r.specName)
        .sort(),
      ['a', 'b'],
    );
    assert.deepStrictEqual(folderRuns(base, path.join(base, 'one-more')), []);
    assert.strictEqual(folderRuns(base, base).length, 3);
    assert.deepStrictEqual(allRuns(path.join(base, 'nothing')), []);
  });

  it('keeps a display name and notes in run.json; every reader tolerates them, a wrong one is named', () => {
    const base = temp.make();
    const dir = makeRun(base, path.join(base, 'a.densenet.json'), 'a', {}, new Date('2026-01-01T00:00:00Z'));
    const before = fs.readFileSync(path.join(dir, 'run.json'), 'utf8');
    setRunLabels(dir, { displayName: '  lr 0.01 ', notes: 'first "try", <b>bold</b>\nsecond line' });
    const info = readRunInfoChecked(dir)!;
    assert.strictEqual(info.displayName, 'lr 0.01');
    assert.strictEqual(info.notes, 'first "try", <b>bold</b>\nsecond line');
    assert.strictEqual(info.updatedAt, JSON.parse(before).updatedAt, 'labels are not progress');
    assert.strictEqual(path.basename(dir), info.runId, 'the folder keeps its id');
    // The engine's read-modify-write keeps them.
    updateRunInfo(dir, { epochsCompleted: 2 });
    assert.strictEqual(readRunInfoChecked(dir)!.notes, info.notes);
    const row = new ExperimentReader().row(listRuns(path.dirname(dir))[0], 0);
    assert.strictEqual(row.name, 'lr 0.01');
    assert.strictEqual(row.notes, info.notes);
    setRunLabels(dir, { displayName: '' });
    assert.strictEqual(readRunInfoChecked(dir)!.displayName, undefined, 'an empty name removes it');
    assert.throws(() => setRunLabels(dir, { displayName: 'x'.repeat(201) }), /too long/);
    // Hand-edited labels of the wrong type: the listing drops and names them; the engine still updates the run.
    const raw = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
    fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify({ ...raw, displayName: 5, notes: ['x'] }));
    const listing = listRuns(path.dirname(dir))[0];
    assert.strictEqual(listing.displayName, undefined);
    assert.strictEqual(listing.notes, undefined);
    assert.match(listing.problems!.join('\n'), /"displayName" must be a string, found number 5/);
    assert.doesNotThrow(() => updateRunInfo(dir, { epochsCompleted: 2 }));
    assert.throws(() => setRunLabels(path.join(base, 'none'), { notes: 'x' }), /must be a JSON object, found nothing/);
  });

  it('reads curves with seconds since the first record, batches and epochs in step order', () => {
    const base = temp.make();
    const dir = makeRun(base, path.join(base, 'a.densenet.json'), 'a', {}, new Date('2026-01-01T00:00:00Z'));
    const points = readCurves(dir);
    assert.deepStrictEqual(
      points.map((p) => `${p.kind}:${p.step}:${p.t}`),
      ['batch:1:0', 'batch:2:1', 'epoch:2:1.01', 'batch:3:2', 'batch:4:3', 'epoch:4:3.01'],
    );
    assert.strictEqual(points[2].valAcc, 0.8);
    assert.deepStrictEqual(readCurves(path.join(base, 'nothing')), []);
  });

  it('resolves a preset snapshot and an invalid training section without failing', () => {
    const preset = snapshotParams(JSON.stringify({ version: 1, name: 'p', model: { preset: 'densenet121' } }));
    assert.strictEqual(preset.params['model.growthRate'], 32);
    assert.strictEqual(preset.params['model.depth'], 121);
    const bad = snapshotParams('{"version": 1, "name": "x", "training": {"epochs": "many"}}');
    assert.strictEqual(bad.params['training.epochs'], 'many');
    assert.ok(!bad.defaulted.some((k) => k.startsWith('training.')));
  });

  it('finds an executable on PATH and quotes the TensorBoard command', () => {
    const dir = temp.make();
    const exe = path.join(dir, 'tensorboard');
    fs.writeFileSync(exe, '#!/bin/sh\n');
    fs.chmodSync(exe, 0o755);
    fs.writeFileSync(path.join(dir, 'notexec'), '');
    assert.strictEqual(findOnPath('tensorboard', { PATH: `/nonexistent${path.delimiter}${dir}` }), exe);
    if (process.platform !== 'win32')
      assert.strictEqual(findOnPath('notexec', { PATH: dir }), undefined, 'not executable');
    assert.strictEqual(findOnPath('tensorboard', { PATH: '' }), undefined);
    assert.strictEqual(shellQuote('/a/b', 'linux'), '/a/b');
    assert.strictEqual(shellQuote("/it's here", 'linux'), `'/it'\\''s here'`);
    assert.strictEqual(shellQuote('C:\\My Runs', 'win32'), '"C:\\My Runs"');
    assert.strictEqual(tensorboardCommand('/w/.densenet/runs'), 'tensorboard --logdir /w/.densenet/runs');
  });
});
