/**
 * Loader of the project's WASM-SIMD module (simd.wat, compiled by esbuild.mjs to dist/densenet-kernels.wasm
 * and, for tfjs's threaded build with its shared memory, dist/densenet-kernels-shared.wasm). It holds inner
 * loops for the WASM backend: those of the fused batch-norm kernels (`stats`, `normalise`, `backwardSums`,
 * `backwardDx`; batchnormKernels.ts), the row copies of the channel-axis Concat and SplitV kernels (`copyRows`;
 * concat.ts), the convolution gradients (`flipSwap`, `convFilterGrad`; register.ts) and the max pool gradient
 * (`maxPoolGrad`; pool.ts).
 *
 * The module imports the tfjs-backend-wasm Emscripten module's own WebAssembly.Memory, so its functions
 * read and write tensors in place at their heap byte offsets; growth of that memory is seen automatically.
 * It is instantiated synchronously, once per backend instance. When it cannot be loaded (file missing, a
 * runtime without WASM SIMD, no memory found, or `setBatchNormSimd(false)`), the batch-norm kernels keep their
 * JavaScript loops, Concat/SplitV the backend's built-in kernels and the filter gradient its XNNPACK composition:
 * `batchNormWasmPath()` says which path is active.
 */
import * as fs from 'fs';
import * as path from 'path';

/** The parts of the WebAssembly JS API used here (the project's type libraries do not declare it). */
interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (
    module: object,
    imports: Record<string, Record<string, unknown>>,
  ) => { exports: Record<string, unknown> };
  Memory: abstract new (...args: never[]) => WasmMemory;
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** A window's output size, size, strides and top/left padding: ho, wo, kh, kw, sh, sw, pt, pl. */
type PoolWindow = [ho: number, wo: number, kh: number, kw: number, sh: number, sw: number, pt: number, pl: number];
/** A convolution's output size, output channels, then its kernel size, strides and top/left padding. */
type ConvRest = [
  ho: number,
  wo: number,
  co: number,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
  pt: number,
  pl: number,
];

/** The functions of simd.wat (all pointers are byte offsets in the tfjs heap). */
export interface SimdKernels {
  stats(x: number, rows: number, c: number, k: number, s1: number, s2: number): void;
  normalise(x: number, y: number, rows: number, c: number, m: number, a: number, b: number, relu: number): void;
  backwardSums(
    x: number,
    dy: number,
    rows: number,
    c: number,
    m: number,
    a: number,
    b: number,
    r: number,
    sg: number,
    sgx: number,
    relu: number,
  ): void;
  backwardDx(
    x: number,
    dy: number,
    dx: number,
    rows: number,
    c: number,
    m: number,
    a: number,
    b: number,
    r: number,
    mb: number,
    md: number,
    relu: number,
  ): void;
  /** Copies rows of `width` floats between row strides (byte addresses, float counts): Concat/SplitV (concat.ts). */
  copyRows(src: number, dst: number, rows: number, width: number, srcStride: number, dstStride: number): void;
  /** dx [n,h,w,c] = the gradient of a max pool of x [n,h,w,c] giving dy [n,ho,wo,c]; c a multiple of 4 (pool.ts). */
  maxPoolGrad(x: number, dy: number, dx: number, n: number, h: number, w: number, c: number, ...rest: PoolWindow): void;
  /** dst [taps,co,ci] = src [taps,ci,co] with the taps reversed and the channel axes swapped (register.ts). */
  flipSwap(src: number, dst: number, taps: number, ci: number, co: number): void;
  /**
   * dw [kh,kw,ci,co] = the filter gradient of a dilation-1 NHWC convolution of x [n,h,w,ci] giving dy [n,ho,wo,co]
   * with strides sh, sw and top/left padding pt, pl; ci and co multiples of 4 (Conv2DBackpropFilter, register.ts).
   */
  convFilterGrad(
    x: number,
    dy: number,
    dw: number,
    n: number,
    h: number,
    w: number,
    ci: number,
    ...rest: ConvRest
  ): void;
}

