/**
 * The dashboard's four charts (loss, accuracy, learning rate, images/s) and their series: the run shown (per
 * batch, smoothed with an EMA, per epoch, validation) and the overlays of other runs of the spec.
 */
import type { BatchMetrics } from '../../src/protocol/engine';
import type { HistoryPoint } from '../../src/protocol/dashboard';
import { Ema, ema } from '../../src/metrics/dashboardMath';
import { LineChart, type LineDataset, type Point, seriesDigest } from './charts';
import { byId } from '../common/dom';

export interface BatchPoint {
  step: number;
  loss: number;
  acc: number;
  lr?: number;
  ips?: number;
}

export interface EpochPoint {
  epoch: number;
  step: number;
  loss: number;
  acc: number;
  valLoss?: number;
  valAcc?: number;
  lr?: number;
  ips?: number;
}

const pts = <T>(items: T[], x: (t: T) => number, y: (t: T) => number | undefined): Point[] =>
  items.flatMap((t) => {
    const v = y(t);
    return v === undefined || !Number.isFinite(v) ? [] : [{ x: x(t), y: v }];
  });

function setData(d: LineDataset, data: Point[]): void {
  d.data.length = 0;
  d.data.push(...data);
}

const OVERLAY_COLOURS = ['purple', 'red', 'yellow', 'green', 'orange'];

/** Another run's curves over the loss and accuracy charts (dashed, smoothed like the run shown). */
class Overlay {
  private readonly loss: LineDataset;
  private readonly val: LineDataset;
  private readonly acc: LineDataset;
  private readonly valAcc: LineDataset;
  constructor(
    private readonly lossChart: LineChart,
    private readonly accChart: LineChart,
    label: string,
    colour: string,
    private readonly history: HistoryPoint[],
    smoothing: number,
  ) {
    const dash = { borderDash: [4, 3] };
    this.loss = lossChart.dataset(`${label} train`, { colour, alpha: 0.8 }, dash);
    this.val = lossChart.dataset(`${label} val`, { colour }, { pointRadius: 2, borderDash: [1, 2] });
    this.acc = accChart.dataset(`${label} train`, { colour, alpha: 0.8 }, dash);
    this.valAcc = accChart.dataset(`${label} val`, { colour }, { pointRadius: 2, borderDash: [1, 2] });
    this.rebuild(smoothing);
  }
  rebuild(smoothing: number): void {
    const b = this.history.filter((p) => p.kind === 'batch');
    const e = this.history.filter((p) => p.kind === 'epoch');
    const sm = (vals: number[]): Point[] =>
      ema(vals, smoothing).flatMap((y, i) => (Number.isFinite(y) ? [{ x: b[i].step, y }] : []));
    setData(this.loss, sm(b.map((p) => p.loss)));
    setData(this.acc, sm(b.map((p) => p.acc)));
    setData(
      this.val,
      pts(
        e,
        (p) => p.step,
        (p) => p.valLoss,
      ),
    );
    setData(
      this.valAcc,
      pts(
        e,
        (p) => p.step,
        (p) => p.valAcc,
      ),
    );
  }
  remove(): void {
    this.lossChart.remove(this.loss);
    this.lossChart.remove(this.val);
    this.accChart.remove(this.acc);
    this.accChart.remove(this.valAcc);
  }
}

/** The charts of the elements #chart-loss, #chart-acc, #chart-lr and #chart-ips. */
export class TrainingCharts {
  private readonly lossChart = new LineChart(byId('chart-loss'), 'Loss', 'step');
  private readonly accChart = new LineChart(byId('chart-acc'), 'Accuracy', 'step');
  private readonly lrChart = new LineChart(byId('chart-lr'), 'Learning rate', 'step');
  private readonly ipsChart = new LineChart(byId('chart-ips'), 'Images / s', 'step');
  private readonly charts = [this.lossChart, this.accChart, this.lrChart, this.ipsChart];
  private readonly ds = {
    lossRaw: this.lossChart.dataset('train (batch)', { colour: 'blue', alpha: 0.25 }, { borderWidth: 1 }),
    lossEma: this.lossChart.dataset('train (smoothed)', { colour: 'blue' }),
    lossEpoch: this.lossChart.dataset('train (epoch)', { colour: 'green' }, { pointRadius: 3 }),
    valLoss: this.lossChart.dataset('validation', { colour: 'orange' }, { pointRadius: 3 }),
    accRaw: this.accChart.dataset('train (batch)', { colour: 'blue', alpha: 0.25 }, { borderWidth: 1 }),
    accEma: this.accChart.dataset('train (smoothed)', { colour: 'blue' }),
    accEpoch: this.accChart.dataset('train (epoch)', { colour: 'green' }, { pointRadius: 3 }),
    valAcc: this.accChart.dataset('validation', { colour: 'orange' }, { pointRadius: 3 }),
    lr: this.lrChart.dataset('learning rate', { colour: 'purple' }),
    ips: this.ipsChart.dataset('images/s (batch)', { colour: 'yellow' }),
    ipsEpoch: this.ipsChart.dataset('images/s (epoch)', { colour: 'green' }, { pointRadius: 3 }),
  };
  private readonly lossEma: Ema;
  private readonly accEma: Ema;
  private readonly overlays = new Map<string, Overlay>();
  private batches: BatchPoint[] = [];

