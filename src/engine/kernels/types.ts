/** The parts of tfjs's TensorInfo, kernel-function and backend types the WASM kernels use. */
import type { tf } from '../tf';

export interface TensorInfo {
  dataId: object;
  shape: number[];
  dtype: string;
}
export type Attrs = Record<string, unknown>;
export type Inputs = Record<string, TensorInfo>;
export interface Backend {
  disposeData(dataId: object): boolean;
  /** BackendWasm's view of a tensor's data on the WASM heap (not in the public backend type). */
  typedArrayFromHeap?(t: TensorInfo): Float32Array;
}
export interface KernelArgs {
  inputs: Inputs;
  backend: Backend;
  attrs: Attrs;
}
export type Kernel = (inputs: Inputs, backend: Backend, attrs?: Attrs) => TensorInfo;
export type KernelFunc = Parameters<typeof tf.registerKernel>[0]['kernelFunc'];

export const BACKEND = 'wasm';
