/**
 * Backend choice: `auto` takes tfjs-node (native TensorFlow) when it loads, else WASM, else the pure-JS CPU
 * backend (very slow; a warning says so). Says which it chose and why.
 */
import * as path from 'path';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { type Tf, tf, useNative } from './tf';
import { registerWasmTrainingKernels } from './kernels/register';
import { nativeFailure } from './backendNote';

export type BackendPreference = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface BackendChoice {
  backend: BackendName;
  /** Why this backend: what was tried and what failed. */
  reason: string;
  warnings: string[];
  /** Why `auto` did not take native TensorFlow, in full: for the user once, not in every run's log line. */
  note?: string;
}

export interface BackendOptions {
  /** Folders that may hold node_modules/@tensorflow/tfjs-node (the extension's global storage). */
  nativeSearchPaths?: string[];
  /** Folder holding the tfjs-backend-wasm .wasm files (the bundle's dist/; default: the package's own). */
  wasmDir?: string;
}

let chosen: BackendChoice | undefined;

/** tfjs-node did not load; `errors` are "<where>: <first line>" for each place tried. */
class NativeLoadError extends Error {
  constructor(readonly errors: string[]) {
    super(`@tensorflow/tfjs-node did not load (${errors.join('; ')})`);
  }
}

function loadNative(searchPaths: string[]): { ns: Tf; from: string } {
  const errors: string[] = [];
  for (const base of [undefined, ...searchPaths]) {
    try {
      const id = base ? require.resolve('@tensorflow/tfjs-node', { paths: [base] }) : '@tensorflow/tfjs-node';
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const ns = require(id) as Tf;
      return { ns, from: base ?? 'the extension' };
    } catch (e) {
      errors.push(`${base ?? 'bundled dependencies'}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new NativeLoadError(errors);
}

export async function initBackend(preference: BackendPreference, options: BackendOptions = {}): Promise<BackendChoice> {
  if (chosen) return chosen;
  const warnings: string[] = [];
  const tried: string[] = [];
  let note: string | undefined;
  if (preference === 'auto' || preference === 'tensorflow') {
    try {
      const { ns, from } = loadNative(options.nativeSearchPaths ?? []);
      useNative(ns);
      await tf.setBackend('tensorflow');
      await tf.ready();
      chosen = { backend: 'tensorflow', reason: `native TensorFlow (@tensorflow/tfjs-node from ${from})`, warnings };
      return chosen;
    } catch (e) {
      if (preference === 'tensorflow')
        throw new Error(
          `The native engine is not available: ${(e as Error).message}. Run "DenseNet: Install Native Engine", or set densenet.engine.backend to "auto" or "wasm".`,
        );
      const failure = nativeFailure(e instanceof NativeLoadError ? e.errors : [(e as Error).message]);
      tried.push(failure.reason);
      note = failure.note;
    }
  }
  if (preference === 'auto' || preference === 'wasm') {
    try {
      if (options.wasmDir)
        setWasmPaths(options.wasmDir.endsWith(path.sep) ? options.wasmDir : options.wasmDir + path.sep);
      if (!(await tf.setBackend('wasm'))) throw new Error('the WASM backend failed to initialise');
      await tf.ready();
      registerWasmTrainingKernels();
      chosen = {
        backend: 'wasm',
        reason: preference === 'wasm' ? 'WASM, as set in densenet.engine.backend' : `WASM (${tried.join('; ')})`,
        warnings,
        note,
      };
      return chosen;
    } catch (e) {
      if (preference === 'wasm') throw new Error(`The WASM engine failed to start: ${(e as Error).message}`);
      tried.push(`wasm: ${(e as Error).message}`);
    }
  }
  await tf.setBackend('cpu');
  await tf.ready();
  if (preference !== 'cpu')
    warnings.push('Training on the pure-JavaScript CPU backend is very slow (about 1,000x slower than PyTorch).');
  chosen = {
    backend: 'cpu',
    reason: preference === 'cpu' ? 'CPU, as set in densenet.engine.backend' : `CPU (${tried.join('; ')})`,
    warnings,
    note,
  };
  return chosen;
}
