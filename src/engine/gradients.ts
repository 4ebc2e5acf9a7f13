/**
 * A backward pass that frees memory as it goes.
 *
 * tfjs-core 4.22's `engine.gradients` (behind tf.grads, tf.variableGrads and optimizer.minimize) keeps every
 * intermediate gradient and every tensor saved for the backward pass until the whole backward pass ends: peak
 * memory is the forward activations plus a gradient for each of them. Measured on a DenseNet-BC-40 training
 * step (batch 32, WASM): 1.5 GB of live tensors after the forward pass, 2.6 GB at the end of the backward
 * pass; the WASM heap grows to that peak and never shrinks.
 *
 * This replacement walks the same filtered tape in the same order with the same gradient functions, but:
 * - the gradient of a node's outputs is released as soon as that node has propagated it to its inputs (in
 *   reverse topological order every consumer of an output has already run);
 * - the tensors a node saved for its gradient are released right after the node's gradient ran.
 * So the live set shrinks during the backward pass instead of doubling, and the results are identical. It
 * also keeps its own reference to the tape, so a gradient function may itself compute gradients (as the
 * memory-efficient dense block's recomputation does) without the nested call clearing the outer tape.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tensor } from '@tensorflow/tfjs';

/**
 * A TensorFlow.js namespace (the bundled one, or tfjs-node's): the same type as ./tf's `Tf`, spelled here so
 * that ./tf, which installs this backward pass, is not imported back.
 */
type Tf = typeof tfjs;

interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, Tensor>;
  outputs: Tensor[];
  saved?: Tensor[];
  gradient?: (dys: (Tensor | null)[]) => Record<string, () => Tensor>;
}

interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  startTape(): void;
  endTape(): void;
  tidy<T>(name: string | (() => T), f?: () => T): T;
  gradients: (
    f: () => Tensor,
    xs: Tensor[],
    dy?: Tensor,
    allowNoGradients?: boolean,
  ) => { value: Tensor; grads: Tensor[] };
  __densenetStreamingBackward?: boolean;
  __densenetStockGradients?: EngineInternals['gradients'];
}

