import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';

// Rules of the webview pages (webview/), checked on their sources: they import only pure modules, and they never
// parse data as markup (values from disk or from the host are set as text).
const root = path.resolve(__dirname, '../../..');

const pages = fs
  .readdirSync(path.join(root, 'webview'), { withFileTypes: true, recursive: true })
  .filter((e) => e.isFile() && e.name.endsWith('.ts'))
  .map((e) => path.join(e.parentPath, e.name));

const imports = (text: string) =>
  [...text.matchAll(/(?:from\s+|import\(|require\()\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);

describe('webview pages', () => {
  it('import only the pure modules of src (core, metrics, protocol), their own and browser packages', () => {
    assert.ok(pages.length > 5);
    for (const f of pages) {
      for (const i of imports(fs.readFileSync(f, 'utf8'))) {
        const rel = path.relative(root, f);
        assert.ok(i !== 'vscode' && !i.startsWith('@tensorflow/'), `${rel} imports ${i}`);
        assert.ok(
          !['fs', 'path', 'os', 'child_process', 'crypto'].includes(i.replace(/^node:/, '')),
          `${rel} imports ${i}`,
        );
        if (i.startsWith('.')) {
          const target = path.relative(root, path.resolve(path.dirname(f), i));
          assert.ok(/^(webview|src\/(core|metrics|protocol))\//.test(target), `${rel} imports ${target}`);
        }
      }
    }
  });

  it('set markup only from constant templates, never with data (values are text)', () => {
    for (const f of pages) {
      const text = fs.readFileSync(f, 'utf8');
      const rel = path.relative(root, f);
      assert.ok(!/insertAdjacentHTML|outerHTML\s*=|document\.write/.test(text), `${rel} writes markup`);
      for (const m of text.matchAll(/innerHTML\s*(\+?=)\s*/g)) {
        const at = (m.index ?? 0) + m[0].length;
        const quote = text[at];
        assert.ok(m[1] === '=' && ['`', "'", '"'].includes(quote), `${rel}: innerHTML set from an expression`);
        const end = text.indexOf(quote, at + 1);
        assert.ok(!text.slice(at, end).includes('${'), `${rel}: innerHTML set from a template with values`);
      }
    }
  });
});
