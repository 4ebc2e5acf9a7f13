import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { EpochMetrics, TrainingFinished } from '../../../src/protocol/engine';
import { checkBuildable, validateSpec } from '../../../src/core';
import { nodeFileProbe } from '../../../src/core/nodeFs';
import { readMetrics } from '../../../src/runs/metricsLog';
import { readRunInfo } from '../../../src/runs/runFolder';
import { appendEvaluation, readEvaluations } from '../../../src/runs/evaluations';
import { eventFiles, readEventRecords, TensorBoardLogger } from '../../../src/runs/tensorboard';
import { tf } from '../../../src/engine/tf';
import { train, type TrainControl, type TrainObserver } from '../../../src/engine/training/train';
import { makeDataset } from '../../support/barsDataset';

const SPEC = (extra: Record<string, unknown> = {}) =>
  JSON.stringify(
    {
      version: 1,
      name: 'tiny',
      input: { height: 8, width: 8, channels: 1 },
      classes: 3,
      model: {
        growthRate: 4,
        blockConfig: [2, 2],
        bnSize: 2,
        compression: 0.5,
        numInitFeatures: 8,
        stem: { kernelSize: 3, stride: 1, pool: 'none', norm: false },
      },
      data: { train: 'train', validation: { split: 0.25 } },
      training: { epochs: 5, batchSize: 8, optimizer: 'sgd', learningRate: 0.05, seed: 11, ...extra },
    },
    null,
    2,
  );

interface Recorded {
  epochs: EpochMetrics[];
  tensorsAtEpochEnd: number[];
  skipped: string[];
  /** The global step of the batch notification that set `cancelled` (notifications come at most every 250 ms). */
  cancelledAt?: number;
  result: TrainingFinished;
}

async function run(
  dir: string,
  specText: string,
  opts: { resumeRunDir?: string; cancelAtStep?: number; epochs?: number } = {},
): Promise<Recorded> {
  const specPath = path.join(dir, 'tiny.densenet.json');
  fs.writeFileSync(specPath, specText);
  const control: TrainControl = { cancelled: false };
  const rec: Omit<Recorded, 'result'> = { epochs: [], tensorsAtEpochEnd: [], skipped: [] };
  const obs: TrainObserver = {
    started: () => undefined,
    batch: (m) => {
      if (opts.cancelAtStep !== undefined && m.globalStep >= opts.cancelAtStep && !control.cancelled) {
        control.cancelled = true;
        rec.cancelledAt = m.globalStep;
      }
    },
    epochEnd: (m) => {
      rec.epochs.push(m);
      rec.tensorsAtEpochEnd.push(tf.memory().numTensors);
    },
    skipped: (file) => rec.skipped.push(file),
    log: () => undefined,
  };
  const result = await train(
    { specPath, specText, workspaceDir: dir, resumeRunDir: opts.resumeRunDir, epochs: opts.epochs },
    obs,
    control,
  );
  return { ...rec, result };
}

