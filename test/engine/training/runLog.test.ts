import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { BatchMetrics, EpochMetrics } from '../../../src/protocol/engine';
import { readEvaluations } from '../../../src/runs/evaluations';
import { METRICS_FILE, readMetrics } from '../../../src/runs/metricsLog';
import { createRun, readRunInfo } from '../../../src/runs/runFolder';
import { tf } from '../../../src/engine/tf';
import { EpochProgress } from '../../../src/engine/training/progress';
import { RunLog, trimLogsAfterCheckpoint, type TrainObserver } from '../../../src/engine/training/runLog';

describe('engine: the run log of a training', () => {
  let dir: string;
  let previous: string;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'densenet-runlog-'));
    previous = tf.getBackend();
    await tf.setBackend('cpu'); // batch messages count the live tensors
  });
  after(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    if (previous) await tf.setBackend(previous);
  });

  it('writes every batch to metrics.jsonl, tells the observer at most every 250 ms and at the end of an epoch', () => {
    const { runDir } = createRun({ baseFolder: dir, specName: 'log', specText: '{}', epochs: 2 });
    const batches: BatchMetrics[] = [];
    const epochs: EpochMetrics[] = [];
    const infos: string[] = [];
    const obs: TrainObserver = {
      started: () => undefined,
      batch: (m) => batches.push(m),
      epochEnd: (m) => epochs.push(m),
      skipped: () => undefined,
      log: (_level, message) => infos.push(message),
    };
    let now = 10_000;
    const log = new RunLog(runDir, obs, { epochs: 2, stepsPerEpoch: 4, now: () => now });
    try {
      log.info('hello');
      log.startEpoch();
      const p = new EpochProgress(0, 0, now);
      // Batches 100 ms apart, and one 300 ms after: told are the first (nothing told yet this epoch), the
      // one 250 ms or more after the last message, and the epoch's last.
      for (const [i, dt] of [
        [1, 100],
        [2, 100],
        [3, 300],
        [4, 100],
      ]) {
        now += dt;
        const step = { loss: 1 / i, correct: i, decisions: 4 };
        p.add(step, 4);
        log.batch(p, step, 4, i, 0.1);
      }
      assert.deepStrictEqual(
        batches.map((b) => b.step),
        [1, 3, 4],
      );
      // The messages carry every batch since the previous one, exactly as metrics.jsonl has it: the live chart
      // and the one redrawn from disk plot the same per-batch values (not the epoch's running mean).
      const live = batches.flatMap((b) => b.batches);
      assert.deepStrictEqual(
        live.map((r) => r.step),
        [1, 2, 3, 4],
      );
      const written = readMetrics(path.join(runDir, METRICS_FILE)).filter((r) => r.kind === 'batch');
      assert.deepStrictEqual(
        written.map(({ kind: _kind, epoch: _epoch, time: _time, ...r }) => r),
        live,
      );
      assert.deepStrictEqual(
        live.map((r) => r.loss),
        [1, 1 / 2, 1 / 3, 1 / 4],
      );
      // images/s of a batch: its 4 images over the time since the previous batch (100, 100, 300, 100 ms).
      assert.deepStrictEqual(
        live.map((r) => r.imagesPerSec),
        [40, 40, 4 / 0.3, 40],
      );
      const last = batches[2];
      assert.strictEqual(last.stepsPerEpoch, 4);
      assert.strictEqual(last.accuracy, p.accuracy.value);
      assert.strictEqual(last.imagesPerSecond, 16 / 0.6);
      // Steps after the first took (600 - 100) / 3 ms each; 4 steps of the second epoch remain.
      assert.ok(Math.abs(last.etaSeconds - 4 * (0.5 / 3)) < 1e-9, `${last.etaSeconds}`);

      const m: EpochMetrics = {
        epoch: 1,
        epochs: 2,
        loss: p.loss.value,
        accuracy: p.accuracy.value,
        valLoss: 0.5,
        valAccuracy: 0.75,
        learningRate: 0.1,
        imagesPerSecond: 100,
        seconds: 1,
        classNames: ['a', 'b'],
        best: true,
      };
      log.epoch(m, 4, { bestValAccuracy: 0.75, bestEpoch: 1 });
      assert.deepStrictEqual(epochs, [m]);
      assert.deepStrictEqual(infos, ['hello']);
    } finally {
      log.close();
    }
    const records = readMetrics(path.join(runDir, 'metrics.jsonl'));
    assert.deepStrictEqual(
      records.map((r) => [r.kind, r.step]),
      [
        ['batch', 1],
        ['batch', 2],
        ['batch', 3],
        ['batch', 4],
        ['epoch', 4],
      ],
    );
    assert.strictEqual(records[4].val_acc, 0.75);
    const info = readRunInfo(runDir);
    assert.strictEqual(info?.epochsCompleted, 1);
    assert.strictEqual(info?.bestValAccuracy, 0.75);
    assert.strictEqual(info?.bestEpoch, 1);
    for (const stream of ['train', 'validation'])
      assert.ok(fs.readdirSync(path.join(runDir, 'tensorboard', stream)).length > 0, stream);
  });

  it('saves each validation with its confusion matrix in evaluations.jsonl; a resume drops the later ones', () => {
    const { runDir } = createRun({ baseFolder: dir, specName: 'evals', specText: '{}', epochs: 3 });
    const obs: TrainObserver = {
      started: () => undefined,
      batch: () => undefined,
      epochEnd: () => undefined,
      skipped: () => undefined,
      log: () => undefined,
    };
    const log = new RunLog(runDir, obs, { epochs: 3, stepsPerEpoch: 2 });
    const epoch = (n: number, confusion?: number[][]): EpochMetrics => ({
      epoch: n,
      epochs: 3,
      loss: 1,
      accuracy: 0.5,
      valLoss: confusion ? 0.7 : undefined,
      valAccuracy: confusion ? 0.6 : undefined,
      learningRate: 0.1,
      imagesPerSecond: 10,
      seconds: 1,
      confusion,
      classNames: ['cat', 'dog'],
      best: false,
    });
    try {
      log.epoch(
        epoch(1, [
          [3, 1],
          [0, 0],
        ]),
        2,
        {},
      );
      log.epoch(epoch(2), 4, {}); // no validation data: nothing saved
      log.epoch(
        epoch(3, [
          [2, 2],
          [0, 1],
        ]),
        6,
        {},
      );
    } finally {
      log.close();
    }
    const { records, problems } = readEvaluations(runDir);
    assert.deepStrictEqual(problems, []);
    assert.deepStrictEqual(
      records.map((r) => [r.kind, r.split, r.epoch, r.step, r.examples]),
      [
        ['validation', 'validation', 1, 2, 4],
        ['validation', 'validation', 3, 6, 5],
      ],
    );
    assert.deepStrictEqual(records[0].confusion, [
      [3, 1],
      [0, 0],
    ]);
    assert.deepStrictEqual(records[0].perClass[0], {
      class: 'cat',
      precision: 1,
      recall: 0.75,
      f1: 1.5 / 1.75,
      support: 4,
    });
    assert.deepStrictEqual(records[0].perClass[1], { class: 'dog', precision: 0, recall: null, f1: null, support: 0 });

    trimLogsAfterCheckpoint(runDir, { globalStep: 4, epoch: 2 });
    assert.deepStrictEqual(
      readEvaluations(runDir).records.map((r) => r.epoch),
      [1],
    );
  });
});
