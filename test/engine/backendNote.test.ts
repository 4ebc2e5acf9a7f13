import * as assert from 'assert';
import { nativeFailure } from '../../src/engine/backendNote';

describe('backend note when auto does not take native TensorFlow', () => {
  it('not installed: a short reason for each run and a one-line hint, no stack of module paths', () => {
    const f = nativeFailure([
      "bundled dependencies: Cannot find module '@tensorflow/tfjs-node'",
      "/home/u/.vscode/globalStorage/densenet: Cannot find module '@tensorflow/tfjs-node'",
    ]);
    assert.strictEqual(f.reason, 'the native engine is not installed');
    assert.doesNotMatch(f.reason + f.note, /Cannot find module/);
    assert.match(f.note, /"DenseNet: Install Native Engine"/);
  });
  it('installed but broken: the error is kept, with how to repair it', () => {
    const f = nativeFailure([
      "bundled dependencies: Cannot find module '@tensorflow/tfjs-node'",
      '/home/u/storage: libtensorflow.so.2: cannot open shared object file',
    ]);
    assert.strictEqual(f.reason, 'the native engine did not load');
    assert.match(f.note, /libtensorflow\.so\.2: cannot open shared object file/);
    assert.match(f.note, /Install Native Engine" again/);
  });
});
