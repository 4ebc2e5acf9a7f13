/**
 * `MaxPoolGrad` for the WASM backend by the SIMD module's `maxPoolGrad` (simd.wat): each window's first maximum
 * found 4 channels at a time, dy added there. tfjs-backend-wasm 4.22's kernel visits every input element's
 * covering windows one value at a time: 60 ms of CPU time for DenseNet-121@64's stem pool ([32,34,34,64], 3x3
 * stride 2), where this one takes 4 ms. Channel counts that are not multiples of 4, other dtypes, or a backend
 * without the SIMD module run the built-in kernel.
 */
import { tf } from '../tf';
import type { WasmBackend } from './batchnormLoops';
import { simdKernels } from './simdModule';
import { BACKEND, type Kernel, type KernelArgs, type KernelFunc, type TensorInfo } from './types';

const ours = new Set<unknown>();
type PoolInfoArgs = Parameters<typeof tf.backend_util.computePool2DInfo>;

function makeMaxPoolGrad(builtin: Kernel) {
  return ({ inputs, backend, attrs }: KernelArgs): TensorInfo => {
    const { dy, input } = inputs;
    const b = backend as unknown as WasmBackend;
    const k = simdKernels(b.wasm);
    const c = input.shape[3];
    if (!k || input.dtype !== 'float32' || dy.dtype !== 'float32' || c % 4 !== 0)
      return builtin(inputs, backend, attrs);
    const info = tf.backend_util.computePool2DInfo(
      input.shape as PoolInfoArgs[0],
      attrs.filterSize as PoolInfoArgs[1],
      attrs.strides as PoolInfoArgs[2],
      1,
      attrs.pad as PoolInfoArgs[4],
      attrs.dimRoundingMode as PoolInfoArgs[5],
    );
    const dx = b.makeOutput(input.shape.slice(), 'float32');
    // Addresses only after the allocation (it may grow the heap).
    const at = (t: TensorInfo): number => b.typedArrayFromHeap(t).byteOffset;
    const [n, h, w] = input.shape;
    k.maxPoolGrad(
      at(input),
      at(dy),
      at(dx),
      n,
      h,
      w,
      c,
      info.outHeight,
      info.outWidth,
      info.filterHeight,
      info.filterWidth,
      info.strideHeight,
      info.strideWidth,
      info.padInfo.top,
      info.padInfo.left,
    );
    return dx;
  };
}

/** Registers `MaxPoolGrad` for the 'wasm' backend (after it is registered); idempotent. */
export function registerWasmPoolKernels(): void {
  const fn = tf.getKernel('MaxPoolGrad', BACKEND)?.kernelFunc;
  if (!fn || ours.has(fn)) return;
  const builtin: Kernel = (inputs, backend, attrs = {}) =>
    fn({ inputs: inputs as never, backend, attrs: attrs as never }) as TensorInfo;
  const kernelFunc = makeMaxPoolGrad(builtin);
  tf.unregisterKernel('MaxPoolGrad', BACKEND);
  ours.add(kernelFunc);
  tf.registerKernel({ kernelName: 'MaxPoolGrad', backendName: BACKEND, kernelFunc: kernelFunc as KernelFunc });
}
