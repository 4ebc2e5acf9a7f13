/**
 * The fused training-mode batch norm (+ ReLU) kernels, registered for the 'wasm' and 'cpu' backends:
 *  - `DenseNetBatchNormReluForward` {x, gamma, beta} -> [y, mean, variance] (with {mean, variance} given as
 *    inputs too: a recomputation with the forward pass's statistics, the output pass alone);
 *  - `DenseNetBatchNormReluBackward` {x, dy, gamma, beta, mean, variance} -> [dx, dgamma, dbeta].
 * attrs: {epsilon, relu}. The passes are described in batchnormLoops.ts, whose JavaScript loops the 'cpu'
 * backend runs. On 'wasm' the kernels run the same passes as WebAssembly SIMD (simd.wat,
 * dist/densenet-kernels.wasm, loaded by simdModule.ts into tfjs's own heap memory; f32x4 over channels, sums
 * in f64), 4-6x faster, and the JavaScript loops are the fallback; `batchNormWasmPath()` says which runs.
 * The differentiable ops over these kernels are in batchnorm.ts.
 */
import { tf } from '../tf';
import {
  backwardArgs,
  cpuMemory,
  finishStats,
  forwardArgs,
  makeBackward,
  makeForward,
  rstdOf,
  type WasmBackend,
  wasmMemory,
} from './batchnormLoops';
import { type SimdKernels, setBatchNormSimd, simdKernels, simdPath } from './simdModule';
import type { KernelArgs, KernelFunc, TensorInfo } from './types';

export { setBatchNormSimd };

export const BATCH_NORM_RELU_FORWARD = 'DenseNetBatchNormReluForward';
export const BATCH_NORM_RELU_BACKWARD = 'DenseNetBatchNormReluBackward';

/*
 * The WASM backend's kernels run the SIMD loops of simd.wat (simdModule.ts) when they load, else the
 * JavaScript loops of batchnormLoops.ts. The SIMD loops compute the elementwise values (y, the ReLU mask, dx)
 * in float32 and the per-channel sums in double; the per-channel values they take are prepared here, in double
 * then rounded to float32, identically in the forward pass, its recomputation with given statistics and the
 * backward pass (a = float32(rstd * gamma)), so the mask and the recomputed y are exactly the forward's.
 * Per-channel scratch arrays live in a buffer malloc'ed on the tfjs heap for the call.
 */

type SimdKernel = (k: SimdKernels, args: KernelArgs) => TensorInfo[];

function withSimd(simd: SimdKernel, js: (args: KernelArgs) => TensorInfo[]): (args: KernelArgs) => TensorInfo[] {
  return (args) => {
    const k = simdKernels((args.backend as unknown as WasmBackend).wasm);
    return k ? simd(k, args) : js(args);
  };
}

function simdForward(k: SimdKernels, args: KernelArgs): TensorInfo[] {
  const { x, gamma, beta, given, c, n, epsilon, relu } = forwardArgs(args);
  const b = args.backend as unknown as WasmBackend;
  const y = b.makeOutput(x.shape.slice(), 'float32');
  const meanOut = b.makeOutput([c], 'float32');
  const varOut = b.makeOutput([c], 'float32');
  // Scratch: f64 k, s1, s2, then f32 a (malloc'ed: 8-byte aligned).
  const scratch = b.wasm._malloc(28 * c);
  if (!scratch) throw new Error(`batch norm: could not allocate ${28 * c} bytes on the WASM heap`);
  try {
    // Views and addresses only now: the allocations above may have grown (and detached) the heap.
    const xv = b.typedArrayFromHeap(x);
    const mv = b.typedArrayFromHeap(meanOut);
    const vv = b.typedArrayFromHeap(varOut);
    const heap = xv.buffer;
    if (given) {
      mv.set(b.typedArrayFromHeap(given.mean));
      vv.set(b.typedArrayFromHeap(given.variance));
    } else {
      // Shifted sums, k = the channel's first value (as the JavaScript loop).
      const f64 = new Float64Array(heap, scratch, 3 * c);
      f64.fill(0);
      for (let j = 0; j < c; j++) f64[j] = xv[j];
      k.stats(xv.byteOffset, n, c, scratch, scratch + 8 * c, scratch + 16 * c);
      finishStats(f64.subarray(0, c), f64.subarray(c, 2 * c), f64.subarray(2 * c), n, mv, vv);
    }
    const a = new Float32Array(heap, scratch + 24 * c, c);
    const rstd = rstdOf(vv, epsilon);
    const gv = b.typedArrayFromHeap(gamma);
    for (let j = 0; j < c; j++) a[j] = rstd[j] * gv[j];
    k.normalise(
      xv.byteOffset,
      b.typedArrayFromHeap(y).byteOffset,
      n,
      c,
      mv.byteOffset,
      a.byteOffset,
      b.typedArrayFromHeap(beta).byteOffset,
      relu ? 1 : 0,
    );
  } finally {
    b.wasm._free(scratch);
  }
  return [y, meanOut, varOut];
}

