/**
 * Shared by the WASM kernel tests: deterministic data, and running the same ops on the CPU backend (the
 * reference) and on WASM. Error measure: max|wasm - cpu| / max|cpu| over the whole output.
 */
import * as assert from 'assert';
import type { Tensor } from '@tensorflow/tfjs';
import { registerWasmTrainingKernels } from '../../src/engine/kernels/register';
import { tf } from '../../src/engine/tf';

export type Backend = 'cpu' | 'wasm';
export type Result = { data: Float32Array | Int32Array; shape: number[]; dtype: string }[];

/** Deterministic values in [offset - 1, offset + 1) (a linear congruential generator), the same on both backends. */
export function values(size: number, seed: number, offset = 0): Float32Array {
  const out = new Float32Array(size);
  let s = seed >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = offset + s / 2 ** 31 - 1;
  }
  return out;
}

export function relError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.strictEqual(actual.length, expected.length, 'sizes differ');
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

/** Runs `fn` on each backend and returns its outputs' values, shapes and dtypes (no tensors left behind). */
export async function onBoth(fn: () => Tensor[]): Promise<Record<Backend, Result>> {
  const result = {} as Record<Backend, Result>;
  for (const backend of ['cpu', 'wasm'] as const) {
    await tf.setBackend(backend);
    const outs = tf.tidy(fn);
    result[backend] = outs.map((t) => ({
      data: t.dataSync() as Float32Array | Int32Array,
      shape: t.shape,
      dtype: t.dtype,
    }));
    tf.dispose(outs);
  }
  return result;
}

/** WASM's outputs have CPU's shapes and dtypes, and values within `tolerance` relative error. */
export function assertClose(r: Record<Backend, Result>, label: string, tolerance = 1e-4): void {
  r.cpu.forEach((expected, i) => {
    assert.deepStrictEqual(r.wasm[i].shape, expected.shape, `${label} output ${i} shape`);
    assert.strictEqual(r.wasm[i].dtype, expected.dtype, `${label} output ${i} dtype`);
    const err = relError(r.wasm[i].data, expected.data);
    assert.ok(err < tolerance, `${label} output ${i}: relative error ${err}`);
  });
}

/**
 * Mocha hooks for a suite of WASM kernel tests: the WASM backend with DenseNet Lab's kernels registered before
 * the suite (registering twice must change nothing: `kernels` are checked to be the same functions after a second
 * registration), the previous backend restored after it.
 */
export function useWasmKernels(kernels: string[] = []): void {
  let previous: string | undefined;
  before(async () => {
    previous = tf.getBackend();
    assert.ok(await tf.setBackend('wasm'), 'the WASM backend initialises');
    registerWasmTrainingKernels();
    const registered = kernels.map((k) => tf.getKernel(k, 'wasm')?.kernelFunc);
    registerWasmTrainingKernels(); // idempotent
    kernels.forEach((k, i) =>
      assert.strictEqual(tf.getKernel(k, 'wasm')?.kernelFunc, registered[i], `${k} registered once`),
    );
  });
  after(async () => {
    if (previous) await tf.setBackend(previous);
  });
}
