// `npm run package [-- --target linux-x64]`: builds the extension and packages a .vsix for one platform
// (default: this machine's), carrying only that platform's ONNX Runtime native library (scripts/lib/package-target.mjs
// writes the allow-list: .vscodeignore plus those binaries). Writes densenet-lab-<target>.vsix.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from 'util';
import { checkTarget, hostTarget, targetAllowList } from './lib/package-target.mjs';

const root = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { target: { type: 'string' }, 'skip-build': { type: 'boolean' } } });
let target;
try {
  target = checkTarget(values.target ?? hostTarget());
} catch (e) {
  console.error(`package: ${e.message}`);
  process.exit(2);
}

function run(command, args) {
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (!values['skip-build']) run('npm', ['run', 'build']);
const ignoreFile = path.join(os.tmpdir(), `densenet-lab-vscodeignore-${target}-${process.pid}`);
fs.writeFileSync(ignoreFile, targetAllowList(fs.readFileSync(path.join(root, '.vscodeignore'), 'utf8'), target));
try {
  const out = `densenet-lab-${target}.vsix`;
  run(path.join(root, 'node_modules', '.bin', 'vsce'), [
    'package',
    '--target',
    target,
    '--ignoreFile',
    ignoreFile,
    '--allow-missing-repository',
    '--no-rewrite-relative-links',
    '--out',
    out,
  ]);
  console.log(`package: ${out} (${target}: ONNX Runtime's native library for this platform only)`);
} finally {
  fs.rmSync(ignoreFile, { force: true });
}
