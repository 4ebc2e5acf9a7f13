import * as assert from 'assert';
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { evaluateCommand, predictCommand } from '../../../src/engine/cli';
import { tf } from '../../../src/engine/tf';
import { train, type TrainObserver } from '../../../src/engine/training/train';
import { readMetrics } from '../../../src/runs/metricsLog';
import { readRunInfo } from '../../../src/runs/runFolder';
import { LOCK_FILE, processStartTime } from '../../../src/runs/runLock';
import { readRunSplit } from '../../../src/runs/runSplit';
import { barsSpec, makeDataset } from '../../support/barsDataset';
import { maxAbsDiff } from '../../support/inference';

/** A spec without training.seed: every run draws its own. */
const SPEC = JSON.stringify(barsSpec('seedless'));

const quiet: TrainObserver = {
  started: () => undefined,
  batch: () => undefined,
  epochEnd: () => undefined,
  skipped: () => undefined,
  log: () => undefined,
};

describe('engine: a run is the truth (seed, split, preprocessing, one writer)', function () {
  this.timeout(120_000);
  let dir: string;
  let specPath: string;
  before(async () => {
    await tf.setBackend('cpu');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'densenet-record-'));
    await makeDataset(dir, 16);
    specPath = path.join(dir, 'seedless.densenet.json');
    fs.writeFileSync(specPath, SPEC);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const trainRun = (resumeRunDir?: string, epochs?: number) =>
    train({ specPath, specText: SPEC, workspaceDir: dir, resumeRunDir, epochs }, quiet, { cancelled: false });

  let runDir: string;
  it('a seedless run resumed twice keeps its split and preprocessing byte for byte', async () => {
    const first = await trainRun();
    runDir = first.runDir;
    const files = ['split.json', 'preprocessing.json'];
    const bytes = () => files.map((f) => fs.readFileSync(path.join(runDir, f)));
    const before = bytes();
    const split = readRunSplit(runDir)!;
    assert.strictEqual(split.drawn, true);
    assert.strictEqual(split.heldOut?.indices.length, 12);
    assert.strictEqual(split.heldOut?.examples, 48);
    for (const epochs of [2, 3]) {
      const r = await trainRun(runDir, epochs);
      assert.strictEqual(r.status, 'completed');
      assert.strictEqual(r.runDir, runDir);
      assert.deepStrictEqual(bytes(), before, `after the resume to ${epochs} epochs`);
    }
    assert.ok(!fs.existsSync(path.join(runDir, LOCK_FILE)), 'the lock is released');
    assert.ok(!fs.existsSync(path.join(runDir, '.write-probe')), 'the writability probe leaves nothing');
    assert.strictEqual(readMetrics(path.join(runDir, 'metrics.jsonl')).filter((m) => m.kind === 'epoch').length, 3);
  });

  it('evaluate on the run scores exactly its validation examples: the last validation accuracy, reproduced', async () => {
    const lastEpoch = readMetrics(path.join(runDir, 'metrics.jsonl'))
      .filter((m) => m.kind === 'epoch')
      .at(-1)!;
    const out: string[] = [];
    const code = await evaluateCommand(
      [path.join(runDir, 'checkpoints', 'latest'), '--backend', 'cpu', '--threads', '1', '--json'],
      (s) => out.push(s),
      () => undefined,
    );
    assert.strictEqual(code, 0);
    const r = JSON.parse(out[0]) as {
      split: string;
      examples: number;
      accuracy: number;
      loss: number;
      splitDescription: string;
    };
    assert.strictEqual(r.split, 'validation');
    assert.strictEqual(r.examples, 12);
    assert.strictEqual(r.accuracy, lastEpoch.val_acc);
    // The accuracy alone could agree by chance on other examples; the mean loss of other examples would not.
    assert.ok(Math.abs(r.loss - (lastEpoch.val_loss as number)) < 1e-5, `loss ${r.loss} vs ${lastEpoch.val_loss}`);
    assert.match(r.splitDescription, /the run's split: 12 of 48 training examples held out/);

    const text: string[] = [];
    await evaluateCommand(
      [runDir, '--backend', 'cpu', '--threads', '1'],
      (s) => text.push(s),
      () => undefined,
    );
    assert.match(text[0], /^validation \(the run's split: 12 of 48 .*\): 12 images · loss [\d.]+ · accuracy/);
    await assert.rejects(
      evaluateCommand(
        [runDir, '--backend', 'cpu', '--split', 'test'],
        () => undefined,
        () => undefined,
      ),
      /has no data\.test to evaluate on/,
    );
  });

  it('predict and evaluate run on the --inference engine, say which, and agree between ONNX Runtime and tfjs', async () => {
    const images = [0, 1].map((c) => path.join(dir, 'train', `class${c}`, '0.png'));
    const outputs = [];
    for (const inference of ['onnxruntime', 'tfjs']) {
      const out: string[] = [];
      const err: string[] = [];
      const cli = (command: typeof evaluateCommand, args: string[]) =>
        command(
          [...args, '--backend', 'cpu', '--inference', inference, '--json'],
          (s) => out.push(s),
          (s) => err.push(s),
        );
      assert.strictEqual(await cli(predictCommand, [runDir, ...images]), 0);
      assert.strictEqual(await cli(evaluateCommand, [runDir, '--threads', '1']), 0);
      const engine = inference === 'tfjs' ? 'inference on tfjs' : 'inference on ONNX Runtime';
      assert.strictEqual(err.filter((line) => line.startsWith(engine)).length, 2, err.join('\n'));
      const predicted = JSON.parse(out[0]) as {
        predictions: { index: number; probability: number; logit: number }[];
      }[];
      const evaluated = JSON.parse(out[1]) as {
        accuracy: number;
        loss: number;
        confusion: number[][];
        inference: string;
      };
      assert.strictEqual(evaluated.inference, inference);
      outputs.push({ predicted, evaluated });
    }
    const [ort, tfjs] = outputs;
    assert.deepStrictEqual(ort.evaluated.confusion, tfjs.evaluated.confusion);
    assert.strictEqual(ort.evaluated.accuracy, tfjs.evaluated.accuracy);
    assert.ok(Math.abs(ort.evaluated.loss - tfjs.evaluated.loss) < 1e-5);
    const values = (r: typeof ort.predicted) =>
      r.flatMap((x) => x.predictions.flatMap((p) => [p.index, p.logit, p.probability]));
    assert.ok(maxAbsDiff(values(ort.predicted), values(tfjs.predicted)) < 1e-4);
    assert.deepStrictEqual(
      ort.predicted.map((x) => x.predictions.map((p) => p.index)),
      tfjs.predicted.map((x) => x.predictions.map((p) => p.index)),
    );
    await assert.rejects(
      predictCommand(
        [runDir, images[0], '--inference', 'onnx'],
        () => undefined,
        () => undefined,
      ),
      /--inference must be one of auto, onnxruntime, tfjs \(got "onnx"\)/,
    );
  });

  it('refuses to evaluate or resume on other data than the split was drawn from', async () => {
    const extra = path.join(dir, 'train', 'class0', 'extra.png');
    fs.copyFileSync(path.join(dir, 'train', 'class0', '0.png'), extra);
    try {
      await assert.rejects(
        evaluateCommand(
          [runDir, '--backend', 'cpu', '--threads', '1'],
          () => undefined,
          () => undefined,
        ),
        /is not the one this run's validation split was drawn from \(48 examples then, 49 now/,
      );
      await assert.rejects(trainRun(runDir, 4), /validation split was drawn from/);
      assert.ok(!fs.existsSync(path.join(runDir, LOCK_FILE)), 'a refused resume releases the lock');
    } finally {
      fs.rmSync(extra);
    }
  });

  it('a second writer is refused, naming the holder; the run is untouched', async () => {
    let holder: ChildProcess | undefined;
    try {
      holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
      const pid = holder.pid as number;
      const lock = { pid, startTime: processStartTime(pid), host: os.hostname(), since: '2026-11-30T12:00:00.000Z' };
      fs.writeFileSync(path.join(runDir, LOCK_FILE), JSON.stringify(lock));
      const before = fs.readFileSync(path.join(runDir, 'run.json'), 'utf8');
      await assert.rejects(trainRun(runDir, 5), new RegExp(`being trained by process ${pid} \\(since 2026-11-30T12`));
      assert.strictEqual(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'), before);
    } finally {
      holder?.kill();
      fs.rmSync(path.join(runDir, LOCK_FILE), { force: true });
    }
    assert.strictEqual(readRunInfo(runDir)?.status, 'completed');
  });
});
