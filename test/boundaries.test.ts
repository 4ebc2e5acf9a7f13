import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';

// The architecture's import rules, checked on the sources: pure code imports neither vscode nor tfjs;
// only host code imports vscode; the run store (src/runs) and weight interchange (src/interchange) are Node-only; the host never imports the engine.
const root = path.resolve(__dirname, '../..');

function sources(dir: string): string[] {
  const abs = path.join(root, dir);
  if (!fs.existsSync(abs)) return [];
  return fs
    .readdirSync(abs, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name))
    .map((e) => path.join(e.parentPath, e.name));
}

// Every import, type-only ones included (`import type ... from`, `import('...')` types).
const imports = (file: string) =>
  [...fs.readFileSync(file, 'utf8').matchAll(/(?:from\s+|import\s+|import\(|require\()\s*['"]([^'"]+)['"]/g)].map(
    (m) => m[1],
  );

/** The repository-relative path a relative import of `file` points to (undefined for a package import). */
const target = (file: string, specifier: string): string | undefined =>
  specifier.startsWith('.')
    ? path
        .relative(root, path.resolve(path.dirname(file), specifier))
        .split(path.sep)
        .join('/')
    : undefined;

const isUnder = (rel: string | undefined, dir: string): boolean =>
  rel !== undefined && (rel === dir || rel.startsWith(dir + '/'));

describe('module boundaries', () => {
  it('src/core, src/metrics and src/protocol import neither vscode nor tfjs, nor the host or engine', () => {
    const files = [...sources('src/core'), ...sources('src/metrics'), ...sources('src/protocol')];
    assert.ok(files.length > 5);
    for (const f of files) {
      for (const i of imports(f)) {
        assert.ok(
          i !== 'vscode' && !i.startsWith('@tensorflow/') && !/\/(editor|engine|panels)\//.test(i),
          `${path.relative(root, f)} imports ${i}`,
        );
      }
    }
  });
  it('the extension reaches onnxruntime-node only through src/engine/onnxRuntime.ts (required at run time: a broken native library is an error it catches)', () => {
    const importers = sources('src')
      .filter((f) => imports(f).some((i) => i.startsWith('onnxruntime-')))
      .map((f) => path.relative(root, f).split(path.sep).join('/'));
    // src/engine/benchOrt.ts is the worker of npm run bench (its own bundle, not shipped).
    assert.deepStrictEqual(importers, ['src/engine/benchOrt.ts', 'src/engine/onnxRuntime.ts']);
    const text = fs.readFileSync(path.join(root, 'src/engine/onnxRuntime.ts'), 'utf8');
    assert.ok(!/^import (?!type)[^;]*['"]onnxruntime-/m.test(text), 'only type imports at the top');
    for (const f of sources('src').filter((f) => !f.endsWith('benchOrt.ts')))
      assert.ok(!imports(f).some((i) => /benchOrt$/.test(i)), `${path.relative(root, f)} imports the bench worker`);
  });
  it('only src/extension.ts, src/editor and src/panels import vscode', () => {
    for (const f of sources('src')) {
      const rel = path.relative(root, f);
      if (rel === 'src/extension.ts' || rel.startsWith('src/editor/') || rel.startsWith('src/panels/')) continue;
      assert.ok(!imports(f).includes('vscode'), `${rel} imports vscode`);
    }
  });
  it('no host file (src/extension.ts, src/editor, src/panels) imports src/engine, type-only imports included', () => {
    const files = [path.join(root, 'src/extension.ts'), ...sources('src/editor'), ...sources('src/panels')];
    assert.ok(files.length > 10);
    for (const f of files) {
      for (const i of imports(f))
        assert.ok(!isUnder(target(f, i), 'src/engine'), `${path.relative(root, f)} imports ${i}`);
    }
  });
  it('src/runs imports neither tfjs nor vscode nor src/engine (nor the host)', () => {
    const files = sources('src/runs');
    assert.ok(files.length >= 5);
    for (const f of files) {
      for (const i of imports(f)) {
        const to = target(f, i);
        assert.ok(
          i !== 'vscode' &&
            !i.startsWith('@tensorflow/') &&
            !['src/engine', 'src/editor', 'src/panels', 'src/extension'].some((d) => isUnder(to, d)),
          `${path.relative(root, f)} imports ${i}`,
        );
      }
    }
  });
  it('src/interchange (weight files) imports neither vscode nor tfjs nor src/engine, src/editor or src/panels', () => {
    const files = sources('src/interchange');
    assert.ok(files.length >= 4);
    for (const f of files) {
      for (const i of imports(f)) {
        const to = target(f, i);
        assert.ok(
          i !== 'vscode' &&
            !i.startsWith('@tensorflow/') &&
            !['src/engine', 'src/editor', 'src/panels', 'src/extension'].some((d) => isUnder(to, d)),
          `${path.relative(root, f)} imports ${i}`,
        );
      }
    }
  });
  it('the core modules a webview may use need no Node built-ins', () => {
    for (const f of sources('src/core').filter((f) => !f.endsWith('nodeFs.ts'))) {
      for (const i of imports(f))
        assert.ok(
          !['fs', 'path', 'os', 'child_process'].includes(i.replace(/^node:/, '')),
          `${path.relative(root, f)} imports ${i}`,
        );
    }
  });
});
