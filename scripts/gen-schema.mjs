// Writes media/densenet.schema.json, the JSON schema VS Code uses for `*.densenet.json`, from the spec's one
// description (src/core/specSchema.ts). Run by esbuild.mjs before every build; `node scripts/gen-schema.mjs`
// alone does the same. test/core/specSchema.test.ts checks that the committed file is up to date.
import * as esbuild from 'esbuild';
import * as fs from 'fs';
import { createRequire } from 'module';
import * as path from 'path';
import { fileURLToPath } from 'url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const SCHEMA_FILE = path.join(root, 'media', 'densenet.schema.json');

/** The schema's text: the generated JSON, two-space indented, with a final newline. */
export async function schemaText() {
  const out = await esbuild.build({
    entryPoints: [path.join(root, 'src/core/specSchema.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    write: false,
    logLevel: 'silent',
  });
  const module = { exports: {} };
  const require = createRequire(path.join(root, 'src/core/specSchema.ts'));
  new Function('module', 'exports', 'require', out.outputFiles[0].text)(module, module.exports, require);
  return `${JSON.stringify(module.exports.specJsonSchema(), null, 2)}\n`;
}

/** Writes the schema file when its text changed; returns whether it did. */
export async function writeSchema() {
  const text = await schemaText();
  const old = fs.existsSync(SCHEMA_FILE) ? fs.readFileSync(SCHEMA_FILE, 'utf8') : '';
  if (old === text) return false;
  fs.writeFileSync(SCHEMA_FILE, text);
  return true;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const changed = await writeSchema();
  process.stderr.write(`  media/densenet.schema.json ${changed ? 'written' : 'up to date'}\n`);
}
