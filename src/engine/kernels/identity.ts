/**
 * `Identity` for the WASM backend without a copy. The engine clones every tensor that an op saves for its
 * gradient (engine.saveTensorsForBackwardMode -> clone -> Identity), and tfjs-backend-wasm 4.22's Identity
 * copies the data: during a training forward pass each activation existed twice (on a DenseNet-BC-40 step,
 * 1.1 GB of the 1.5 GB peak were such copies). Tensors are immutable and the WASM backend counts references to
 * its buffers (its Reshape shares them the same way), so the clone can share the buffer, as the CPU backend's
 * Identity does.
 */
import type { KernelArgs, TensorInfo } from './types';

export function sharedIdentity({ inputs, backend }: KernelArgs): TensorInfo {
  const x = inputs.x;
  (backend as unknown as { incRef(dataId: object): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}
