import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import { minimatch } from 'minimatch';
import * as path from 'path';
import { pathToFileURL } from 'url';

const ROOT = path.resolve(__dirname, '../../..');
const LIB = pathToFileURL(path.join(ROOT, 'scripts/lib/package-target.mjs')).href;
const ORT = 'node_modules/onnxruntime-node';

/** Runs `code` (an ES module body with the script's library as `lib`, `args` as process.argv[1..]) in a child node. */
function withLib(code: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `import * as lib from ${JSON.stringify(LIB)};\n${code}`, ...args],
    { encoding: 'utf8' },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Whether vsce packs `file` under the allow-list `text` (vsce's rule: not ignored, or re-included by a `!`). */
function packed(file: string, text: string): boolean {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() && !/^\s*#/.test(l));
  const ignore = lines.filter((l) => !l.startsWith('!'));
  const negate = lines.filter((l) => l.startsWith('!')).map((l) => l.slice(1));
  const match = (p: string) => minimatch(file, p, { dot: true });
  return !ignore.some(match) || negate.some(match);
}

function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
}

describe('npm run package -- --target: the .vsix carries only that platform’s ONNX Runtime binaries', () => {
  const base = fs.readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8');
  const binaries = filesUnder(`${ORT}/bin`);
  const lists = JSON.parse(
    withLib(
      'console.log(JSON.stringify(Object.fromEntries(Object.keys(lib.ONNXRUNTIME_TARGETS).map((t) => [t, lib.targetAllowList(process.argv[1], t)]))));',
      base,
    ).stdout.trim() || '{}',
  ) as Record<string, string>;

  it('has an allow-list for each platform onnxruntime-node ships', () => {
    assert.deepStrictEqual(Object.keys(lists), [
      'linux-x64',
      'linux-arm64',
      'darwin-arm64',
      'win32-x64',
      'win32-arm64',
    ]);
    assert.ok(binaries.length >= 10, `the installed binaries: ${binaries.join(', ')}`);
  });

  for (const [target, folder] of [
    ['linux-x64', 'linux/x64'],
    ['linux-arm64', 'linux/arm64'],
    ['darwin-arm64', 'darwin/arm64'],
    ['win32-x64', 'win32/x64'],
    ['win32-arm64', 'win32/arm64'],
  ]) {
    it(`${target}: ${folder}'s native library and ONNX Runtime's JavaScript, no other platform's binary`, () => {
      const text = lists[target];
      assert.ok(text?.startsWith(base.trimEnd()), 'the allow-list extends .vscodeignore');
      const shipped = binaries.filter((f) => packed(f, text));
      const own = binaries.filter((f) => new RegExp(`^${ORT}/bin/napi-v\\d+/${folder}/`).test(f));
      assert.deepStrictEqual(shipped, own);
      assert.ok(
        own.some((f) => f.endsWith('/onnxruntime_binding.node')),
        `${folder} has the binding`,
      );
      for (const f of [`${ORT}/package.json`, `${ORT}/dist/index.js`, `${ORT}/dist/binding.js`])
        assert.ok(packed(f, text), f);
      for (const f of filesUnder('node_modules/onnxruntime-common/dist/cjs')) assert.ok(packed(f, text), f);
      assert.ok(!packed(`${ORT}/script/install.js`, text), 'the install script stays out');
      const gpu = `${ORT}/bin/napi-v6/${folder}/libonnxruntime_providers_cuda.so`;
      assert.ok(!packed(gpu, text), 'GPU providers the install script may download stay out');
    });
  }

  it('the plain .vscodeignore ships no ONNX Runtime binary, and an unknown target is refused', () => {
    assert.deepStrictEqual(
      binaries.filter((f) => packed(f, base)),
      [],
    );
    const r = withLib("lib.targetAllowList('', 'darwin-x64');");
    assert.notStrictEqual(r.status, 0);
    assert.match(
      r.stderr,
      /--target must be one of linux-x64, linux-arm64, darwin-arm64, win32-x64, win32-arm64 \(the platforms onnxruntime-node ships a native library for\), not "darwin-x64"/,
    );
  });
});

describe('.vscodeignore: the examples in the .vsix', () => {
  const base = fs.readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8');

  it("ships each example's spec and README, not the data, base models and runs written below it", () => {
    const examples = fs.readdirSync(path.join(ROOT, 'examples')).filter((e) => !e.startsWith('.'));
    for (const e of ['mnist', 'multi-mnist', 'm2nist', 'transfer']) assert.ok(examples.includes(e), e);
    for (const f of [
      'examples/mnist/mnist.densenet.json',
      'examples/multi-mnist/multi-mnist.densenet.json',
      'examples/multi-mnist/README.md',
      'examples/m2nist/m2nist.densenet.json',
      'examples/transfer/README.md',
    ])
      assert.ok(packed(f, base), `${f} is packed`);
    for (const f of [
      'examples/mnist/data/train/3/12.png',
      'examples/mnist/data/.complete.json',
      'examples/multi-mnist/data/train.csv',
      'examples/multi-mnist/data/train/images/00001.png',
      'examples/m2nist/data/test/masks/00001.png',
      'examples/transfer/data/train/1/0.png',
      'examples/transfer/base-model/weights.bin',
      'examples/mnist/.densenet/runs/mnist/r1/metrics.jsonl',
    ])
      assert.ok(!packed(f, base), `${f} stays out`);
  });
});
