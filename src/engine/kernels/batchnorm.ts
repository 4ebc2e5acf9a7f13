/**
 * Fused training-mode batch norm (+ ReLU) with a closed-form gradient, replacing the ~20 small elementwise
 * ops and reductions that tf.moments + tf.batchNorm + relu and their autograd run (each a full pass over the
 * activation plus an allocation).
 *
 * On the 'wasm' and 'cpu' backends the work is done by two kernels registered here, which loop over the
 * backend's own memory (the WASM heap; the CPU backend's Float32Arrays) in JavaScript, accumulating in double
 * precision:
 *  - `DenseNetBatchNormReluForward` {x, gamma, beta} -> [y, mean, variance]: one pass for the per-channel
 *    shifted sums Σ(x-k) and Σ(x-k)² (k = the channel's first value, so a large mean offset costs no
 *    precision), one pass for y = max(0, (x - mean) * (rstd * gamma) + beta).
 *  - `DenseNetBatchNormReluBackward` {x, dy, gamma, beta, mean, variance} -> [dx, dgamma, dbeta]: one pass
 *    for dbeta = Σg and dgamma = Σ g*xhat (g = dy where the pre-activation is > 0, when relu), one pass for
 *    dx = gamma*rstd/N * (N*g - dbeta - xhat*dgamma). xhat and the ReLU mask are recomputed from x with the
 *    same float32 mean/variance and the same double arithmetic as the forward kernel, so the mask is exactly
 *    the forward's.
 * On 'wasm' these loops are the fallback: the kernels run the same passes as WebAssembly SIMD (simd.wat,
 * dist/densenet-kernels.wasm, loaded by simdModule.ts into tfjs's own heap memory; f32x4 over channels,
 * sums in f64), 4-6x faster; `batchNormWasmPath()` says which runs. The 'cpu' backend keeps the loops here.
 * Any other backend (e.g. 'tensorflow') runs the same math as a composition of tf ops.
 *
 * Saved for backward: x (shared with the caller, not copied), gamma, beta and the per-channel mean and
 * variance. Neither y nor xhat is kept: nothing activation-sized beyond x itself.
 */
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../tf';
import type { KernelArgs, KernelFunc, TensorInfo } from './types';
import { type EmscriptenModule, type SimdKernels, setBatchNormSimd, simdKernels, simdPath } from './simdModule';

export { setBatchNormSimd };

export const BATCH_NORM_RELU_FORWARD = 'DenseNetBatchNormReluForward';
export const BATCH_NORM_RELU_BACKWARD = 'DenseNetBatchNormReluBackward';

type GradSave = (tensors: Tensor[]) => void;

/** Float32 memory of a backend: views of tensors' data, and fresh float32 outputs. */
interface Memory {
  /** Allocates an (uninitialised) float32 tensor. May move the WASM heap: take views only after all allocations. */
  alloc(shape: number[]): TensorInfo;
  view(t: TensorInfo): Float32Array;
}

/** The parts of BackendWasm used here (not in the public backend type). */
interface WasmBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
  wasm: EmscriptenModule;
}

/** The parts of MathBackendCPU used here. */
interface CpuBackend {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
}

function wasmMemory(backend: unknown): Memory {
  const b = backend as WasmBackend;
  return {
    alloc: (shape) => b.makeOutput(shape, 'float32'),
    view: (t) => b.typedArrayFromHeap(t),
  };
}

function cpuMemory(backend: unknown): Memory {
  const b = backend as CpuBackend;
  return {
    alloc: (shape) => b.makeTensorInfo(shape, 'float32', new Float32Array(shape.reduce((p, d) => p * d, 1))),
    view: (t) => {
      const values = b.data.get(t.dataId).values;
      if (values instanceof Float32Array) return values;
      // A float32 tensor cast from int32/bool shares the integer array (the CPU Cast kernel does not convert).
      if (ArrayBuffer.isView(values)) return Float32Array.from(values as unknown as ArrayLike<number>);
      throw new Error('batch norm: the CPU backend has no values for a tensor');
    },
  };
}

