import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { hoverAt, validateSpec } from '../../src/core';
import { nodeFileProbe } from '../../src/core/nodeFs';
import { weightsLensTitle } from '../../src/core/weightsOrigin';

const spec = (model: Record<string, unknown>, classes = 5) =>
  JSON.stringify({ version: 1, name: 't', input: { height: 224, width: 224, channels: 3 }, classes, model }, null, 2);

const errors = (text: string, specPath?: string) =>
  validateSpec(text, specPath ? { specPath, fs: nodeFileProbe } : {}).diagnostics.filter((d) => d.severity === 'error');

describe('model.weights in the spec', () => {
  it('accepts a known pretrained name that fits the preset, and resolves it', () => {
    const text = spec({ preset: 'densenet121', weights: 'torchvision:densenet121' });
    assert.deepStrictEqual(errors(text), []);
    assert.strictEqual(validateSpec(text).resolved?.weights, 'torchvision:densenet121');
  });

  it('refuses an unknown name with "did you mean" and a fix, located at the value', () => {
    const text = spec({ preset: 'densenet121', weights: 'torchvision:densnet121' });
    const [d] = errors(text);
    assert.strictEqual(d.code, 'unknown-pretrained');
    assert.match(d.message, /did you mean "torchvision:densenet121"\?/);
    assert.strictEqual(text.slice(d.offset, d.offset + d.length), '"torchvision:densnet121"');
    assert.strictEqual(d.fixes?.[0].edits[0].newText, '"torchvision:densenet121"');
  });

  it("refuses weights of another preset than the spec's", () => {
    const [d] = errors(spec({ preset: 'densenet121', weights: 'keras:densenet169' }));
    assert.strictEqual(d.code, 'pretrained-preset');
    assert.match(d.message, /keras:densenet169 holds the weights of densenet169: set "preset": "densenet169"/);
  });

  it('warns of a weights path that does not exist (with a file system; a resume does not need it)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weights-ref-'));
    try {
      const specPath = path.join(dir, 'm.densenet.json');
      // (the spec has no data: its information diagnostic is not what this test is about)
      const all = (p: string) =>
        validateSpec(spec({ preset: 'densenet121', weights: p }), { specPath, fs: nodeFileProbe }).diagnostics.filter(
          (d) => d.code !== 'data-none',
        );
      const [d] = all('w/missing.pth');
      assert.strictEqual(d.code, 'weights-missing');
      assert.strictEqual(d.severity, 'warning');
      assert.match(d.message, /The weights w\/missing\.pth do not exist/);
      fs.mkdirSync(path.join(dir, 'w'));
      fs.writeFileSync(path.join(dir, 'w', 'missing.pth'), 'x');
      assert.deepStrictEqual(all('w/missing.pth'), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has a hover that says what the weights are and what happens to their classifier', () => {
    const text = spec({ preset: 'densenet121', weights: 'torchvision:densenet121' });
    const h = hoverAt(validateSpec(text), text.indexOf('torchvision:'));
    assert.match(
      h?.markdown ?? '',
      /\*\*Pretrained `torchvision:densenet121`\*\* — torchvision's ImageNet weights of densenet121/,
    );
    assert.match(h?.markdown ?? '', /replaced by a new one of 5 classes/);
    const file = spec({ preset: 'densenet121', weights: 'w/d121.safetensors' });
    assert.match(
      hoverAt(validateSpec(file), file.indexOf('w/d121'))?.markdown ?? '',
      /a safetensors file, read without running/,
    );
  });

  it('says in the lens where the model starts from', () => {
    assert.strictEqual(
      weightsLensTitle('torchvision:densenet121', 5, { pretrained: true }),
      '$(cloud-download) Starts from torchvision:densenet121 (ImageNet, 1000 classes; downloaded once) · classifier replaced: 1000 → 5 classes',
    );
    assert.strictEqual(
      weightsLensTitle('w/d.safetensors', 1000, { pretrained: false, exists: true, bytes: 32 * 2 ** 20 }),
      '$(file-binary) Starts from w/d.safetensors (safetensors, 32.0 MB)',
    );
    assert.strictEqual(
      weightsLensTitle('x.h5', 3, { pretrained: false, exists: false }),
      '$(warning) Weights not found: x.h5',
    );
  });
});
