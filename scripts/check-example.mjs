// The MNIST example, headless, as CI runs it: trains examples/mnist on the WASM backend with the CLI and checks
// that the best checkpoint reaches >= 98% accuracy on the 1,000 test digits. Writes {"passed","failed"} to
// --results. Usage: node scripts/check-example.mjs [--results test-results/example.json]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { values } = parseArgs({ options: { results: { type: 'string', default: 'test-results/example.json' } } });
const TARGET = 0.98;
const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'densenet-example-'));
const cli = (...args) =>
  spawnSync(process.execPath, [path.join(root, 'dist/cli.js'), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });

let ok = false;
const started = Date.now();
try {
  const trained = cli(
    'train',
    path.join(root, 'examples/mnist/mnist.densenet.json'),
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
  for (const l of lines.slice(0, -1))
    console.log(
      `  epoch ${l.epoch}/${l.epochs}: loss ${l.loss.toFixed(4)}, val acc ${(l.valAccuracy * 100).toFixed(2)}%, ${l.imagesPerSecond.toFixed(0)} img/s, ${l.seconds.toFixed(0)} s`,
    );
  const summary = lines.at(-1);
  if (trained.status !== 0 || summary.status !== 'completed')
    throw new Error(`training ended with status ${trained.status}: ${JSON.stringify(summary)}`);
  const evaluated = cli('evaluate', summary.runDir, '--split', 'test', '--backend', 'wasm', '--json');
  if (evaluated.status !== 0) throw new Error(`evaluate failed with status ${evaluated.status}`);
  const result = JSON.parse(evaluated.stdout);
  const minutes = ((Date.now() - started) / 60000).toFixed(1);
  console.log(
    `  test accuracy ${(result.accuracy * 100).toFixed(2)}% on ${result.examples} digits (target ${TARGET * 100}%), backend ${summary.backend}, ${minutes} min`,
  );
  ok = result.examples === 1000 && result.accuracy >= TARGET;
  console.log(ok ? '  ✔ the example reaches the target' : '  ✘ the example misses the target');
} catch (e) {
  console.log(`  ✘ ${e.stack ?? e}`);
} finally {
  fs.rmSync(workspace, { recursive: true, force: true });
}
fs.mkdirSync(path.dirname(values.results), { recursive: true });
fs.writeFileSync(values.results, JSON.stringify({ passed: ok ? 1 : 0, failed: ok ? 0 : 1 }));
process.exitCode = ok ? 0 : 1;