/** Checks the kernel inputs; returns the channel count C and the number of values per channel N. */
function dims(x: TensorInfo, perChannel: TensorInfo[]): { c: number; n: number } {
  if (x.shape.length < 2) throw new Error(`batch norm: x must have rank >= 2, got [${x.shape}]`);
  const c = x.shape[x.shape.length - 1];
  const n = x.shape.slice(0, -1).reduce((p, d) => p * d, 1);
  if (c === 0 || n === 0) throw new Error(`batch norm: x is empty ([${x.shape}])`);
  for (const t of [x, ...perChannel]) {
    if (t.dtype !== 'float32') throw new Error(`batch norm: expected float32 inputs, got ${t.dtype}`);
  }
  for (const t of perChannel) {
    if (t.shape.length !== 1 || t.shape[0] !== c)
      throw new Error(`batch norm: expected per-channel shape [${c}], got [${t.shape}]`);
  }
  return { c, n };
}

/** The forward kernel's inputs, checked: x, gamma, beta, and the batch statistics when given (a recomputation). */
function forwardArgs({ inputs, attrs }: KernelArgs) {
  const { x, gamma, beta, mean, variance } = inputs;
  const given = mean !== undefined && variance !== undefined;
  const { c, n } = dims(x, given ? [gamma, beta, mean, variance] : [gamma, beta]);
  return {
    x,
    gamma,
    beta,
    given: given ? { mean, variance } : undefined,
    c,
    n,
    epsilon: attrs.epsilon as number,
    relu: Boolean(attrs.relu),
  };
}

/** The backward kernel's inputs, checked (dy has x's shape). */
function backwardArgs({ inputs, attrs }: KernelArgs) {
  const { x, dy, gamma, beta, mean, variance } = inputs;
  const { c, n } = dims(x, [gamma, beta, mean, variance]);
  if (dy.dtype !== 'float32' || dy.shape.length !== x.shape.length || dy.shape.some((d, i) => d !== x.shape[i])) {
    throw new Error(`batch norm: dy ([${dy.shape}], ${dy.dtype}) does not match x ([${x.shape}])`);
  }
  return { x, dy, gamma, beta, mean, variance, c, n, epsilon: attrs.epsilon as number, relu: Boolean(attrs.relu) };
}

/** Mean and biased variance per channel from the shifted sums s1 = Σ(x - k), s2 = Σ(x - k)² over n values. */
function finishStats(
  k: ArrayLike<number>,
  s1: ArrayLike<number>,
  s2: ArrayLike<number>,
  n: number,
  mean: Float32Array,
  variance: Float32Array,
): void {
  for (let j = 0; j < mean.length; j++) {
    const m = s1[j] / n;
    mean[j] = k[j] + m;
    variance[j] = Math.max(0, s2[j] / n - m * m);
  }
}

/** 1 / sqrt(variance + epsilon) per channel, in double, from the (float32) variance. */
function rstdOf(variance: Float32Array, epsilon: number): Float64Array {
  const out = new Float64Array(variance.length);
  for (let i = 0; i < out.length; i++) out[i] = 1 / Math.sqrt(variance[i] + epsilon);
  return out;
}

/**
 * The loops run over blocks of whole rows (about BLOCK values), one channel at a time within a block: the
 * channel's parameters and sums stay in locals (per-element Float64Array loads and stores cost ~2x), and the
 * block stays in the L1 cache across its channels.
 */
const BLOCK = 2048;

function blockSize(c: number): number {
  return Math.max(1, Math.floor(BLOCK / c)) * c;
}

/*
 * ReLU and its mask without branches (a mispredicted branch per element costs ~8 ns, 5x the whole loop):
 * (p + |p|) / 2 is exactly max(p, 0) (for p <= 0 it is +0), and +(p > 0) compiles to a flag, not a jump.
 * The pre-activation is computed by the same expression, in double, in both kernels, from the same float32
 * mean and variance: the backward mask is exactly the forward's.
 */

