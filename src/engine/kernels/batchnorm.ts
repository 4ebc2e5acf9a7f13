/**
 * Fused training-mode batch norm (+ ReLU) with a closed-form gradient, replacing the ~20 small elementwise
 * ops and reductions that tf.moments + tf.batchNorm + relu and their autograd run (each a full pass over the
 * activation plus an allocation).
 *
 * This file holds the differentiable ops (a tf.customGrad over a forward and a backward step). On the 'wasm'
 * and 'cpu' backends the steps are the two fused kernels of batchnormKernels.ts (JavaScript loops in
 * batchnormLoops.ts; on 'wasm', WebAssembly SIMD loops of simd.wat when they load). Any other backend (e.g.
 * 'tensorflow') runs the same math as a composition of tf ops, here.
 *
 * Saved for backward: x (shared with the caller, not copied), gamma, beta and the per-channel mean and
 * variance. Neither y nor xhat is kept: nothing activation-sized beyond x itself.
 */
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../tf';
import { BATCH_NORM_RELU_BACKWARD, BATCH_NORM_RELU_FORWARD, registerBatchNormKernels } from './batchnormKernels';

type GradSave = (tensors: Tensor[]) => void;

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
