/**
 * Training kernels for the WASM backend, built from what that backend does fast (XNNPACK Conv2D and matMul,
 * elementwise ops): tfjs-backend-wasm 4.22 has no `Conv2DBackpropFilter`, and its `Conv2DBackpropInput`,
 * `Tile` and transposed `BatchMatMul` are naive loops, 3-14x (Tile: 100x) slower than these compositions
 * (bench/kernels.mjs). The filter gradient of larger kernels runs a loop of the project's SIMD module instead
 * (simd.wat `convFilterGrad`).
 *
 * Each kernel calls the backend's own kernel functions directly (as the backends do internally), not tf ops:
 * no engine tensors are made, and every intermediate buffer is released with `backend.disposeData` before
 * the kernel returns its single output TensorInfo.
 *
 * Gradients of dilated convolutions are not a concern: tfjs-core's Conv2D gradient rejects dilations > 1,
 * so the backprop kernels only ever see dilation 1 (their attrs have no dilations).
 */
import { tf } from '../tf';
import { BACKEND, type Backend, type Kernel, type KernelArgs, type KernelFunc, type TensorInfo } from './types';
import { registerWasmReduceKernels } from './reduce';
import { registerBatchNormKernels } from './batchnormKernels';
import { registerWasmConcatKernels } from './concat';
import { registerWasmPoolKernels } from './pool';
import { sharedIdentity } from './identity';
import type { WasmBackend } from './batchnormLoops';
import { simdKernels } from './simdModule';

type Pad = 'valid' | 'same' | number | number[][];
type Conv2DInfoArgs = Parameters<typeof tf.backend_util.computeConv2DInfo>;

/** The kernel functions this module registers, to tell them from the backend's own. */
const ours = new Set<unknown>();
/** The backend's own kernel functions, captured before this module replaces any of them. */
const originals = new Map<string, Kernel>();

/** The backend's own `name` kernel (never one of ours, so a replacement cannot end up calling itself). */
function original(name: string): Kernel {
  const fn = tf.getKernel(name, BACKEND)?.kernelFunc;
  if (fn && !ours.has(fn)) {
    originals.set(
      name,
      (inputs, backend, attrs = {}) => fn({ inputs: inputs as never, backend, attrs: attrs as never }) as TensorInfo,
    );
  }
  const kernel = originals.get(name);
  if (!kernel) throw new Error(`The WASM backend has no '${name}' kernel`);
  return kernel;
}

/** The backend kernels the replacements are composed of (as captured by `registerWasmTrainingKernels`). */
let base: Record<string, Kernel> | undefined;

function kernels(): Record<string, Kernel> {
  if (!base) throw new Error('registerWasmTrainingKernels() has not run');
  return base;
}