function makeForward(memory: (backend: unknown) => Memory) {
  return (args: KernelArgs): TensorInfo[] => {
    const { x, gamma, beta, given, c, n, epsilon, relu } = forwardArgs(args);
    const mem = memory(args.backend);
    const y = mem.alloc(x.shape.slice());
    const meanOut = mem.alloc([c]);
    const varOut = mem.alloc([c]);
    // Views only now: the allocations above may have grown (and detached) the WASM heap.
    const xv = mem.view(x);
    const yv = mem.view(y);
    const mv = mem.view(meanOut);
    const vv = mem.view(varOut);
    const size = xv.length;
    const step = blockSize(c);

    if (given) {
      // Statistics given (a recomputation with the forward pass's own): the output pass alone.
      mv.set(mem.view(given.mean));
      vv.set(mem.view(given.variance));
      normalise(mem, xv, yv, mv, vv, gamma, beta, epsilon, relu, c, size, step);
      return [y, meanOut, varOut];
    }

    // Per-channel sums of (x - k) and (x - k)^2, k = the channel's first value, in double: the shift makes a
    // large mean offset harmless to the variance.
    const k = new Float64Array(c);
    const s1 = new Float64Array(c);
    const s2 = new Float64Array(c);
    for (let j = 0; j < c; j++) k[j] = xv[j];
    for (let start = 0; start < size; start += step) {
      const end = Math.min(size, start + step);
      for (let j = 0; j < c; j++) {
        const kj = k[j];
        let a = 0;
        let b = 0;
        for (let o = start + j; o < end; o += c) {
          const d = xv[o] - kj;
          a += d;
          b += d * d;
        }
        s1[j] += a;
        s2[j] += b;
      }
    }
    finishStats(k, s1, s2, n, mv, vv);

    normalise(mem, xv, yv, mv, vv, gamma, beta, epsilon, relu, c, size, step);
    return [y, meanOut, varOut];
  };
}

/** y = (x - mean) * (rstd * gamma) + beta (then ReLU), from the float32 mean and variance. */
function normalise(
  mem: Memory,
  xv: Float32Array,
  yv: Float32Array,
  mv: Float32Array,
  vv: Float32Array,
  gamma: TensorInfo,
  beta: TensorInfo,
  epsilon: number,
  relu: boolean,
  c: number,
  size: number,
  step: number,
): void {
  const gv = mem.view(gamma);
  const bv = mem.view(beta);
  const rstd = rstdOf(vv, epsilon);
  for (let start = 0; start < size; start += step) {
    const end = Math.min(size, start + step);
    for (let j = 0; j < c; j++) {
      const m = mv[j];
      const a = rstd[j] * gv[j];
      const b = bv[j];
      if (relu) {
        for (let o = start + j; o < end; o += c) {
          const pre = (xv[o] - m) * a + b;
          yv[o] = (pre + Math.abs(pre)) * 0.5;
        }
      } else {
        for (let o = start + j; o < end; o += c) yv[o] = (xv[o] - m) * a + b;
      }
    }
  }
}

