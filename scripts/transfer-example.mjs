#!/usr/bin/env node
// The transfer-learning example, end to end with the CLI (dist/cli.js; build first): makes the data
// (scripts/make-transfer-example.mjs), trains examples/transfer/base.densenet.json on the digits 0-4, copies its
// best checkpoint to base-model/, fine-tunes finetune.densenet.json (frozen backbone) and trains
// scratch.densenet.json on the same 10 labelled images of each digit 5-9, evaluates both on the digits 5-9 test images and
// prints both accuracies.
// Usage: node scripts/transfer-example.mjs [--dir DIR] [--few 10] [--quick] [--backend wasm|cpu] [--json]
//   --few    labelled training images of each digit 5-9 (default 10; 5 with --quick)
//   --dir    where the data, base-model/ and the runs (.densenet/) go; the specs are copied there unless it is
//            examples/transfer (default)
//   --quick  fewer images and epochs (the test's setting: 300 images per digit 0-4, 2 base epochs, 5 labelled
//            images per digit 5-9, 40 test images per digit)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { makeTransferData } from './make-transfer-example.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const example = path.join(root, 'examples', 'transfer');
const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: example },
    quick: { type: 'boolean', default: false },
    backend: { type: 'string', default: 'wasm' },
    json: { type: 'boolean', default: false },
    few: { type: 'string' },
  },
});
const dir = path.resolve(values.dir);
const say = (line) => {
  if (!values.json) console.log(line);
};

/** Runs the CLI with `args`; returns its stdout lines parsed as JSON; throws with its stderr on failure. */
function cli(...args) {
  const r = spawnSync(process.execPath, [path.join(root, 'dist', 'cli.js'), ...args, '--json'], {
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
  if (r.status !== 0) throw new Error(`densenet-lab ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r.stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

/** Trains a spec of `dir`; returns its run folder and the seconds it took. */
function trainSpec(file, epochs) {
  const started = Date.now();
  const lines = cli(
    'train',
    path.join(dir, file),
    '--backend',
    values.backend,
    '--workspace',
    dir,
    ...(epochs ? ['--epochs', String(epochs)] : []),
  );
  const summary = lines.at(-1);
  if (summary.status !== 'completed') throw new Error(`${file}: training ended ${summary.status}`);
  return { runDir: summary.runDir, seconds: (Date.now() - started) / 1000 };
}

/** The test accuracy of a run's latest checkpoint. */
function testAccuracy(runDir) {
  const [r] = cli(
    'evaluate',
    path.join(runDir, 'checkpoints', 'latest'),
    '--split',
    'test',
    '--backend',
    values.backend,
  );
  return { accuracy: r.accuracy, examples: r.examples };
}

const started = Date.now();
const few = values.few !== undefined ? Number(values.few) : values.quick ? 5 : 10;
const sizes = values.quick ? { base: 300, few, test: 40 } : { base: 800, few, test: 100 };
await makeTransferData({ dir, ...sizes });
if (dir !== example) {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of ['base.densenet.json', 'finetune.densenet.json', 'scratch.densenet.json'])
    fs.copyFileSync(path.join(example, f), path.join(dir, f));
}

say(`1. digits 0-4: training ${path.join(path.relative(root, dir), 'base.densenet.json')}`);
const base = trainSpec('base.densenet.json', values.quick ? 2 : undefined);
const baseAcc = testAccuracy(base.runDir);
say(`   ${(baseAcc.accuracy * 100).toFixed(2)}% on ${baseAcc.examples} test digits 0-4 (${base.seconds.toFixed(0)} s)`);
const modelDir = path.join(dir, 'base-model');
fs.rmSync(modelDir, { recursive: true, force: true });
const best = path.join(base.runDir, 'checkpoints', 'best');
fs.cpSync(fs.existsSync(best) ? best : path.join(base.runDir, 'checkpoints', 'latest'), modelDir, { recursive: true });

say(`2. digits 5-9 from ${sizes.few} labelled images each: fine-tuning (frozen backbone) and from scratch`);
const finetune = trainSpec('finetune.densenet.json');
const finetuneAcc = testAccuracy(finetune.runDir);
const scratch = trainSpec('scratch.densenet.json');
const scratchAcc = testAccuracy(scratch.runDir);
const result = {
  baseTestAccuracy: baseAcc.accuracy,
  finetuneTestAccuracy: finetuneAcc.accuracy,
  scratchTestAccuracy: scratchAcc.accuracy,
  testExamples: finetuneAcc.examples,
  seconds: {
    base: base.seconds,
    finetune: finetune.seconds,
    scratch: scratch.seconds,
    total: (Date.now() - started) / 1000,
  },
  runs: { base: base.runDir, finetune: finetune.runDir, scratch: scratch.runDir },
};
if (values.json) console.log(JSON.stringify(result));
else {
  say(
    `   fine-tuned (frozen backbone): ${(finetuneAcc.accuracy * 100).toFixed(2)}% on ${finetuneAcc.examples} test digits 5-9 (${finetune.seconds.toFixed(0)} s)`,
  );
  say(
    `   from scratch:                 ${(scratchAcc.accuracy * 100).toFixed(2)}% on ${scratchAcc.examples} test digits 5-9 (${scratch.seconds.toFixed(0)} s)`,
  );
}