describe('engine: training', function () {
  this.timeout(180_000);
  let dir: string;
  before(async () => {
    await tf.setBackend('cpu');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'densenet-train-'));
    await makeDataset(dir, 16);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('learns, keeps the tensor count flat over 5 epochs, and writes the run to disk', async () => {
    const r = await run(dir, SPEC());
    assert.strictEqual(r.result.status, 'completed');
    assert.strictEqual(r.epochs.length, 5);
    assert.ok(new Set(r.tensorsAtEpochEnd).size === 1, `tensors at epoch ends: ${r.tensorsAtEpochEnd.join(', ')}`);
    assert.ok(r.epochs[4].loss < r.epochs[0].loss, `loss falls: ${r.epochs.map((e) => e.loss.toFixed(3)).join(' ')}`);
    assert.ok((r.result.bestValAccuracy ?? 0) >= 0.9, `val accuracy ${r.result.bestValAccuracy}`);
    const confusion = r.epochs[4].confusion!;
    assert.strictEqual(
      confusion.flat().reduce((a, b) => a + b, 0),
      12,
      'confusion counts every validation image',
    );

    const runDir = r.result.runDir;
    assert.ok(runDir.startsWith(path.join(dir, '.densenet', 'runs', 'tiny')));
    assert.strictEqual(readRunInfo(runDir)?.status, 'completed');
    for (const f of [
      'spec.densenet.json',
      'preprocessing.json',
      'metrics.jsonl',
      'checkpoints/latest/model.json',
      'checkpoints/latest/weights.bin',
      'checkpoints/best/model.json',
    ]) {
      assert.ok(fs.existsSync(path.join(runDir, f)), f);
    }
    const m = readMetrics(path.join(runDir, 'metrics.jsonl'));
    assert.strictEqual(m.filter((x) => x.kind === 'epoch').length, 5);
    assert.strictEqual(
      m.filter((x) => x.kind === 'batch').length,
      5 * 5,
      '36 training images / batch 8 = 5 steps an epoch',
    );
    const evaluations = readEvaluations(runDir).records;
    assert.deepStrictEqual(
      evaluations.map((e) => [e.kind, e.epoch, e.examples]),
      [1, 2, 3, 4, 5].map((epoch) => ['validation', epoch, 12]),
    );
    assert.deepStrictEqual(evaluations[4].confusion, confusion, 'the confusion matrix of each validation is saved');
    for (const stream of ['train', 'validation']) {
      const files = fs.readdirSync(path.join(runDir, 'tensorboard', stream));
      assert.ok(
        files.some((f) => f.startsWith('events.out.tfevents.')),
        stream,
      );
    }
  });

  it('is reproducible with a seed, and a run leaves no tensor behind', async () => {
    const a = await run(dir, SPEC({ epochs: 2 }));
    const afterFirst = tf.memory().numTensors;
    const b = await run(dir, SPEC({ epochs: 2 }));
    assert.deepStrictEqual(
      a.epochs.map((e) => e.loss),
      b.epochs.map((e) => e.loss),
    );
    assert.strictEqual(tf.memory().numTensors, afterFirst);
  });

  it('stops at a batch boundary with a checkpoint, and resume continues the same curve', async () => {
    const whole = await run(dir, SPEC({ epochs: 3 }));
    const stopped = await run(dir, SPEC({ epochs: 3 }), { cancelAtStep: 7 });
    assert.strictEqual(stopped.result.status, 'stopped');
    assert.strictEqual(readRunInfo(stopped.result.runDir)?.status, 'stopped');
    // Where it stopped: the batch after which it was asked to stop (the first notification at or after step 7; the
    // observer hears at most every 250 ms), as the epoch it was in and the batch in that epoch, in run.json.
    const stopAt = stopped.result.stoppedAt!;
    assert.ok(stopped.cancelledAt !== undefined && stopped.cancelledAt >= 7 && stopped.cancelledAt < 15);
    const stoppedStep = (stopAt.epoch - 1) * stopAt.stepsPerEpoch + stopAt.step;
    assert.strictEqual(stoppedStep, stopped.cancelledAt, JSON.stringify(stopAt));
    assert.deepStrictEqual(readRunInfo(stopped.result.runDir)?.stoppedAt, stopAt);
    // What a process killed after its checkpoint would have logged: dropped by the resume.
    const stoppedDir = stopped.result.runDir;
    appendEvaluation(stoppedDir, {
      kind: 'validation',
      split: 'validation',
      epoch: 3,
      loss: 1,
      accuracy: 0,
      classNames: ['a', 'b'],
      confusion: [
        [0, 1],
        [1, 0],
      ],
    });
    const late = new TensorBoardLogger(stoppedDir, { now: () => 0 });
    late.addScalar('train', 'batch_loss', 9, 99);
    // An epoch the stop did not complete (it stops mid-epoch, or at an epoch's end when the notice comes late).
    late.addScalar('train', 'epoch_loss', 9, stopAt.step < stopAt.stepsPerEpoch ? stopAt.epoch : stopAt.epoch + 1);
    late.close();
    const resumed = await run(dir, SPEC({ epochs: 3 }), { resumeRunDir: stopped.result.runDir });
    assert.strictEqual(resumed.result.status, 'completed');
    assert.strictEqual(resumed.result.runDir, stopped.result.runDir, 'the same run continues');
    const steps = (runDir: string) =>
      readMetrics(path.join(runDir, 'metrics.jsonl'))
        .filter((x) => x.kind === 'batch')
        .map((x) => [x.step, x.loss]);
    const a = steps(whole.result.runDir);
    const b = steps(stopped.result.runDir);
    assert.strictEqual(b.length, a.length);
    for (let i = 0; i < a.length; i++) {
      assert.strictEqual(b[i][0], a[i][0]);
      assert.ok(
        Math.abs((b[i][1] as number) - (a[i][1] as number)) < 1e-5,
        `step ${a[i][0]}: ${b[i][1]} vs ${a[i][1]}`,
      );
    }
    assert.ok(Math.abs(resumed.epochs.at(-1)!.valLoss! - whole.epochs.at(-1)!.valLoss!) < 1e-5);
    assert.deepStrictEqual(
      readEvaluations(stoppedDir).records.map((e) => e.epoch),
      [1, 2, 3],
      'one validation per epoch, the stale one dropped',
    );
    // TensorBoard: every batch step once across all event files, every epoch once.
    const events = eventFiles(stoppedDir)
      .filter((f) => f.includes(`${path.sep}train${path.sep}`))
      .flatMap((f) => readEventRecords(fs.readFileSync(f)));
    const at = (prefix: string) =>
      events
        .filter((e) => e.tags.some((t) => t.startsWith(prefix)))
        .map((e) => e.step)
        .sort((x, y) => x - y);
    assert.deepStrictEqual(at('batch_loss'), [...new Set(at('batch_loss'))], 'no batch step twice');
    assert.ok(!at('batch_loss').includes(99), 'the stale batch event is dropped');
    assert.deepStrictEqual(at('epoch_loss'), [1, 2, 3], 'each epoch once');
  });

  it('skips corrupt images, names and counts each once over 2 epochs, and trains on', async () => {
    const bad = [
      path.join(dir, 'train', 'class0', 'broken.png'),
      path.join(dir, 'train', 'class1', 'broken.png'),
      path.join(dir, 'train', 'class2', 'deep', 'broken.png'),
    ];
    fs.mkdirSync(path.dirname(bad[2]), { recursive: true });
    for (const f of bad) fs.writeFileSync(f, Buffer.from('\x89PNG\r\n\x1a\n this is not a png'));
    try {
      const r = await run(dir, SPEC({ epochs: 2 }));
      assert.strictEqual(r.result.status, 'completed');
      assert.deepStrictEqual([...r.skipped].sort(), [...bad].sort());
      assert.strictEqual(r.result.skippedFiles, 3);
    } finally {
      fs.rmSync(bad[0]);
      fs.rmSync(bad[1]);
      fs.rmSync(path.dirname(bad[2]), { recursive: true });
    }
  });

  it('refuses a class with no readable image before creating a run folder', async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'densenet-train-unreadable-'));
    try {
      await makeDataset(work, 2);
      for (const f of fs.readdirSync(path.join(work, 'train', 'class2')))
        fs.writeFileSync(path.join(work, 'train', 'class2', f), 'not a png');
      await assert.rejects(
        run(work, SPEC({ epochs: 1 })),
        /^Error: Class "class2" has no readable image: none of its 2 image\(s\) in "train\/class2" can be read/,
      );
      assert.ok(!fs.existsSync(path.join(work, '.densenet')), 'no run folder');
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  it('refuses a spec with errors before touching anything, saying what to fix', async () => {
    await assert.rejects(
      run(dir, SPEC().replace('"compression": 0.5', '"compression": 3')),
      /fix them before training:\n.*compression must be in \(0, 1\]/,
    );
  });

  it('refuses each spec the editor marks with an error, with its message, before any run folder exists', async () => {
    const runs = path.join(dir, '.densenet', 'runs');
    const before = fs.existsSync(runs) ? fs.readdirSync(runs, { recursive: true }).sort() : [];
    const trainig = SPEC().replace('"training":', '"trainig":');
    const cases: [string, RegExp][] = [
      [SPEC({ optimizer: 'adagrad' }), /training\.optimizer must be one of "sgd", "adam", "adamw", not "adagrad"/],
      [SPEC({ learningRate: -0.1 }), /training\.learningRate must be at least 0, not -0\.1/],
      [SPEC({ lrSchedul: { type: 'cosine' } }), /Unknown field "lrSchedul" in training: did you mean "lrSchedule"\?/],
      [trainig, /Unknown field "trainig" in the spec: did you mean "training"\?/],
      [SPEC({ batchSize: 0 }), /training\.batchSize must be at least 1, not 0/],
      [SPEC({ epochs: '3' }), /training\.epochs must be a whole number, not "3"/],
    ];
    const specPath = path.join(dir, 'tiny.densenet.json');
    for (const [text, message] of cases) {
      // What the editor shows: the diagnostics of the same validation, located in the file.
      const editor = checkBuildable(
        validateSpec(text, { specPath, fs: nodeFileProbe, maxTrainingMemoryBytes: Infinity }),
        'tiny.densenet.json',
      );
      assert.ok(!editor.ok, `the editor marks an error: ${text}`);
      assert.ok(
        editor.errors.some((d) => message.test(d.message)),
        JSON.stringify(editor.errors),
      );
      await assert.rejects(run(dir, text), (e: Error) => {
        assert.strictEqual(e.message, `${editor.summary}; fix them before training:\n${editor.located.join('\n')}`);
        return true;
      });
    }
    const after = fs.existsSync(runs) ? fs.readdirSync(runs, { recursive: true }).sort() : [];
    assert.deepStrictEqual(after, before, 'no run folder created');
  });

  it('refuses to resume a folder that is not a run, saying so', async () => {
    const notRun = fs.mkdtempSync(path.join(dir, 'not-a-run-'));
    await assert.rejects(
      run(dir, SPEC({ epochs: 1 }), { resumeRunDir: notRun }),
      /is not a run folder \(no run\.json\): resume takes a folder under \.densenet\/runs/,
    );
    assert.deepStrictEqual(fs.readdirSync(notRun), [], 'nothing written into it');
  });

  it('early stopping ends a run whose monitored metric stops improving', async () => {
    // With learning rate 0 only the batch-norm statistics move: val_loss changes by far less than minDelta.
    const r = await run(
      dir,
      SPEC({ epochs: 30, learningRate: 0, earlyStopping: { monitor: 'val_loss', patience: 2, minDelta: 0.5 } }),
    );
    assert.strictEqual(r.result.status, 'early-stopped');
    assert.ok(r.epochs.length <= 4, `${r.epochs.length} epochs`);
  });
});