function makeBackward(memory: (backend: unknown) => Memory) {
  return (args: KernelArgs): TensorInfo[] => {
    const { x, dy, gamma, beta, mean: meanIn, variance: varIn, c, n, epsilon, relu } = backwardArgs(args);
    const mem = memory(args.backend);
    const dx = mem.alloc(x.shape.slice());
    const dgammaOut = mem.alloc([c]);
    const dbetaOut = mem.alloc([c]);
    const xv = mem.view(x);
    const dyv = mem.view(dy);
    const dxv = mem.view(dx);
    const mv = mem.view(meanIn);
    const gv = mem.view(gamma);
    const bv = mem.view(beta);
    const size = xv.length;
    const step = blockSize(c);
    const rstd = rstdOf(mem.view(varIn), epsilon);

    // dbeta = sum(g), dgamma = sum(g * xhat), g = dy masked by the forward's ReLU.
    const sg = new Float64Array(c);
    const sgx = new Float64Array(c);
    for (let start = 0; start < size; start += step) {
      const end = Math.min(size, start + step);
      for (let j = 0; j < c; j++) {
        const m = mv[j];
        const r = rstd[j];
        const a = r * gv[j];
        const b = bv[j];
        let sum = 0;
        let sumX = 0;
        if (relu) {
          for (let o = start + j; o < end; o += c) {
            const xc = xv[o] - m;
            const g = dyv[o] * +(xc * a + b > 0);
            sum += g;
            sumX += g * (xc * r);
          }
        } else {
          for (let o = start + j; o < end; o += c) {
            const g = dyv[o];
            sum += g;
            sumX += g * ((xv[o] - m) * r);
          }
        }
        sg[j] += sum;
        sgx[j] += sumX;
      }
    }

    // dx = gamma * rstd * (g - dbeta/N - xhat * dgamma/N)
    for (let start = 0; start < size; start += step) {
      const end = Math.min(size, start + step);
      for (let j = 0; j < c; j++) {
        const m = mv[j];
        const r = rstd[j];
        const a = r * gv[j];
        const b = bv[j];
        const mb = sg[j] / n;
        const md = sgx[j] / n;
        if (relu) {
          for (let o = start + j; o < end; o += c) {
            const xc = xv[o] - m;
            const g = dyv[o] * +(xc * a + b > 0);
            dxv[o] = a * (g - mb - xc * r * md);
          }
        } else {
          for (let o = start + j; o < end; o += c) dxv[o] = a * (dyv[o] - mb - (xv[o] - m) * r * md);
        }
      }
    }
    mem.view(dgammaOut).set(sgx);
    mem.view(dbetaOut).set(sg);
    return [dx, dgammaOut, dbetaOut];
  };
}

/*
 * The WASM backend's kernels run the SIMD loops of simd.wat (simdModule.ts) when they load, else
 * the JavaScript loops above. They compute the elementwise values (y, the ReLU mask, dx) in float32 and the
 * per-channel sums in double; the per-channel values they take are prepared here, in double then rounded to
 * float32, identically in the forward pass, its recomputation with given statistics and the backward pass
 * (a = float32(rstd * gamma)), so the mask and the recomputed y are exactly the forward's. Per-channel
 * scratch arrays live in a buffer malloc'ed on the tfjs heap for the call.
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

function reduceAxes(rank: number): number[] {
  return Array.from({ length: rank - 1 }, (_, i) => i);
}

/** One step of the customGrad functions: the normalised value and the gradient, for the current backend. */
type Step = (x: Tensor, gamma: Tensor, beta: Tensor) => { y: Tensor; mean: Tensor; variance: Tensor };
type Grad = (x: Tensor, dy: Tensor, gamma: Tensor, beta: Tensor, mean: Tensor, variance: Tensor) => Tensor[];

function fusedForward(epsilon: number, relu: boolean): Step {
  return (x, gamma, beta) => {
    const [y, mean, variance] = tf
      .engine()
      .runKernel(BATCH_NORM_RELU_FORWARD, { x, gamma, beta }, { epsilon, relu }) as Tensor[];
    return { y, mean, variance };
  };
}

function fusedBackward(epsilon: number, relu: boolean): Grad {
  return (x, dy, gamma, beta, mean, variance) =>
    tf
      .engine()
      .runKernel(BATCH_NORM_RELU_BACKWARD, { x, dy, gamma, beta, mean, variance }, { epsilon, relu }) as Tensor[];
}

/** The same math as tf ops, for backends without the fused kernels. */
function opsForward(epsilon: number, relu: boolean): Step {
  return (x, gamma, beta) => {
    const { mean, variance } = tf.moments(x, reduceAxes(x.rank));
    const rstd = tf.rsqrt(tf.add(variance, epsilon));
    const pre = tf.add(tf.mul(tf.mul(tf.sub(x, mean), rstd), gamma), beta);
    return { y: relu ? tf.relu(pre) : pre, mean, variance };
  };
}

