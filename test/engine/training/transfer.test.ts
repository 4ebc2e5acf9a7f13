/**
 * The transfer-learning example end to end, as a user runs it (scripts/transfer-example.mjs with the built CLI),
 * at reduced sizes: a small DenseNet trained on MNIST digits 0-4, then the digits 5-9 from 25 labelled images
 * each, fine-tuned with a frozen backbone and trained from scratch; the fine-tune must win on the test digits,
 * and its frozen layers must be the base model's, byte for byte.
 */
import * as assert from 'assert';
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadCheckpointModel } from '../../../src/engine/checkpoint';
import { tf } from '../../../src/engine/tf';
import { readLayerWeights } from '../../../src/engine/weights';
import { readRunInfo } from '../../../src/runs/runFolder';

const root = path.resolve(__dirname, '../../../..');

interface Result {
  baseTestAccuracy: number;
  finetuneTestAccuracy: number;
  scratchTestAccuracy: number;
  testExamples: number;
  seconds: Record<string, number>;
  runs: { base: string; finetune: string; scratch: string };
}

describe('the transfer example: a frozen-backbone fine-tune beats training from scratch on few labels', function () {
  this.timeout(300_000);
  let dir: string;
  let result: Result;
  before(function () {
    if (!fs.existsSync(path.join(root, 'dist', 'cli.js')))
      execFileSync(process.execPath, [path.join(root, 'esbuild.mjs')], { cwd: root });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'densenet-transfer-'));
    const r = spawnSync(
      process.execPath,
      [path.join(root, 'scripts', 'transfer-example.mjs'), '--dir', dir, '--quick', '--json'],
      { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 },
    );
    assert.strictEqual(r.status, 0, r.stderr);
    result = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Result;
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the fine-tuned model is more accurate on the test digits 5-9 than the same model from scratch', () => {
    const { finetuneTestAccuracy: ft, scratchTestAccuracy: scratch, testExamples } = result;
    assert.strictEqual(testExamples, 200);
    assert.ok(result.baseTestAccuracy > 0.8, `the base model learned the digits 0-4: ${result.baseTestAccuracy}`);
    assert.ok(ft > scratch, `fine-tuned ${ft} vs from scratch ${scratch}`);
  });

  it("the fine-tune's frozen layers (batch-norm statistics included) are the base model's, byte for byte", async () => {
    await tf.setBackend('cpu');
    const base = await loadCheckpointModel(path.join(dir, 'base-model', 'model.json'));
    const tuned = await loadCheckpointModel(path.join(result.runs.finetune, 'checkpoints', 'latest', 'model.json'));
    try {
      const a = readLayerWeights(base);
      const b = readLayerWeights(tuned);
      let compared = 0;
      for (const [name, ts] of a) {
        if (name === 'predictions') continue;
        ts.forEach((t, i) => {
          assert.ok(Buffer.from(t.values.buffer).equals(Buffer.from(b.get(name)![i].values.buffer)), `${name}[${i}]`);
          compared++;
        });
      }
      assert.ok(compared > 50, `${compared} tensors compared`);
      assert.strictEqual(readRunInfo(result.runs.finetune)?.initialWeights?.ref, 'base-model');
    } finally {
      base.dispose();
      tuned.dispose();
    }
  });
});