/** Calls `fn` with a tracker for intermediates, releasing all of them (not the result) when it returns. */
function scoped(backend: Backend, fn: (temp: (t: TensorInfo) => TensorInfo) => TensorInfo): TensorInfo {
  const temps: TensorInfo[] = [];
  try {
    return fn((t) => {
      temps.push(t);
      return t;
    });
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

function explicitPad(top: number, bottom: number, left: number, right: number): number[][] {
  return [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ];
}

/**
 * dW[kh,kw,ci,co] = sum over n,oh,ow of x[n, oh*s - padTop + kh, ow*s - padLeft + kw, ci] * dy[n,oh,ow,co].
 * That is a convolution of x seen as [Ci,H,W,N] (batch Ci, channels N) with dy seen as a filter
 * [Ho,Wo,N,Co], stride 1, dilation = the forward stride, padded top/left like the forward conv; the output
 * [Ci,KH,KW,Co] is transposed to the filter layout. A 1x1, stride-1, unpadded conv is a plain matMul.
 */
function conv2DBackpropFilter({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const { x, dy } = inputs;
  const filterShape = attrs.filterShape as Conv2DInfoArgs[1];
  const nchw = attrs.dataFormat === 'NCHW';
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as Conv2DInfoArgs[0],
    filterShape,
    attrs.strides as Conv2DInfoArgs[2],
    1,
    attrs.pad as Pad as Conv2DInfoArgs[4],
    attrs.dimRoundingMode as Conv2DInfoArgs[5],
    false,
    nchw ? 'channelsFirst' : 'channelsLast',
  );
  const {
    batchSize,
    inHeight,
    inWidth,
    inChannels,
    outHeight,
    outWidth,
    outChannels,
    filterHeight,
    filterWidth,
    strideHeight,
    strideWidth,
    padInfo,
  } = info;
  const simd = nchw ? null : simdFilterGrad(backend, x, dy, info);
  if (simd) return simd;
  const K = kernels();
  return scoped(backend, (temp) => {
    if (
      !nchw &&
      filterHeight === 1 &&
      filterWidth === 1 &&
      strideHeight === 1 &&
      strideWidth === 1 &&
      padInfo.top === 0 &&
      padInfo.left === 0
    ) {
      // dW = x^T dy over M = N*H*W rows. WASM's matMul is only fast untransposed (XNNPACK), so transpose the
      // narrower operand to [C, M] explicitly; as a 4-D transpose, which WASM does ~1.7x faster than 2-D.
      const m = batchSize * inHeight * inWidth;
      const flatT = (t: TensorInfo, c: number): TensorInfo =>
        temp(
          K.Reshape({ x: temp(K.Transpose({ x: t }, backend, { perm: [3, 0, 1, 2] })) }, backend, { shape: [1, c, m] }),
        );
      const flat = (t: TensorInfo, c: number): TensorInfo => temp(K.Reshape({ x: t }, backend, { shape: [1, m, c] }));
      const noTranspose = { transposeA: false, transposeB: false };
      if (inChannels <= outChannels) {
        const dw = temp(K.BatchMatMul({ a: flatT(x, inChannels), b: flat(dy, outChannels) }, backend, noTranspose));
        return K.Reshape({ x: dw }, backend, { shape: filterShape });
      }
      const dwT = temp(K.BatchMatMul({ a: flatT(dy, outChannels), b: flat(x, inChannels) }, backend, noTranspose));
      const dw = temp(K.Transpose({ x: dwT }, backend, { perm: [0, 2, 1] }));
      return K.Reshape({ x: dw }, backend, { shape: filterShape });
    }
    let xT = temp(K.Transpose({ x }, backend, { perm: nchw ? [1, 2, 3, 0] : [3, 1, 2, 0] })); // [Ci,H,W,N]
    const dyF = temp(K.Transpose({ x: dy }, backend, { perm: nchw ? [2, 3, 0, 1] : [1, 2, 0, 3] })); // [Ho,Wo,N,Co]
    // Bottom/right padding that makes the output exactly KH x KW; when negative, the last rows/columns of x
    // are never read by the forward conv, so crop them instead.
    const bottom = (outHeight - 1) * strideHeight + filterHeight - inHeight - padInfo.top;
    const right = (outWidth - 1) * strideWidth + filterWidth - inWidth - padInfo.left;
    if (bottom < 0 || right < 0) {
      xT = temp(
        K.Slice({ x: xT }, backend, {
          begin: [0, 0, 0, 0],
          size: [inChannels, inHeight + Math.min(bottom, 0), inWidth + Math.min(right, 0), batchSize],
        }),
      );
    }
    const out = temp(
      K.Conv2D({ x: xT, filter: dyF }, backend, {
        strides: [1, 1],
        dilations: [strideHeight, strideWidth],
        pad: explicitPad(padInfo.top, Math.max(bottom, 0), padInfo.left, Math.max(right, 0)),
        dataFormat: 'NHWC',
      }),
    ); // [Ci,KH,KW,Co]
    return K.Transpose({ x: out }, backend, { perm: [1, 2, 0, 3] });
  });
}

/**
 * The filter gradient by the SIMD module's `convFilterGrad` (simd.wat: register-blocked outer products over
 * cache-sized chunks of output pixels), for NHWC float32 convolutions with a kernel larger than 1x1; null for
 * other shapes, or when the SIMD module is unavailable. Channel counts that are not multiples of 4 (the RGB
 * stem's 3) are zero-padded up to one, and the padding's rows of the result cut off. Where it runs, it takes
 * 1.6-3.6x less CPU time than the XNNPACK composition (DenseNet shapes, batch 32; bench/kernels.mjs); 1x1
 * kernels stay on the matMul, which is as fast.
 */
function simdFilterGrad(
  backend: Backend,
  x: TensorInfo,
  dy: TensorInfo,
  info: ReturnType<typeof tf.backend_util.computeConv2DInfo>,
): TensorInfo | null {
  const { inChannels, outChannels, filterHeight, filterWidth, strideHeight, strideWidth, padInfo } = info;
  if (x.dtype !== 'float32' || dy.dtype !== 'float32' || filterHeight * filterWidth === 1) return null;
  const b = backend as unknown as WasmBackend;
  const k = simdKernels(b.wasm);
  if (!k) return null;
  const K = kernels();
  const up4 = (c: number): number => Math.ceil(c / 4) * 4;
  return scoped(backend, (temp) => {
    const padChannels = (t: TensorInfo, c: number): TensorInfo =>
      c % 4 === 0
        ? t
        : temp(
            K.PadV2({ x: t }, backend, {
              paddings: [
                [0, 0],
                [0, 0],
                [0, 0],
                [0, up4(c) - c],
              ],
              constantValue: 0,
            }),
          );
    const xp = padChannels(x, inChannels);
    const dyp = padChannels(dy, outChannels);
    const [ci, co] = [up4(inChannels), up4(outChannels)];
    const dw = b.makeOutput([filterHeight, filterWidth, ci, co], 'float32');
    const [n, h, w] = x.shape; // NHWC: dy is [n, outHeight, outWidth, outChannels]
    // Addresses only after the allocations (they may grow the heap).
    const at = (t: TensorInfo): number => b.typedArrayFromHeap(t).byteOffset;
    k.convFilterGrad(
      at(xp),
      at(dyp),
      at(dw),
      n,
      h,
      w,
      ci,
      dy.shape[1],
      dy.shape[2],
      co,
      filterHeight,
      filterWidth,
      strideHeight,
      strideWidth,
      padInfo.top,
      padInfo.left,
    );
    if (ci === inChannels && co === outChannels) return dw;
    return K.Slice({ x: temp(dw) }, backend, {
      begin: [0, 0, 0, 0],
      size: [filterHeight, filterWidth, inChannels, outChannels],
    });
  });
}

/**
 * dx = dy (zero-dilated by the stride) convolved, stride 1, with the filter flipped in space and with its
 * channel axes swapped ([KH,KW,Co,Ci]). Paddings for which that would need a negative pad (possible only
 * with explicit pads or some strided 'valid' shapes) and NCHW run the built-in kernel.
 */
function makeConv2DBackpropInput(builtin: Kernel) {
  return ({ inputs, backend, attrs }: KernelArgs): TensorInfo => {
    const { dy, filter } = inputs;
    if (attrs.dataFormat === 'NCHW') return builtin(inputs, backend, attrs);
    const info = tf.backend_util.computeConv2DInfo(
      attrs.inputShape as Conv2DInfoArgs[0],
      filter.shape as Conv2DInfoArgs[1],
      attrs.strides as Conv2DInfoArgs[2],
      1,
      attrs.pad as Pad as Conv2DInfoArgs[4],
      attrs.dimRoundingMode as Conv2DInfoArgs[5],
    );
    const {
      batchSize,
      inHeight,
      inWidth,
      outHeight,
      outWidth,
      outChannels,
      filterHeight,
      filterWidth,
      strideHeight,
      strideWidth,
      padInfo,
    } = info;
    const top = filterHeight - 1 - padInfo.top;
    const left = filterWidth - 1 - padInfo.left;
    // The dilated dy is outHeight*stride long (stride-1 zeros after each sample, also after the last).
    const bottom = inHeight - outHeight * strideHeight - top + filterHeight - 1;
    const right = inWidth - outWidth * strideWidth - left + filterWidth - 1;
    if (top < 0 || left < 0 || bottom < 0 || right < 0) return builtin(inputs, backend, attrs);
    const K = kernels();
    return scoped(backend, (temp) => {
      let dyD = dy;
      if (strideHeight > 1 || strideWidth > 1) {
        const dy5 = temp(
          K.Reshape({ x: dy }, backend, { shape: [batchSize * outHeight, 1, outWidth, 1, outChannels] }),
        );
        const padded = temp(
          K.PadV2({ x: dy5 }, backend, {
            paddings: [
              [0, 0],
              [0, strideHeight - 1],
              [0, 0],
              [0, strideWidth - 1],
              [0, 0],
            ],
            constantValue: 0,
          }),
        );
        dyD = temp(
          K.Reshape({ x: padded }, backend, {
            shape: [batchSize, outHeight * strideHeight, outWidth * strideWidth, outChannels],
          }),
        );
      }
      const wT = temp(
        flipSwap(backend, filter) ??
          K.Transpose({ x: temp(K.Reverse({ x: filter }, backend, { dims: [0, 1] })) }, backend, {
            perm: [0, 1, 3, 2],
          }),
      );
      if (filterHeight * filterWidth === 1 && dyD === dy) {
        // A 1x1 stride-1 input gradient is dy [M,Co] times wT [Co,Ci]: XNNPACK's matMul packs wT as it is, where
        // Conv2D would first transpose it to its own filter layout.
        const [ci, m] = [wT.shape[3], batchSize * outHeight * outWidth];
        const flat = (t: TensorInfo, shape: number[]): TensorInfo => temp(K.Reshape({ x: t }, backend, { shape }));
        const dx = temp(
          K.BatchMatMul({ a: flat(dy, [1, m, outChannels]), b: flat(wT, [1, outChannels, ci]) }, backend, {
            transposeA: false,
            transposeB: false,
          }),
        );
        return K.Reshape({ x: dx }, backend, { shape: attrs.inputShape as number[] });
      }
      return K.Conv2D({ x: dyD, filter: wT }, backend, {
        strides: [1, 1],
        dilations: [1, 1],
        pad: explicitPad(top, bottom, left, right),
        dataFormat: 'NHWC',
      });
    });
  };
}

/**
 * The filter [KH,KW,Ci,Co] flipped in space with its channel axes swapped ([KH,KW,Co,Ci]) by the SIMD module's
 * `flipSwap`, or null without it (then a Reverse and a Transpose, which the WASM backend runs as per-element
 * index loops: 13 ms for a [1,1,1024,512] filter, where one convolution with it over [32,4,4,*] takes 15 ms).
 */
function flipSwap(backend: Backend, filter: TensorInfo): TensorInfo | null {
  const b = backend as unknown as WasmBackend;
  const k = filter.dtype === 'float32' ? simdKernels(b.wasm) : null;
  if (!k) return null;
  const [kh, kw, ci, co] = filter.shape;
  const out = b.makeOutput([kh, kw, co, ci], 'float32');
  k.flipSwap(b.typedArrayFromHeap(filter).byteOffset, b.typedArrayFromHeap(out).byteOffset, kh * kw, ci, co);
  return out;
}

/**
 * Tile as a broadcast add: x reshaped to [1,d0,1,d1,...] plus zeros of shape [r0,d0,r1,d1,...], reshaped to
 * the tiled shape. Size-1 axes are dropped and runs of axes of the same kind merged, to keep the rank low.
 * Types WASM cannot add (bool, string, complex) run the built-in kernel.
 */
function makeTile(builtin: Kernel) {
  return ({ inputs, backend, attrs }: KernelArgs): TensorInfo => {
    const { x } = inputs;
    const reps = attrs.reps as number[];
    if (x.dtype !== 'float32' && x.dtype !== 'int32') return builtin(inputs, backend, attrs);
    // Axes as [size in x, size in the output]: a repeat axis is [1, r], a data axis [d, d].
    const axes: [number, number][] = [];
    const push = (a: number, b: number): void => {
      if (b === 1) return;
      const last = axes[axes.length - 1];
      if (last && (last[0] === 1) === (a === 1)) {
        last[0] *= a;
        last[1] *= b;
      } else {
        axes.push([a, b]);
      }
    };
    x.shape.forEach((d, i) => {
      push(1, reps[i]);
      push(d, d);
    });
    const K = kernels();
    return scoped(backend, (temp) => {
      const xr = temp(K.Reshape({ x }, backend, { shape: axes.map((a) => a[0]) }));
      const zeros = temp(K.Fill({}, backend, { shape: axes.map((a) => a[1]), value: 0, dtype: x.dtype }));
      const sum = temp(K.Add({ a: xr, b: zeros }, backend));
      return K.Reshape({ x: sum }, backend, { shape: x.shape.map((d, i) => d * reps[i]) });
    });
  };
}

/**
 * BatchMatMul with transposed operands as an explicit transpose and WASM's XNNPACK matMul, which it uses only
 * for untransposed, unbatched operands (anything else is a naive loop). Small products stay on the loop:
 * XNNPACK packs the fresh right operand on each call, which costs more than it saves below ~1M multiply-adds.
 */
function makeBatchMatMul(builtin: Kernel) {
  return ({ inputs, backend, attrs }: KernelArgs): TensorInfo => {
    const { a, b } = inputs;
    const { transposeA, transposeB } = attrs;
    const batch = (t: TensorInfo): number => t.shape.slice(0, -2).reduce((p, d) => p * d, 1);
    const [m, k] = transposeA ? a.shape.slice(-2).reverse() : a.shape.slice(-2);
    const n = transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
    if ((!transposeA && !transposeB) || batch(a) !== 1 || batch(b) !== 1 || m * n * k < 1 << 20) {
      return builtin(inputs, backend, attrs);
    }
    const K = kernels();
    return scoped(backend, (temp) => {
      const swapLast = (t: TensorInfo): TensorInfo => {
        const perm = t.shape.map((_, i) => i);
        perm.push(...perm.splice(-2).reverse());
        return temp(K.Transpose({ x: t }, backend, { perm }));
      };
      return builtin({ a: transposeA ? swapLast(a) : a, b: transposeB ? swapLast(b) : b }, backend, {
        ...attrs,
        transposeA: false,
        transposeB: false,
      });
    });
  };
}

/**
 * Registers (or replaces) `Conv2DBackpropFilter`, `Conv2DBackpropInput`, `Tile`, `BatchMatMul` and `Identity` for the
 * 'wasm' backend. Call after the WASM backend is registered (e.g. after `tf.setBackend('wasm')`); calling
 * it again does nothing.
 */
export function registerWasmTrainingKernels(): void {
  registerBatchNormKernels(); // fused batch norm + ReLU forward/backward for 'wasm' and 'cpu' (batchnormKernels.ts)
  if (ours.has(tf.getKernel('Conv2DBackpropFilter', BACKEND)?.kernelFunc)) return;
  registerWasmReduceKernels(); // Sum and Mean over all axes but the last (reduce.ts)
  registerWasmConcatKernels(); // Concat and SplitV along the channel axis as SIMD row copies (concat.ts)
  registerWasmPoolKernels(); // MaxPoolGrad as a SIMD loop (pool.ts)
  base = {};
  for (const name of ['Conv2D', 'Transpose', 'Reshape', 'BatchMatMul', 'Slice', 'PadV2', 'Reverse', 'Fill', 'Add']) {
    base[name] = original(name);
  }
  const replacements: Record<string, (args: KernelArgs) => TensorInfo> = {
    Conv2DBackpropFilter: conv2DBackpropFilter,
    Conv2DBackpropInput: makeConv2DBackpropInput(original('Conv2DBackpropInput')),
    Tile: makeTile(original('Tile')),
    BatchMatMul: makeBatchMatMul(base.BatchMatMul),
    Identity: sharedIdentity,
  };
  for (const [kernelName, kernelFunc] of Object.entries(replacements)) {
    if (tf.getKernel(kernelName, BACKEND)) tf.unregisterKernel(kernelName, BACKEND);
    ours.add(kernelFunc);
    tf.registerKernel({ kernelName, backendName: BACKEND, kernelFunc: kernelFunc as KernelFunc });
  }
}