function opsBackward(epsilon: number, relu: boolean): Grad {
  return (x, dy, gamma, beta, mean, variance) => {
    const axes = reduceAxes(x.rank);
    const n = x.size / x.shape[x.rank - 1];
    const rstd = tf.rsqrt(tf.add(variance, epsilon));
    const xhat = tf.mul(tf.sub(x, mean), rstd); // the forward's (x - mean) * rstd, same ops
    const g = relu ? tf.where(tf.greater(tf.add(tf.mul(xhat, gamma), beta), 0), dy, tf.zerosLike(dy)) : dy;
    const dbeta = tf.sum(g, axes);
    const dgamma = tf.sum(tf.mul(g, xhat), axes);
    const dx = tf.mul(tf.mul(gamma, tf.div(rstd, n)), tf.sub(tf.sub(tf.mul(g, n), dbeta), tf.mul(xhat, dgamma)));
    return [dx, dgamma, dbeta];
  };
}

function hasFusedKernels(): boolean {
  const backend = tf.getBackend();
  if (backend === 'wasm' || backend === 'cpu') registerBatchNormKernels();
  return Boolean(tf.getKernel(BATCH_NORM_RELU_FORWARD, backend) && tf.getKernel(BATCH_NORM_RELU_BACKWARD, backend));
}

function run(
  forward: Step,
  backward: Grad,
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
): { y: Tensor; mean: Tensor; variance: Tensor } {
  // customGrad's value is a single tensor, and it disposes whatever else its function makes: mean and
  // variance leave it kept, and come back to the caller's scope as clones (sharing the data).
  let stats: Tensor[] = [];
  const op = tf.customGrad((...args: (Tensor | GradSave)[]) => {
    const [xi, gi, bi] = args as Tensor[];
    const save = args[3] as GradSave;
    const { y, mean, variance } = forward(xi, gi, bi);
    save([xi, gi, bi, mean, variance]);
    stats = [tf.keep(mean), tf.keep(variance)];
    return {
      value: y,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [sx, sg, sb, sm, sv] = saved;
        return backward(sx, dy, sg, sb, sm, sv);
      },
    };
  });
  let y: Tensor;
  try {
    y = op(x, gamma, beta);
  } catch (e) {
    tf.dispose(stats);
    throw e;
  }
  const [mean, variance] = stats.map((t) => t.clone());
  tf.dispose(stats);
  return { y, mean, variance };
}

/** Per-channel parameters as float32 [C] (a reshape for [1,..,1,C] ones; the gradient flows back through it). */
function perChannel(t: Tensor, c: number, name: string): Tensor {
  if (t.size !== c)
    throw new Error(`batchNormRelu: ${name} must have ${c} values (one per channel), got shape [${t.shape}]`);
  const f = t.dtype === 'float32' ? t : tf.cast(t, 'float32');
  return f.rank === 1 ? f : tf.reshape(f, [c]);
}

/**
 * Training-mode batch norm over all axes but the last (NHWC), optionally followed by ReLU. Differentiable
 * w.r.t. x, gamma, beta. mean/variance are the batch statistics (variance biased, i.e. divided by N, like
 * tf.moments), not differentiated, returned for the caller's moving-average update.
 *
 * Uses the fused kernels on the 'wasm' and 'cpu' backends, a composition of tf ops elsewhere. Saves x (no
 * copy), gamma, beta, mean and variance for the backward pass; y and xhat are recomputed, not kept.
 */
