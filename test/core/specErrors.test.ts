import * as assert from 'assert';
import { checkBuildable, formatDiagnostic, validateBuildable, validateSpec } from '../../src/core';

const GOOD = JSON.stringify(
  {
    version: 1,
    name: 't',
    input: { height: 32, width: 32, channels: 3 },
    classes: 10,
    model: { preset: 'densenet121' },
  },
  null,
  2,
);
/** Two errors: compression on line 4, classes on line 6. */
const BAD = `{
  "version": 1,
  "name": "t",
  "model": { "preset": "densenet121", "compression": 2 },
  "input": { "height": 32, "width": 32, "channels": 3 },
  "classes": 0
}`;

describe('core: spec errors (what stops a model from being built)', () => {
  it('a valid spec is buildable, with its resolution and analysis', () => {
    const check = checkBuildable(validateSpec(GOOD), 'good.densenet.json');
    assert.ok(check.ok);
    assert.strictEqual(check.spec.resolved.classes, 10);
    assert.ok(check.spec.analysis.layers.length > 100);
    assert.strictEqual(
      validateBuildable(GOOD, { file: 'good.densenet.json', purpose: 'before training' }).resolved.name,
      't',
    );
  });

  it('counts and locates every error in the file (1-based line and column)', () => {
    const check = checkBuildable(validateSpec(BAD), 'bad.densenet.json');
    assert.ok(!check.ok);
    assert.strictEqual(check.errors.length, 2);
    assert.strictEqual(check.summary, 'bad.densenet.json has 2 errors');
    assert.match(check.located[0], /^bad\.densenet\.json:4:\d+: compression must be in \(0, 1\]/);
    assert.match(check.located[1], /^bad\.densenet\.json:6:\d+: /);
    const one = checkBuildable(validateSpec(GOOD.replace('"classes": 10', '"classes": 0')), 'one.densenet.json');
    assert.ok(!one.ok);
    assert.strictEqual(one.summary, 'one.densenet.json has 1 error');
  });

  it('counts the diagnostics it is given (the CLI adds the schema diagnostics)', () => {
    const result = validateSpec(GOOD);
    const extra = { offset: 0, length: 1, severity: 'error' as const, code: 'schema', message: 'not in the schema' };
    const check = checkBuildable(result, 'good.densenet.json', [...result.diagnostics, extra]);
    assert.ok(!check.ok);
    assert.deepStrictEqual(check.located, ['good.densenet.json:1:1: not in the schema']);
  });

  it('validateBuildable throws what to fix, for what, with every error on its own line', () => {
    assert.throws(
      () => validateBuildable(BAD, { file: 'bad.densenet.json', purpose: 'before training' }),
      (e: Error) => {
        const lines = e.message.split('\n');
        assert.strictEqual(lines[0], 'bad.densenet.json has 2 errors; fix them before training:');
        assert.strictEqual(lines.length, 3);
        assert.match(lines[1], /^bad\.densenet\.json:4:\d+: compression/);
        return true;
      },
    );
  });

  it('formatDiagnostic: the location, and for the CLI the severity and code', () => {
    const d = { offset: 4, length: 1, severity: 'warning' as const, code: 'w', message: 'careful' };
    assert.strictEqual(formatDiagnostic('f.json', 'ab\ncdef', d), 'f.json:2:2: careful');
    assert.strictEqual(formatDiagnostic('f.json', 'ab\ncdef', d, true), 'f.json:2:2: warning: careful [w]');
  });
});
