/**
 * `Sum` and `Mean` for the WASM backend over all axes but the last (per-channel reductions of NHWC tensors,
 * as batch norm does: axes [0,1,2] of a 4-D tensor, [0] of a 2-D one). WASM's own kernels reduce only
 * innermost axes, so for these they transpose the whole tensor first. Here X, seen as [1, M, 1, C] (a
 * reshape, which shares its data), goes through WASM's `AvgPool` with an [M, 1] window: XNNPACK average
 * pooling, which reads X once, in order, and gives the per-channel mean; `Sum` scales it by M. Anything else
 * (other axes, other dtypes, M < 2, empty tensors) runs the built-in kernel.
 *
 * (A matMul ones[1, M] x X[M, C] is no faster: WASM's XNNPACK matMul packs its right operand into a fresh
 * operator on each new tensor, and caches that copy of X until X is disposed.)
 *
 * Like the kernels of index.ts these call the backend's kernel functions directly, release every
 * intermediate with `backend.disposeData`, and return a single TensorInfo.
 */
import { tf } from '../tf';
import { BACKEND, type Kernel, type KernelArgs, type KernelFunc, type TensorInfo } from './types';

/** The kernel functions this module registers. */
const ours = new Set<unknown>();

function captured(name: string): Kernel {
  const fn = tf.getKernel(name, BACKEND)?.kernelFunc;
  if (!fn) throw new Error(`The WASM backend has no '${name}' kernel`);
  return (inputs, backend, attrs = {}) => fn({ inputs: inputs as never, backend, attrs: attrs as never }) as TensorInfo;
}

/** Whether `axis` (any order, negative allowed) is exactly every axis of a rank-`rank` tensor but the last. */
function allButLast(axis: unknown, rank: number): boolean {
  if (rank < 2 || axis === undefined || axis === null) return false;
  const axes = [...new Set(tf.util.parseAxisParam(axis as number | number[], new Array<number>(rank).fill(1)))];
  return axes.length === rank - 1 && axes.every((a) => a >= 0 && a < rank - 1);
}

function makeReduce(builtin: Kernel, mean: boolean, K: Record<string, Kernel>) {
  return ({ inputs, backend, attrs }: KernelArgs): TensorInfo => {
    const { x } = inputs;
    const rank = x.shape.length;
    const c = x.shape[rank - 1];
    const m = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    if (x.dtype !== 'float32' || m < 2 || c === 0 || !allButLast(attrs.axis, rank) || !backend.typedArrayFromHeap) {
      return builtin(inputs, backend, attrs);
    }
    const xr = K.Reshape({ x }, backend, { shape: [1, m, 1, c] });
    let out: TensorInfo;
    try {
      out = K.AvgPool({ x: xr }, backend, { filterSize: [m, 1], strides: [1, 1], pad: 'valid' });
    } finally {
      backend.disposeData(xr.dataId);
    }
    if (!mean) {
      const vals = backend.typedArrayFromHeap(out);
      for (let i = 0; i < vals.length; i++) vals[i] *= m;
    }
    // A fresh buffer owned by this kernel: set its shape in place, as WASM's own reductions do.
    out.shape = attrs.keepDims ? x.shape.map((d, i) => (i === rank - 1 ? d : 1)) : [c];
    return out;
  };
}

/**
 * Registers `Sum` and `Mean` for the 'wasm' backend (after it is registered); calling it again does nothing.
 */
export function registerWasmReduceKernels(): void {
  if (ours.has(tf.getKernel('Sum', BACKEND)?.kernelFunc)) return;
  const K: Record<string, Kernel> = {};
  for (const name of ['Reshape', 'AvgPool']) K[name] = captured(name);
  const replacements: Record<string, (args: KernelArgs) => TensorInfo> = {
    Sum: makeReduce(captured('Sum'), false, K),
    Mean: makeReduce(captured('Mean'), true, K),
  };
  for (const [kernelName, kernelFunc] of Object.entries(replacements)) {
    tf.unregisterKernel(kernelName, BACKEND);
    ours.add(kernelFunc);
    tf.registerKernel({ kernelName, backendName: BACKEND, kernelFunc: kernelFunc as KernelFunc });
  }
}
