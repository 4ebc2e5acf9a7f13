/**
 * Reference files of torchvision DenseNets made by scripts/fixtures/torchvision_fixtures.py (seeded random
 * weights): model.pth, model-legacy.pth, model.safetensors, model.onnx, inputs.bin and expected.json.
 *
 * Made once per set of options into test-artifacts/torch-fixtures/<arch>-<hash of script and options> and re-used
 * while complete (expected.json is written last). Throws, never skips, when python3 with torch is missing.
 */
import * as assert from 'assert';
import { execFile, execFileSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { TensorDict } from '../../src/interchange/tensors';

const root = path.resolve(__dirname, '../../..');
const script = path.join(root, 'scripts/fixtures/torchvision_fixtures.py');
const cacheRoot = path.join(root, 'test-artifacts/torch-fixtures');

export type TorchArch = 'densenet121' | 'densenet161' | 'densenet169' | 'densenet201';

export interface TorchFixtureOptions {
  classes?: number;
  size?: number;
  seed?: number;
  batch?: number;
  /** Which files to write (default all): pth, legacy, safetensors, onnx. */
  formats?: ('pth' | 'legacy' | 'safetensors' | 'onnx')[];
}

/** What expected.json holds. */
export interface TorchExpected {
  arch: string;
  classes: number;
  seed: number;
  torch: string;
  inputShape: number[];
  logits: number[][];
  top5: number[][];
  files: string[];
  tensors: Record<string, { shape: number[]; dtype: string; sum: number; sumAbs: number; at: [number, number][] }>;
}

let python: string | undefined;

/** A python3 that imports torch and torchvision: $DENSENET_PYTHON, Debian's /usr/bin/python3, or python3. */
export function torchPython(
  candidates = [process.env.DENSENET_PYTHON, '/usr/bin/python3', 'python3'].filter((c): c is string => !!c),
): string {
  if (python && candidates.includes(python)) return python;
  const tried: string[] = [];
  for (const candidate of candidates) {
    try {
      execFileSync(candidate, ['-c', 'import torch, torchvision'], { stdio: 'pipe', timeout: 60_000 });
      return (python = candidate);
    } catch (e) {
      const err = e as { stderr?: Buffer; message: string };
      tried.push(`${candidate}: ${(err.stderr?.toString() || err.message).trim().split('\n').pop()}`);
    }
  }
  throw new Error(
    `These tests need python3 with torch and torchvision (Debian: python3-torch, python3-torchvision); ` +
      `run \`bash scripts/setup-python.sh\` or set DENSENET_PYTHON. Tried: ${tried.join('; ')}`,
  );
}

const pending = new Map<string, Promise<string>>();

function run(args: string[], into: string): Promise<string> {
  const py = torchPython();
  const staging = `${into}.tmp-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  return new Promise<string>((resolve, reject) => {
    execFile(
      py,
      [script, ...args.map((a) => (a === '{}' ? staging : a))],
      { timeout: 600_000, maxBuffer: 16 << 20 },
      (error, _stdout, stderr) => {
        if (error) {
          fs.rmSync(staging, { recursive: true, force: true });
          reject(new Error(`${path.relative(root, script)} ${args.join(' ')} failed: ${stderr || error.message}`));
          return;
        }
        fs.rmSync(into, { recursive: true, force: true });
        fs.renameSync(staging, into);
        resolve(into);
      },
    );
  });
}

function cached(name: string, args: string[], marker: string): Promise<string> {
  const hash = createHash('sha256').update(fs.readFileSync(script)).update(JSON.stringify(args)).digest('hex');
  const dir = path.join(cacheRoot, `${name}-${hash.slice(0, 12)}`);
  let promise = pending.get(dir);
  if (!promise) {
    fs.mkdirSync(cacheRoot, { recursive: true });
    promise = fs.existsSync(path.join(dir, marker)) ? Promise.resolve(dir) : run(args, dir);
    pending.set(dir, promise);
  }
  return promise;
}

/** The folder of reference files for `arch` (made on first use, then cached on disk). */
export function torchFixtures(arch: TorchArch, opts: TorchFixtureOptions = {}): Promise<string> {
  const args = ['--arch', arch, '--out', '{}'];
  if (opts.classes !== undefined) args.push('--classes', String(opts.classes));
  if (opts.size !== undefined) args.push('--size', String(opts.size));
  if (opts.seed !== undefined) args.push('--seed', String(opts.seed));
  if (opts.batch !== undefined) args.push('--batch', String(opts.batch));
  if (opts.formats) args.push('--formats', opts.formats.join(','));
  return cached(arch, args, 'expected.json');
}

/** The folder of pickles a safe reader must refuse, with manifest.json: `{cases: [{file, refuses}]}`. */
export function maliciousTorchFixtures(): Promise<string> {
  return cached('malicious', ['--malicious', '{}'], 'manifest.json');
}

/**
 * The folder of small checkpoints of every dtype and layout (variants.pth, variants-legacy.pth,
 * variants-model.pth) with expected.json: `{tensors: {"module.<name>": {shape, dtype, values}}}`, non-finite
 * values written as "inf", "-inf", "nan".
 */
export function variantTorchFixtures(): Promise<string> {
  return cached('variants', ['--variants', '{}'], 'expected.json');
}

export function readExpected(dir: string): TorchExpected {
  return JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as TorchExpected;
}

/** Every tensor as python saved it: names in order, shape, dtype, float64 sum, sum of |x|, values at picks. */
export function assertMatchesPython(tensors: TensorDict, expected: TorchExpected, dtypeOf = (d: string) => d): void {
  assert.deepStrictEqual([...tensors.keys()], Object.keys(expected.tensors));
  for (const [name, want] of Object.entries(expected.tensors)) {
    const t = tensors.get(name)!;
    assert.deepStrictEqual(t.shape, want.shape, name);
    assert.strictEqual(t.dtype, dtypeOf(want.dtype), name);
    assert.strictEqual(
      t.values.length,
      want.shape.reduce((a, b) => a * b, 1),
      name,
    );
    let sum = 0;
    let sumAbs = 0;
    for (const v of t.values) {
      sum += v;
      sumAbs += Math.abs(v);
    }
    const tolerance = 1e-9 * Math.max(1, want.sumAbs);
    assert.ok(Math.abs(sum - want.sum) <= tolerance, `${name}: sum ${sum}, python ${want.sum}`);
    assert.ok(Math.abs(sumAbs - want.sumAbs) <= tolerance, `${name}: sum of |x| ${sumAbs}, python ${want.sumAbs}`);
    for (const [i, v] of want.at) assert.strictEqual(t.values[i], Math.fround(v), `${name}[${i}]`);
  }
}