  private epochs: EpochPoint[] = [];

  constructor(private smoothing: number) {
    this.lossEma = new Ema(smoothing);
    this.accEma = new Ema(smoothing);
    this.update();
  }

  /** The step of the newest batch shown. */
  get lastBatchStep(): number | undefined {
    return this.batches[this.batches.length - 1]?.step;
  }

  /** The newest epoch shown. */
  get lastEpoch(): EpochPoint | undefined {
    return this.epochs[this.epochs.length - 1];
  }

  hasEpoch(epoch: number): boolean {
    return this.epochs.some((p) => p.epoch === epoch);
  }

  /** Shows a run's history (from disk, or the running one's so far) instead of the series shown. */
  showHistory(history: HistoryPoint[]): void {
    this.batches = history
      .filter((p) => p.kind === 'batch')
      .map((p) => ({ step: p.step, loss: p.loss, acc: p.acc, lr: p.lr, ips: p.imagesPerSec }));
    this.epochs = history
      .filter((p) => p.kind === 'epoch')
      .map((p) => ({
        epoch: p.epoch,
        step: p.step,
        loss: p.loss,
        acc: p.acc,
        valLoss: p.valLoss,
        valAcc: p.valAcc,
        lr: p.lr,
        ips: p.imagesPerSec,
      }));
    const b = this.batches;
    const byStep = (y: (p: BatchPoint) => number | undefined) => pts(b, (p) => p.step, y);
    setData(
      this.ds.lossRaw,
      byStep((p) => p.loss),
    );
    setData(
      this.ds.accRaw,
      byStep((p) => p.acc),
    );
    this.rebuildEma();
    this.setEpochData();
    setData(
      this.ds.lr,
      byStep((p) => p.lr),
    );
    setData(
      this.ds.ips,
      byStep((p) => p.ips),
    );
    this.update();
  }

  /**
   * The batches trained since the last message, each as metrics.jsonl has it (so the live curves are the ones
   * a reload redraws); those already in the history read from disk are skipped.
   */
  addBatch(m: BatchMetrics): void {
    for (const r of m.batches) {
      const last = this.lastBatchStep;
      if (last !== undefined && r.step <= last) continue;
      const b: BatchPoint = { step: r.step, loss: r.loss, acc: r.acc, lr: r.lr, ips: r.imagesPerSec };
      this.batches.push(b);
      this.ds.lossRaw.data.push({ x: b.step, y: b.loss });
      this.ds.accRaw.data.push({ x: b.step, y: b.acc });
      this.ds.lossEma.data.push({ x: b.step, y: this.lossEma.push(b.loss) });
      this.ds.accEma.data.push({ x: b.step, y: this.accEma.push(b.acc) });
      this.ds.lr.data.push({ x: b.step, y: r.lr });
      if (r.imagesPerSec !== undefined) this.ds.ips.data.push({ x: b.step, y: r.imagesPerSec });
    }
    this.markLive();
    this.update();
  }

  /** Records what the per-batch loss curve shows live, for tests to compare with the one redrawn from disk. */
  private markLive(): void {
    byId('chart-loss').dataset.liveBatchSeries = seriesDigest([{ label: 'train (batch)', data: this.ds.lossRaw.data }]);
  }

  /** The first step a batch message may start at without leaving a gap in the per-batch curves. */
  get nextBatchStep(): number {
    return (this.lastBatchStep ?? 0) + 1;
  }

