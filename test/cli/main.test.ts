import * as assert from 'assert';
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// Runs the built CLI (dist/cli.js), as a user does.
const cli = path.resolve(__dirname, '../../../dist/cli.js');

function run(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('densenet-lab analyze', () => {
  before(function () {
    if (!fs.existsSync(cli))
      execFileSync(process.execPath, [path.resolve(__dirname, '../../../esbuild.mjs')], {
        cwd: path.resolve(__dirname, '../../..'),
      });
  });
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'densenet-cli-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('--preset --json prints every layer and the Keras totals', () => {
    const r = run(['analyze', '--preset', 'densenet121', '--json']);
    assert.strictEqual(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepStrictEqual(out.totals, {
      params: 8062504,
      trainableParams: 7978856,
      nonTrainableParams: 83648,
      macs: out.totals.macs,
    });
    assert.strictEqual(Math.round(out.totals.macs / 1e7) / 100, 2.88);
    assert.deepStrictEqual(Object.keys(out.layers[0]), [
      'name',
      'type',
      'outputShape',
      'params',
      'trainableParams',
      'macs',
    ]);
    assert.deepStrictEqual(
      out.layers.find((l: { name: string }) => l.name === 'pool2_conv'),
      {
        name: 'pool2_conv',
        type: 'Conv2D',
        outputShape: [56, 56, 128],
        params: 32768,
        trainableParams: 32768,
        macs: 56 * 56 * 256 * 128,
      },
    );
  });

  it('--input and --classes override the preset', () => {
    const r = run(['analyze', '--preset', 'densenet121', '--input', '64x64x1', '--classes', '10', '--json']);
    assert.strictEqual(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepStrictEqual(out.layers[0].outputShape, [64, 64, 1]);
    assert.deepStrictEqual(out.layers.at(-1).outputShape, [10]);
  });

  it('prints the summary table for a spec file', () => {
    const file = path.join(dir, 'm.densenet.json');
    fs.writeFileSync(file, '{\n  // comment\n  "version": 1,\n  "model": { "preset": "densenet-bc-100-k12" },\n}\n');
    const r = run(['analyze', file]);
    assert.strictEqual(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Trainable params: 769,162$/m);
  });

  it('a bad spec prints file:line:column diagnostics and exits non-zero', () => {
    const file = path.join(dir, 'bad.densenet.json');
    fs.writeFileSync(
      file,
      '{\n  "version": 1,\n  "model": {\n    "preset": "densenet-bc-100-k12",\n    "compression": 2,\n    "colour": 1\n  }\n}\n',
    );
    const r = run(['analyze', file]);
    assert.strictEqual(r.code, 1);
    assert.match(r.stderr, /bad\.densenet\.json:5:20: error: compression must be in \(0, 1\], not 2/);
    assert.match(r.stderr, /bad\.densenet\.json:6:5: error: Unknown field "colour" in model/);
    assert.strictEqual(r.stdout, '');
  });

  it('usage errors exit 2 with the usage text', () => {
    const r = run(['analyze', '--preset', 'densenet999']);
    assert.strictEqual(r.code, 2);
    assert.match(r.stderr, /unknown preset "densenet999"/);
    assert.strictEqual(run(['analyze', '--preset', 'densenet121', '--input', '64x64']).code, 2);
    assert.strictEqual(run(['frobnicate']).code, 2);
  });

  it('predict --top takes a whole number from 1', () => {
    for (const top of ['-1', '0', '2.5', 'many']) {
      const r = run(['predict', dir, 'image.png', `--top=${top}`]);
      assert.strictEqual(r.code, 2, `--top ${top}: ${r.stderr}`);
      assert.match(r.stderr, /--top takes a whole number from 1/);
    }
  });
});
