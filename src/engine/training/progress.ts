/**
 * The running figures of a training session: each epoch's mean loss and accuracy, its images and time, and
 * the pace of the session's steps that the remaining time is estimated from. Pure: clocks are passed in.
 */
import type { Step } from './step';

/** A weighted running mean (loss and accuracy over an epoch's batches, weighted by batch size). */
export class Mean {
  private sum = 0;
  private n = 0;
  add(value: number, weight: number): void {
    this.sum += value * weight;
    this.n += weight;
  }
  get value(): number {
    return this.n > 0 ? this.sum / this.n : NaN;
  }
}

/** The epoch under way: its running means, the images trained and the batches done. */
export class EpochProgress {
  readonly loss = new Mean();
  readonly accuracy = new Mean();
  images = 0;

  /**
   * @param epoch 0-based epoch number.
   * @param step batches done in the epoch (a resumed epoch starts after those of its checkpoint).
   * @param startedAt when the epoch's training started (ms).
   */
  constructor(
    readonly epoch: number,
    public step = 0,
    readonly startedAt = Date.now(),
  ) {}

  /** Records a trained batch of `size` examples (accuracy: of its decisions, see Step). */
  add(s: Step, size: number): void {
    this.step++;
    this.images += size;
    this.loss.add(s.loss, size);
    if (s.decisions > 0) this.accuracy.add(s.correct / s.decisions, s.decisions);
  }

  /** Images per second of the epoch's training until `now` (ms). */
  imagesPerSecond(now: number): number {
    return this.images / Math.max(1e-3, (now - this.startedAt) / 1000);
  }
}

/** The pace of a session's steps (those after a resume count from the resume). */
export class StepClock {
  private steps = 0;
  private firstStepDone: number;

  constructor(private readonly sessionStart = Date.now()) {
    this.firstStepDone = sessionStart;
  }

  /** Records a step finished at `now` (ms). */
  stepDone(now: number): void {
    this.steps++;
    if (this.steps === 1) this.firstStepDone = now;
  }

  /**
   * Seconds per step at `now`. The first step also compiles kernels and warms caches: the rate comes from the
   * steps after it once there are some.
   */
  secondsPerStep(now: number): number {
    return (this.steps > 1 ? (now - this.firstStepDone) / (this.steps - 1) : now - this.sessionStart) / 1000;
  }
}

/** Steps left in a training of `epochs` epochs of `stepsPerEpoch` steps, after `step` steps of epoch `epoch` (0-based). */
export function remainingSteps(epoch: number, step: number, epochs: number, stepsPerEpoch: number): number {
  return stepsPerEpoch - step + (epochs - epoch - 1) * stepsPerEpoch;
}