/** The nodes of `tape` on a path from one of `xs` to `y`, with inputs that do not depend on `xs` pruned. */
export function nodesBetween(tape: TapeNode[], xs: Tensor[], y: Tensor): TapeNode[] {
  const fromX = new Set<number>(xs.map((x) => x.id));
  const nodeFromX = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((t) => fromX.has(t.id))) {
      nodeFromX.add(node.id);
      for (const o of node.outputs) fromX.add(o.id);
    }
  }
  const toY = new Set<number>([y.id]);
  const nodeToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    if (node.outputs.some((o) => toY.has(o.id))) {
      nodeToY.add(node.id);
      for (const t of Object.values(node.inputs)) toY.add(t.id);
    }
  }
  const result: TapeNode[] = [];
  for (const node of tape) {
    if (!nodeFromX.has(node.id) || !nodeToY.has(node.id)) continue;
    const inputs: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(node.inputs)) if (fromX.has(t.id)) inputs[name] = t;
    result.push({ ...node, inputs, outputs: node.outputs });
  }
  return result;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function streamingGradients(
  tf: Tf,
  engine: EngineInternals,
  f: () => Tensor,
  xs: Tensor[],
  dy?: Tensor,
  allowNoGradients = false,
): { value: Tensor; grads: Tensor[] } {
  if (xs.length === 0) throw new Error('gradients() received an empty list of xs.');
  if (dy != null && dy.dtype !== 'float32') throw new Error(`dy must have 'float32' dtype, but has '${dy.dtype}'`);
  let tape: TapeNode[] = [];
  const y = engine.scopedRun(
    () => engine.startTape(),
    () => {
      tape = engine.state.activeTape ?? [];
      engine.endTape();
    },
    () => engine.tidy('forward', f),
  );
  if (!(y instanceof tf.Tensor)) throw new Error('The result y returned by f() must be a tensor.');
  const nodes = nodesBetween(tape, xs, y);
  if (!allowNoGradients && nodes.length === 0) {
    throw new Error(
      'Cannot compute gradient of y=f(x) with respect to x. Make sure that the f you passed encloses all operations that lead from x to y.',
    );
  }
  const outermost = engine.state.gradientDepth === 0;
  return engine.tidy('backward', () => {
    const grad = new Map<number, Tensor>();
    // How many map entries hold each tensor object: a gradient function may return its dy unchanged.
    const holders = new Map<Tensor, number>();
    const hold = (id: number, t: Tensor) => {
      grad.set(id, t);
      holders.set(t, (holders.get(t) ?? 0) + 1);
    };
    const release = (id: number) => {
      const t = grad.get(id);
      if (!t) return;
      grad.delete(id);
      const n = (holders.get(t) ?? 1) - 1;
      if (n > 0) holders.set(t, n);
      else {
        holders.delete(t);
        if (t !== dy) t.dispose();
      }
    };
    const keepIds = new Set(xs.map((x) => x.id));
    hold(y.id, dy ?? tf.ones(y.shape));
    for (let i = nodes.length - 1; i >= 0; i--) {
      const node = nodes[i];
      if (!node.gradient)
        throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
      const inputGradients = node.gradient(node.outputs.map((o) => grad.get(o.id) ?? null));
      for (const [name, x] of Object.entries(node.inputs)) {
        if (!(name in inputGradients))
          throw new Error(
            `Cannot backprop through input ${name}. Available gradients found: ${Object.keys(inputGradients)}.`,
          );
        const dx = engine.tidy(() => inputGradients[name]());
        if (dx.dtype !== 'float32')
          throw new Error(
            `Error in gradient for op ${node.kernelName}. The gradient of input ${name} must have 'float32' dtype, but has '${dx.dtype}'`,
          );
        if (!sameShape(dx.shape, x.shape))
          throw new Error(
            `Error in gradient for op ${node.kernelName}. The gradient of input '${name}' has shape '${dx.shape}', which does not match the shape of the input '${x.shape}'`,
          );
        const previous = grad.get(x.id);
        if (previous === undefined) hold(x.id, dx);
        else {
          const sum = tf.add(previous, dx);
          release(x.id);
          dx.dispose();
          hold(x.id, sum);
        }
      }
      for (const o of node.outputs) if (!keepIds.has(o.id)) release(o.id);
      if (outermost) for (const t of node.saved ?? []) if (!holders.has(t) && !t.isDisposed) t.dispose();
    }
    const grads = xs.map((x) => grad.get(x.id) as Tensor);
    if (outermost) {
      // Nodes off the x -> y paths saved tensors too.
      for (const node of tape) for (const t of node.saved ?? []) if (!holders.has(t) && !t.isDisposed) t.dispose();
      if (engine.state.gradientDepth === 0) engine.state.activeTape = null;
    }
    return { value: y, grads };
  });
}

/** Replaces the gradients() of a tfjs namespace's engine with the streaming one (once per engine). */
export function installStreamingBackward(tf: Tf): void {
  const engine = tf.engine() as unknown as EngineInternals;
  if (engine.__densenetStreamingBackward) return;
  engine.__densenetStockGradients = engine.gradients;
  engine.gradients = (f, xs, dy, allowNoGradients) => streamingGradients(tf, engine, f, xs, dy, allowNoGradients);
  engine.__densenetStreamingBackward = true;
}

/** Runs `fn` with tfjs's own gradients() (for comparisons in tests and benchmarks). */
export function withStockBackward<T>(tf: Tf, fn: () => T): T {
  const engine = tf.engine() as unknown as EngineInternals;
  const ours = engine.gradients;
  if (!engine.__densenetStockGradients) return fn();
  engine.gradients = engine.__densenetStockGradients;
  try {
    return fn();
  } finally {
    engine.gradients = ours;
  }
}
