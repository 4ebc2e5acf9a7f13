import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';

// The architecture's import rules, checked on the sources: pure code imports neither vscode nor tfjs;
// only host code imports vscode.
const root = path.resolve(__dirname, '../..');

function sources(dir: string): string[] {
  const abs = path.join(root, dir);
  if (!fs.existsSync(abs)) return [];
  return fs
    .readdirSync(abs, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name))
    .map((e) => path.join(e.parentPath, e.name));
}

const imports = (file: string) =>
  [...fs.readFileSync(file, 'utf8').matchAll(/(?:from\s+|import\(|require\()\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);

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
  it('only src/extension.ts, src/editor and src/panels import vscode', () => {
    for (const f of sources('src')) {
      const rel = path.relative(root, f);
      if (rel === 'src/extension.ts' || rel.startsWith('src/editor/') || rel.startsWith('src/panels/')) continue;
      assert.ok(!imports(f).includes('vscode'), `${rel} imports vscode`);
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
