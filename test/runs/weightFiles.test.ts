import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import {
  checkWeightsManifest,
  confinedWeightFile,
  readWeightFiles,
  weightBytes,
  type WeightsGroupJson,
} from '../../src/runs/weightFiles';
import { tempFolders } from '../support/tempFolders';

const temp = tempFolders('densenet-weightfiles-');

/** A checkpoint folder holding `weights.bin` of `bytes` bytes, inside a parent with a secret file beside it. */
function checkpoint(bytes: number): { dir: string; secret: string } {
  const parent = temp.make();
  const dir = path.join(parent, 'run', 'checkpoints', 'latest');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.alloc(bytes, 1));
  const secret = path.join(parent, 'secret.bin');
  fs.writeFileSync(secret, Buffer.alloc(24, 7));
  return { dir, secret };
}

const manifest = (paths: string[]): WeightsGroupJson[] => [
  {
    paths,
    weights: [
      { name: 'kernel', shape: [2, 3], dtype: 'float32' },
      { name: 'count', shape: [], dtype: 'int32' },
      { name: 'mask', shape: [4], dtype: 'bool' },
    ],
  },
];
// 6 float32 + 1 int32 + 4 bool
const EXACT = 6 * 4 + 4 + 4;

describe('runs/weightFiles', () => {
  after(() => temp.removeAll());

  it('counts the bytes of a weight by dtype and shape (quantized ones by their stored dtype)', () => {
    assert.strictEqual(weightBytes({ name: 'a', shape: [3, 2], dtype: 'float32' }), 24);
    assert.strictEqual(weightBytes({ name: 'a', shape: [], dtype: 'int32' }), 4);
    assert.strictEqual(weightBytes({ name: 'a', shape: [5], dtype: 'bool' }), 5);
    assert.strictEqual(
      weightBytes({ name: 'a', shape: [5], dtype: 'float32', quantization: { dtype: 'uint8', min: 0, scale: 1 } }),
      5,
    );
  });

  it('reads weight files whose sizes add up exactly', () => {
    const { dir } = checkpoint(EXACT);
    assert.strictEqual(readWeightFiles(dir, manifest(['weights.bin']), 'model.json').length, EXACT);
  });

  it('refuses trailing bytes and missing bytes, naming the file and both sizes', () => {
    const { dir } = checkpoint(EXACT + 1);
    assert.throws(
      () => readWeightFiles(dir, manifest(['weights.bin']), 'model.json'),
      /weights\.bin in .*: 33 bytes, but the weights listed in model\.json take 32 bytes/,
    );
    const short = checkpoint(EXACT - 4).dir;
    assert.throws(() => readWeightFiles(short, manifest(['weights.bin']), 'model.json'), /28 bytes, .* take 32 bytes/);
  });

  it('refuses weight paths outside the checkpoint folder: .., absolute, symbolic links', () => {
    const { dir, secret } = checkpoint(EXACT);
    for (const p of ['../../../secret.bin', 'sub/../../x.bin', '..\\..\\secret.bin', secret, 'C:\\x.bin', ''])
      assert.throws(
        () => confinedWeightFile(dir, p, 'model.json'),
        /model\.json: weight path .* (is absolute or empty|leads out of the folder)/,
        p,
      );
    fs.symlinkSync(secret, path.join(dir, 'link.bin'));
    assert.throws(
      () => readWeightFiles(dir, manifest(['link.bin']), 'model.json'),
      /weight path "link\.bin" is a link to .*secret\.bin, outside the folder/,
    );
    fs.symlinkSync(path.dirname(secret), path.join(dir, 'up'));
    assert.throws(() => confinedWeightFile(dir, 'up/secret.bin', 'model.json'), /is a link to .*secret\.bin, outside/);
    fs.mkdirSync(path.join(dir, 'folder.bin'));
    assert.throws(() => confinedWeightFile(dir, 'folder.bin', 'model.json'), /is not a regular file/);
    // A link that stays inside is fine.
    fs.symlinkSync('weights.bin', path.join(dir, 'inside.bin'));
    assert.strictEqual(readWeightFiles(dir, manifest(['inside.bin']), 'model.json').length, EXACT);
  });

  it('type-checks a manifest, naming the field', () => {
    assert.throws(
      () => checkWeightsManifest('model.json', {}, 'weightsManifest'),
      /"weightsManifest" must be an array/,
    );
    assert.throws(
      () => checkWeightsManifest('model.json', [{ paths: 'weights.bin', weights: [] }], 'weightsManifest'),
      /model\.json: "weightsManifest\[0\]\.paths" must be an array/,
    );
    assert.throws(
      () => checkWeightsManifest('m.json', [{ paths: [3], weights: [] }], 'weightsManifest'),
      /"weightsManifest\[0\]\.paths\[0\]" must be a string, found number 3/,
    );
    assert.throws(
      () =>
        checkWeightsManifest('m.json', [{ paths: [], weights: [{ name: 'a', shape: [-1], dtype: 'float32' }] }], 'w'),
      /"w\[0\]\.weights\[0\]\.shape\[0\]" must be a whole number ≥ 0, found number -1/,
    );
    assert.throws(
      () => checkWeightsManifest('m.json', [{ paths: [], weights: [{ name: 'a', shape: [1], dtype: 'string' }] }], 'w'),
      /"w\[0\]\.weights\[0\]\.dtype" must be one of float32, int32, bool, complex64/,
    );
    assert.deepStrictEqual(checkWeightsManifest('m.json', manifest(['weights.bin']), 'w'), manifest(['weights.bin']));
  });
});
