// The examples `npm start` opens: a copy of examples/ outside the repository, so that what VS Code saves
// (auto-save, runs, edits) never changes the tracked files. The copy is made again when examples/ changes
// (a file added, removed, resized or touched since the copy); otherwise it is reused with the user's edits.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Default place of the copy: $DENSENET_LAB_EXAMPLES, else ~/.densenet-lab-examples. */
export function defaultExamplesCopy() {
  return process.env.DENSENET_LAB_EXAMPLES || path.join(os.homedir(), '.densenet-lab-examples');
}

/** A fingerprint of a folder: every file's relative path, size and modification time. */
export function folderStamp(dir) {
  const hash = crypto.createHash('sha256');
  const walk = (rel) => {
    const entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const child = path.join(rel, e.name);
      if (e.isDirectory()) walk(child);
      else if (e.isFile()) {
        const st = fs.statSync(path.join(dir, child));
        hash.update(`${child}\0${st.size}\0${Math.round(st.mtimeMs)}\n`);
      }
    }
  };
  walk('');
  return hash.digest('hex');
}

/**
 * Makes `dest` a copy of `source` unless it already is one of the same contents (its stamp file, next to it,
 * says so). Returns whether it copied. Refuses a destination inside the source or the source inside it.
 */
export function freshExamples(source, dest) {
  const src = path.resolve(source);
  const out = path.resolve(dest);
  const inside = (a, b) => a === b || a.startsWith(b + path.sep);
  if (inside(out, src) || inside(src, out))
    throw new Error(`the examples copy ${out} must be outside ${src}; set DENSENET_LAB_EXAMPLES to another folder`);
  if (!fs.existsSync(src)) throw new Error(`${src} does not exist: run npm start from a checkout of the repository`);
  const stampFile = `${out}.stamp.json`;
  const stamp = folderStamp(src);
  let previous;
  try {
    previous = JSON.parse(fs.readFileSync(stampFile, 'utf8'));
  } catch {
    previous = undefined;
  }
  if (previous?.source === src && previous?.stamp === stamp && fs.existsSync(out)) return false;
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.cpSync(src, out, { recursive: true });
  fs.writeFileSync(stampFile, JSON.stringify({ source: src, stamp, copiedAt: new Date().toISOString() }) + '\n');
  return true;
}