  /**
   * Fills the per-batch curves with the batches of `history` (the run's metrics.jsonl) that are not shown: those
   * trained between the state this page got and the first live message it received.
   */
  fillBatches(history: HistoryPoint[]): void {
    const byStep = new Map<number, HistoryPoint>();
    for (const p of history) if (p.kind === 'batch') byStep.set(p.step, p);
    for (const b of this.batches)
      byStep.set(b.step, {
        kind: 'batch',
        epoch: 0,
        step: b.step,
        loss: b.loss,
        acc: b.acc,
        lr: b.lr,
        imagesPerSec: b.ips,
      });
    const epochs: HistoryPoint[] = this.epochs.map((e) => ({
      kind: 'epoch',
      epoch: e.epoch,
      step: e.step,
      loss: e.loss,
      acc: e.acc,
      valLoss: e.valLoss,
      valAcc: e.valAcc,
      lr: e.lr,
      imagesPerSec: e.ips,
    }));
    this.showHistory([...[...byStep.values()].sort((a, b) => a.step - b.step), ...epochs]);
    this.markLive();
  }

  /** An epoch's end (replacing what was shown of that epoch). */
  setEpoch(point: EpochPoint): void {
    this.epochs = [...this.epochs.filter((e) => e.epoch !== point.epoch), point];
    this.setEpochData();
    this.update();
  }

  /** The EMA smoothing of the batch curves (this run's and the overlays'). */
  setSmoothing(smoothing: number): void {
    this.smoothing = smoothing;
    this.rebuildEma();
    this.update();
  }

  /** Overlays `history` (another run of the spec), replacing its overlay if shown; `slot` picks the colour. */
  overlay(runDir: string, label: string, slot: number, history: HistoryPoint[]): void {
    this.overlays.get(runDir)?.remove();
    const colour = OVERLAY_COLOURS[slot % OVERLAY_COLOURS.length];
    this.overlays.set(runDir, new Overlay(this.lossChart, this.accChart, label, colour, history, this.smoothing));
    this.lossChart.update();
    this.accChart.update();
  }

  hasOverlay(runDir: string): boolean {
    return this.overlays.has(runDir);
  }

  /** Removes the overlays of `runDirs`. */
  removeOverlays(runDirs: Iterable<string>): void {
    for (const dir of runDirs) {
      this.overlays.get(dir)?.remove();
      this.overlays.delete(dir);
    }
    this.lossChart.update();
    this.accChart.update();
  }

  /** The overlays shown, by run folder. */
  overlaid(): string[] {
    return [...this.overlays.keys()];
  }

  /** After a theme change: VS Code swaps the body's classes and variables. */
  applyTheme(): void {
    for (const c of this.charts) {
      c.applyTheme();
      c.update();
    }
  }

  destroy(): void {
    this.charts.forEach((c) => c.destroy());
  }

  private update(): void {
    for (const c of this.charts) c.update();
  }

  private rebuildEma(): void {
    const b = this.batches;
    const smoothed = (values: number[]): Point[] =>
      pts(
        ema(values, this.smoothing).map((y, i) => ({ x: b[i].step, y })),
        (p) => p.x,
        (p) => p.y,
      );
    setData(this.ds.lossEma, smoothed(b.map((p) => p.loss)));
    setData(this.ds.accEma, smoothed(b.map((p) => p.acc)));
    // Continue the stream from the same state as the arrays.
    this.lossEma.reset(this.smoothing);
    this.accEma.reset(this.smoothing);
    for (const p of b) {
      this.lossEma.push(p.loss);
      this.accEma.push(p.acc);
    }
    for (const o of this.overlays.values()) o.rebuild(this.smoothing);
  }

  /** The per-epoch series from `epochs`. */
  private setEpochData(): void {
    const byStep = (y: (e: EpochPoint) => number | undefined) => pts(this.epochs, (e) => e.step, y);
    setData(
      this.ds.lossEpoch,
      byStep((e) => e.loss),
    );
    setData(
      this.ds.valLoss,
      byStep((e) => e.valLoss),
    );
    setData(
      this.ds.accEpoch,
      byStep((e) => e.acc),
    );
    setData(
      this.ds.valAcc,
      byStep((e) => e.valAcc),
    );
    setData(
      this.ds.ipsEpoch,
      byStep((e) => e.ips),
    );
  }
}
