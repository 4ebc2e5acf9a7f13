// The examples, headless, as CI runs them: trains each on the WASM backend with the CLI and checks its best
// checkpoint on its test data against its target:
//   examples/mnist        test accuracy >= 98% on the 1,000 test digits
//   examples/multi-mnist  mean AUROC >= 0.98 over the 10 digit labels of its 1,000 test images
//   examples/m2nist       mean IoU >= 0.7 over its 11 classes on its 500 test images
// Each example is one test. Writes {"passed","failed"} to --results.
// Usage: node scripts/check-example.mjs [--results test-results/example.json] [--only mnist,m2nist]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { values } = parseArgs({
  options: {
    results: { type: 'string', default: 'test-results/example.json' },
    only: { type: 'string' },
  },
});
const pct = (v) => `${(v * 100).toFixed(2)}%`;

const EXAMPLES = [
  {
    name: 'mnist',
    spec: 'examples/mnist/mnist.densenet.json',
    examples: 1000,
    target: 'test accuracy >= 98%',
    score: (r) => r.accuracy,
    pass: (v) => v >= 0.98,
    show: (v) => `test accuracy ${pct(v)}`,
  },
  {
    name: 'multi-mnist',
    spec: 'examples/multi-mnist/multi-mnist.densenet.json',
    examples: 1000,
    target: 'mean AUROC >= 0.98',
    score: (r) => r.multilabel?.meanAuroc ?? NaN,
    pass: (v) => v >= 0.98,
    show: (v) => `test mean AUROC ${v.toFixed(4)}`,
    detail: (r) =>
      `mean average precision ${r.multilabel.meanAveragePrecision?.toFixed(4)}, mean F1 ${r.multilabel.meanF1?.toFixed(4)} at the thresholds tuned on validation, accuracy of the label decisions at 0.5 ${pct(r.accuracy)}`,
  },
  {
    name: 'm2nist',
    spec: 'examples/m2nist/m2nist.densenet.json',
    examples: 500,
    target: 'mean IoU >= 0.7',
    score: (r) => r.segmentation?.meanIou ?? NaN,
    pass: (v) => v >= 0.7,
    show: (v) => `test mean IoU ${pct(v)}`,
    detail: (r) =>
      `pixel accuracy ${pct(r.segmentation.pixelAccuracy)}; IoU per class: ${r.segmentation.classes.map((c) => `${c.class} ${c.iou === null ? '–' : c.iou.toFixed(3)}`).join(', ')}`,
  },
];

const cli = (...args) =>
  spawnSync(process.execPath, [path.join(root, 'dist/cli.js'), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 256 * 1024 * 1024,
  });

/** The epoch line of `train --json`: loss, the validation's headline figure, speed and time. */
function epochLine(l) {
  const figure = l.multilabel
    ? `val mean AUROC ${l.multilabel.meanAuroc?.toFixed(4)}`
    : l.segmentation
      ? `val mean IoU ${pct(l.segmentation.meanIou ?? NaN)}`
      : `val acc ${pct(l.valAccuracy)}`;
  return `  epoch ${l.epoch}/${l.epochs}: loss ${l.loss.toFixed(4)}, ${figure}, ${l.imagesPerSecond.toFixed(0)} img/s, ${l.seconds.toFixed(0)} s`;
}

function check(example) {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'densenet-example-'));
  const started = Date.now();
  console.log(`${example.name} (${example.spec}), target: ${example.target}`);
  try {
    const trained = cli(
      'train',
      path.join(root, example.spec),
      '--backend',
      'wasm',
      '--workspace',
      workspace,
      '--json',
    );
    const lines = trained.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    for (const l of lines.slice(0, -1)) console.log(epochLine(l));
    const summary = lines.at(-1);
    if (trained.status !== 0 || summary.status !== 'completed')
      throw new Error(`training ended with status ${trained.status}: ${JSON.stringify(summary)}`);
    const evaluated = cli('evaluate', summary.runDir, '--split', 'test', '--backend', 'wasm', '--json');
    if (evaluated.status !== 0) throw new Error(`evaluate failed with status ${evaluated.status}`);
    const result = JSON.parse(evaluated.stdout);
    const value = example.score(result);
    const minutes = ((Date.now() - started) / 60000).toFixed(1);
    console.log(
      `  ${example.show(value)} on ${result.examples} test images (target ${example.target}), backend ${summary.backend}, ${minutes} min (training and evaluation)`,
    );
    if (example.detail) console.log(`  ${example.detail(result)}`);
    const ok = result.examples === example.examples && example.pass(value);
    console.log(ok ? '  ✔ the example reaches the target' : '  ✘ the example misses the target');
    return ok;
  } catch (e) {
    console.log(`  ✘ ${e.stack ?? e}`);
    return false;
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

const only = values.only?.split(',');
const chosen = EXAMPLES.filter((e) => !only || only.includes(e.name));
if (chosen.length === 0) throw new Error(`--only names none of ${EXAMPLES.map((e) => e.name).join(', ')}`);
let passed = 0;
for (const example of chosen) if (check(example)) passed++;
fs.mkdirSync(path.dirname(values.results), { recursive: true });
fs.writeFileSync(values.results, JSON.stringify({ passed, failed: chosen.length - passed }));
process.exitCode = passed === chosen.length ? 0 : 1;