function simdBackward(k: SimdKernels, args: KernelArgs): TensorInfo[] {
  const { x, dy, gamma, beta, mean: meanIn, variance: varIn, c, n, epsilon, relu: withRelu } = backwardArgs(args);
  const relu = withRelu ? 1 : 0;
  const b = args.backend as unknown as WasmBackend;
  const dx = b.makeOutput(x.shape.slice(), 'float32');
  const dgammaOut = b.makeOutput([c], 'float32');
  const dbetaOut = b.makeOutput([c], 'float32');
  // Scratch: f64 sg, sgx, then f32 a, r, mb, md.
  const scratch = b.wasm._malloc(32 * c);
  if (!scratch) throw new Error(`batch norm: could not allocate ${32 * c} bytes on the WASM heap`);
  try {
    const xv = b.typedArrayFromHeap(x);
    const heap = xv.buffer;
    const sums = new Float64Array(heap, scratch, 2 * c);
    const f32 = new Float32Array(heap, scratch + 16 * c, 4 * c);
    const gv = b.typedArrayFromHeap(gamma);
    const rstd = rstdOf(b.typedArrayFromHeap(varIn), epsilon);
    sums.fill(0);
    for (let j = 0; j < c; j++) {
      f32[j] = rstd[j] * gv[j]; // a, as in the forward pass
      f32[c + j] = rstd[j]; // r
    }
    const xp = xv.byteOffset;
    const dyp = b.typedArrayFromHeap(dy).byteOffset;
    const mp = b.typedArrayFromHeap(meanIn).byteOffset;
    const bp = b.typedArrayFromHeap(beta).byteOffset;
    const ap = scratch + 16 * c;
    const rp = ap + 4 * c;
    k.backwardSums(xp, dyp, n, c, mp, ap, bp, rp, scratch, scratch + 8 * c, relu);
    for (let j = 0; j < c; j++) {
      f32[2 * c + j] = sums[j] / n; // mb
      f32[3 * c + j] = sums[c + j] / n; // md
    }
    k.backwardDx(xp, dyp, b.typedArrayFromHeap(dx).byteOffset, n, c, mp, ap, bp, rp, rp + 4 * c, rp + 8 * c, relu);
    b.typedArrayFromHeap(dgammaOut).set(sums.subarray(c));
    b.typedArrayFromHeap(dbetaOut).set(sums.subarray(0, c));
  } finally {
    b.wasm._free(scratch);
  }
  return [dx, dgammaOut, dbetaOut];
}

/**
 * Which inner loops the WASM backend's fused batch-norm kernels run: 'simd' (simd.wat, loaded from
 * dist/densenet-kernels.wasm) or 'js' (the JavaScript loops: the file is missing, the runtime has no WASM
 * SIMD, or setBatchNormSimd(false)), with the reason. Needs the WASM backend to be initialised.
 */
export function batchNormWasmPath(): { path: 'simd' | 'js'; reason: string } {
  const backend = tf.findBackend('wasm') as unknown as WasmBackend | null;
  return simdPath(backend?.wasm);
}

/**
 * Registers the fused forward and backward kernels for the 'wasm' and 'cpu' backends (neither needs to be
 * initialised yet). Calling it again does nothing.
 */
export function registerBatchNormKernels(): void {
  const kernels: [string, string, KernelFunc][] = [
    [BATCH_NORM_RELU_FORWARD, 'wasm', withSimd(simdForward, makeForward(wasmMemory)) as unknown as KernelFunc],
    [BATCH_NORM_RELU_BACKWARD, 'wasm', withSimd(simdBackward, makeBackward(wasmMemory)) as unknown as KernelFunc],
    [BATCH_NORM_RELU_FORWARD, 'cpu', makeForward(cpuMemory) as unknown as KernelFunc],
    [BATCH_NORM_RELU_BACKWARD, 'cpu', makeBackward(cpuMemory) as unknown as KernelFunc],
  ];
  for (const [kernelName, backendName, kernelFunc] of kernels) {
    if (!tf.getKernel(kernelName, backendName)) tf.registerKernel({ kernelName, backendName, kernelFunc });
  }
}
