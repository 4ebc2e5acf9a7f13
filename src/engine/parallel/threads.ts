/**
 * How many threads a data-parallel training uses: the request of the spec or the command line, bounded by the
 * cores, the batch size and the backend (the native TensorFlow backend uses every core itself).
 */
import * as os from 'os';

export const MAX_THREADS = 64;

/** Logical cores of this machine. */
export function coreCount(): number {
  return (os as { availableParallelism?: () => number }).availableParallelism?.() ?? os.cpus().length;
}

/**
 * The number of threads a training uses: `requested` (0: one per core; absent: 1, the single-threaded engine
 * as before), at most MAX_THREADS and the batch size; 1 on the native TensorFlow backend, which uses all cores
 * itself. `note` says why it differs from the request, if it does.
 */
export function resolveThreads(
  requested: number | undefined,
  backend: string,
  batchSize = Infinity,
): { threads: number; note?: string } {
  if (requested === undefined) return { threads: 1 };
  if (!Number.isInteger(requested) || requested < 0)
    throw new Error(`threads must be a whole number >= 0 (got ${requested})`);
  const wanted = requested === 0 ? coreCount() : requested;
  if (backend === 'tensorflow') {
    return {
      threads: 1,
      note:
        wanted > 1
          ? `the native TensorFlow backend uses every core itself: training on 1 engine thread (threads ${requested} ignored)`
          : undefined,
    };
  }
  if (backend !== 'wasm' && backend !== 'cpu')
    return {
      threads: 1,
      note:
        wanted > 1
          ? `data-parallel threads need the wasm or cpu backend (this is ${backend}): training on 1 thread`
          : undefined,
    };
  let threads = Math.min(wanted, MAX_THREADS);
  let note: string | undefined;
  if (threads > batchSize) {
    threads = batchSize;
    note = `${wanted} threads requested, but a batch of ${batchSize} cannot use more than ${batchSize}`;
  }
  return { threads: Math.max(1, threads), note };
}