/** The parts of the tfjs-backend-wasm Emscripten module used here. */
export interface EmscriptenModule {
  /** The memory, on the threaded build. */
  wasmMemory?: WasmMemory;
  /** The instance's exports (holding the memory on the single-threaded builds). */
  asm?: { memory?: WasmMemory };
  _malloc(bytes: number): number;
  _free(ptr: number): void;
}

export const SIMD_KERNELS_FILE = 'densenet-kernels.wasm';
const SHARED_FILE = 'densenet-kernels-shared.wasm';

/** Per backend instance: the loaded kernels, or null (the JavaScript loops), with why. */
const loaded = new WeakMap<object, { kernels: SimdKernels | null; reason: string }>();
let enabled = true;
let lastReason = 'not loaded yet';
/** Compiled modules, per file (shared by backend instances). */
const modules = new Map<string, object>();

/** Folders that may hold the .wasm files: beside the bundle (dist/), or dist/ from the compiled tests (out/...). */
function candidates(file: string): string[] {
  const dirs = [
    __dirname,
    path.resolve(__dirname, '../../../../dist'),
    path.resolve(__dirname, '../../dist'),
    path.resolve(__dirname, '../dist'),
    path.resolve(process.cwd(), 'dist'),
  ];
  return [...new Set(dirs)].map((d) => path.join(d, file));
}

function compile(file: string): object {
  let m = modules.get(file);
  if (!m) {
    try {
      const found = candidates(file).find((f) => fs.existsSync(f));
      if (!found)
        throw new Error(
          `${file} not found (looked in ${candidates(file)
            .map((f) => path.dirname(f))
            .join(', ')})`,
        );
      m = new WA.Module(fs.readFileSync(found));
    } catch (e) {
      m = e instanceof Error ? e : new Error(String(e));
    }
    modules.set(file, m);
  }
  if (m instanceof Error) throw m;
  return m;
}

function memoryOf(wasm: EmscriptenModule): WasmMemory {
  const memory = wasm.wasmMemory ?? wasm.asm?.memory;
  if (!(memory instanceof WA.Memory)) throw new Error('the tfjs WASM module exposes no WebAssembly.Memory');
  return memory;
}

function load(wasm: EmscriptenModule): { kernels: SimdKernels | null; reason: string } {
  try {
    const memory = memoryOf(wasm);
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const instance = new WA.Instance(compile(shared ? SHARED_FILE : SIMD_KERNELS_FILE), { env: { memory } });
    return {
      kernels: instance.exports as unknown as SimdKernels,
      reason: `WASM SIMD (${shared ? SHARED_FILE : SIMD_KERNELS_FILE})`,
    };
  } catch (e) {
    return { kernels: null, reason: `JavaScript loops: ${(e as Error).message}` };
  }
}

/** The SIMD kernels for this backend's Emscripten module, or null when they are unavailable or disabled. */
export function simdKernels(wasm: EmscriptenModule | undefined): SimdKernels | null {
  if (!wasm || !enabled) return null;
  let entry = loaded.get(wasm);
  if (!entry) {
    entry = load(wasm);
    loaded.set(wasm, entry);
  }
  lastReason = entry.reason;
  return entry.kernels;
}

/**
 * Which inner loops the WASM backend's batch-norm kernels run for `wasm` (the backend's Emscripten module,
 * `backend.wasm`): 'simd' (simd.wat) or 'js', with the reason.
 */
export function simdPath(wasm: EmscriptenModule | undefined): { path: 'simd' | 'js'; reason: string } {
  if (!enabled) return { path: 'js', reason: 'JavaScript loops: SIMD disabled (setBatchNormSimd(false))' };
  if (!wasm) return { path: 'js', reason: 'JavaScript loops: no WASM backend' };
  const kernels = simdKernels(wasm);
  return { path: kernels ? 'simd' : 'js', reason: lastReason };
}

/**
 * Turns the SIMD module off (batch norm runs its JavaScript loops, Concat/SplitV the built-in kernels, the filter
 * gradient its XNNPACK composition) or back on: for tests and comparisons.
 */
export function setBatchNormSimd(on: boolean): void {
  enabled = on;
}
