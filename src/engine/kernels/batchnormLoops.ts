/**
 * The fused batch norm (+ ReLU) kernels of batchnormKernels.ts as JavaScript loops over a backend's own float32
 * memory (the WASM heap; the CPU backend's Float32Arrays), accumulating in double precision, and the input
 * checks and per-channel maths their WASM SIMD path (batchnormKernels.ts) shares with them:
 *  - forward {x, gamma, beta} -> [y, mean, variance]: one pass for the per-channel shifted sums Σ(x-k) and
 *    Σ(x-k)² (k = the channel's first value, so a large mean offset costs no precision), one pass for
 *    y = max(0, (x - mean) * (rstd * gamma) + beta);
 *  - backward {x, dy, gamma, beta, mean, variance} -> [dx, dgamma, dbeta]: one pass for dbeta = Σg and
 *    dgamma = Σ g*xhat (g = dy where the pre-activation is > 0, when relu), one pass for
 *    dx = gamma*rstd/N * (N*g - dbeta - xhat*dgamma). xhat and the ReLU mask are recomputed from x with the
 *    same float32 mean/variance and the same double arithmetic as the forward kernel, so the mask is exactly
 *    the forward's.
 * The 'cpu' backend always runs these loops; 'wasm' runs them when its SIMD module is unavailable.
 */
import type { EmscriptenModule } from './simdModule';
import type { KernelArgs, TensorInfo } from './types';

/** Float32 memory of a backend: views of tensors' data, and fresh float32 outputs. */
export interface Memory {
  /** Allocates an (uninitialised) float32 tensor. May move the WASM heap: take views only after all allocations. */
  alloc(shape: number[]): TensorInfo;
  view(t: TensorInfo): Float32Array;
}

/** The parts of BackendWasm used here and by the SIMD path (not in the public backend type). */
export interface WasmBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
  wasm: EmscriptenModule;
}

/** The parts of MathBackendCPU used here. */
interface CpuBackend {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
}

/** The WASM backend's memory: outputs and views on its heap. */
export function wasmMemory(backend: unknown): Memory {
  const b = backend as WasmBackend;
  return {
    alloc: (shape) => b.makeOutput(shape, 'float32'),
    view: (t) => b.typedArrayFromHeap(t),
  };
}

/** The CPU backend's memory: its tensors' Float32Arrays. */
export function cpuMemory(backend: unknown): Memory {
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
export function forwardArgs({ inputs, attrs }: KernelArgs) {
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
export function backwardArgs({ inputs, attrs }: KernelArgs) {
  const { x, dy, gamma, beta, mean, variance } = inputs;
  const { c, n } = dims(x, [gamma, beta, mean, variance]);
  if (dy.dtype !== 'float32' || dy.shape.length !== x.shape.length || dy.shape.some((d, i) => d !== x.shape[i])) {
    throw new Error(`batch norm: dy ([${dy.shape}], ${dy.dtype}) does not match x ([${x.shape}])`);
  }
  return { x, dy, gamma, beta, mean, variance, c, n, epsilon: attrs.epsilon as number, relu: Boolean(attrs.relu) };
}

/** Mean and biased variance per channel from the shifted sums s1 = Σ(x - k), s2 = Σ(x - k)² over n values. */
export function finishStats(
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
export function rstdOf(variance: Float32Array, epsilon: number): Float64Array {
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

/** The forward kernel over the memory of the backend `memory` gives. */
export function makeForward(memory: (backend: unknown) => Memory) {
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

/** The backward kernel over the memory of the backend `memory` gives. */
export function makeBackward(memory: (backend: unknown) => Memory) {
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
