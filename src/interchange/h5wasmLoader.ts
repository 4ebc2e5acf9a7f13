/**
 * Loads h5wasm (HDF5 compiled to WebAssembly, host file system through Emscripten's NODERAWFS) once per process.
 *
 * h5wasm ships only ES modules and exports them for `import` alone; this CommonJS code loads its Node build by
 * file path (Node ≥ 20.19 loads ES modules with `require`). HDF5's own errors become thrown errors instead of
 * diagnostics printed on stderr.
 */
import * as fs from 'fs';
import { createRequire } from 'module';
import * as path from 'path';
import type * as H5 from 'h5wasm';

export type H5wasm = typeof H5;

let loading: Promise<H5wasm> | undefined;

function h5wasmFile(): string {
  const load = createRequire(__filename);
  for (const dir of load.resolve.paths('h5wasm') ?? []) {
    const file = path.join(dir, 'h5wasm', 'dist', 'node', 'hdf5_hl.js');
    if (fs.existsSync(file)) return file;
  }
  throw new Error('The HDF5 reader (npm package h5wasm) is not installed: run `npm install` in the extension folder.');
}

/** The h5wasm module, ready to open files (host paths). */
export function loadH5wasm(): Promise<H5wasm> {
  loading ??= (async () => {
    const h5 = createRequire(__filename)(h5wasmFile()) as H5wasm;
    const module = await h5.ready;
    module.activate_throwing_error_handler();
    return h5;
  })();
  return loading;
}