export function batchNormRelu(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  epsilon: number,
  relu: boolean,
): { y: Tensor; mean: Tensor; variance: Tensor } {
  if (x.rank < 2) throw new Error(`batchNormRelu: x must have rank >= 2 (NHWC or [N, C]), got shape [${x.shape}]`);
  const c = x.shape[x.rank - 1];
  return tf.tidy(() => {
    const xf = x.dtype === 'float32' ? x : tf.cast(x, 'float32');
    const g = perChannel(gamma, c, 'gamma');
    const b = perChannel(beta, c, 'beta');
    const fused = x.size > 0 && hasFusedKernels();
    const step = fused
      ? run(fusedForward(epsilon, relu), fusedBackward(epsilon, relu), xf, g, b)
      : run(opsForward(epsilon, relu), opsBackward(epsilon, relu), xf, g, b);
    return step;
  });
}

/** The tf-ops composition batchNormRelu runs on backends without the fused kernels (exported for tests). */
export function batchNormReluOps(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  epsilon: number,
  relu: boolean,
): { y: Tensor; mean: Tensor; variance: Tensor } {
  const c = x.shape[x.rank - 1];
  return tf.tidy(() =>
    run(
      opsForward(epsilon, relu),
      opsBackward(epsilon, relu),
      x,
      perChannel(gamma, c, 'gamma'),
      perChannel(beta, c, 'beta'),
    ),
  );
}

/**
 * The forward computation of batchNormRelu without recording a gradient (for a caller that differentiates
 * by hand, like the memory-efficient dense block): y and the batch statistics. On the same input it gives
 * bit-identical results to batchNormRelu, so a recomputation reproduces the forward pass exactly.
 */
export function batchNormReluForward(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  epsilon: number,
  relu: boolean,
): { y: Tensor; mean: Tensor; variance: Tensor } {
  const c = x.shape[x.rank - 1];
  return tf.tidy(() => {
    const xf = x.dtype === 'float32' ? x : tf.cast(x, 'float32');
    const step = x.size > 0 && hasFusedKernels() ? fusedForward(epsilon, relu) : opsForward(epsilon, relu);
    return step(xf, perChannel(gamma, c, 'gamma'), perChannel(beta, c, 'beta'));
  });
}

/**
 * The gradient of batchNormRelu from its input, the output gradient and the batch statistics of the forward
 * pass (the closed form batchNormRelu's own backward pass uses).
 */
export function batchNormReluGradient(
  x: Tensor,
  dy: Tensor,
  gamma: Tensor,
  beta: Tensor,
  mean: Tensor,
  variance: Tensor,
  epsilon: number,
  relu: boolean,
): { dx: Tensor; dGamma: Tensor; dBeta: Tensor } {
  const c = x.shape[x.rank - 1];
  return tf.tidy(() => {
    const grad = x.size > 0 && hasFusedKernels() ? fusedBackward(epsilon, relu) : opsBackward(epsilon, relu);
    const [dx, dGamma, dBeta] = grad(x, dy, perChannel(gamma, c, 'gamma'), perChannel(beta, c, 'beta'), mean, variance);
    return { dx, dGamma, dBeta };
  });
}

/**
 * batchNormRelu's output from given batch statistics (those its forward pass returned), without recording a
 * gradient: the recomputation of the memory-efficient block, one pass over x instead of two, bit-identical
 * to the forward pass's output.
 */
export function batchNormReluWithStats(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  mean: Tensor,
  variance: Tensor,
  epsilon: number,
  relu: boolean,
): Tensor {
  const c = x.shape[x.rank - 1];
  return tf.tidy(() => {
    const g = perChannel(gamma, c, 'gamma');
    const b = perChannel(beta, c, 'beta');
    if (x.size > 0 && x.dtype === 'float32' && hasFusedKernels()) {
      const [y] = tf
        .engine()
        .runKernel(BATCH_NORM_RELU_FORWARD, { x, gamma: g, beta: b, mean, variance }, { epsilon, relu }) as Tensor[];
      return y;
    }
    const xf = x.dtype === 'float32' ? x : tf.cast(x, 'float32');
    const rstd = tf.rsqrt(tf.add(variance, epsilon));
    const pre = tf.add(tf.mul(tf.mul(tf.sub(xf, mean), rstd), g), b);
    return relu ? tf.relu(pre) : pre;
  });
}
