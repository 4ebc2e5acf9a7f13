/**
 * The overlaid curves of the selected runs: loss and accuracy, train (per batch) and validation (per epoch,
 * dashed), one colour per run, x by step, epoch or wall time, y linear or logarithmic. Drawn with the dashboard's
 * chart.js helpers. Each chart's container carries what it shows as data-* attributes (for tests): the axis,
 * the scale, the series, the points and the largest x.
 */
import { curveX, type CurvePoint, stepsPerEpoch, type XAxis } from '../../src/metrics/experimentTable';
import { LineChart, type Point } from '../dashboard/charts';

const COLOURS = ['blue', 'orange', 'green', 'red', 'purple', 'yellow'];
const X_TITLES: Record<XAxis, string> = { step: 'step', epoch: 'epoch', time: 'wall time (s)' };

export interface OverlayRun {
  runDir: string;
  name: string;
  points: CurvePoint[];
}

type Metric = 'loss' | 'acc';

export class CurveCharts {
  private charts: Record<Metric, LineChart>;

  constructor(
    private readonly loss: HTMLElement,
    private readonly acc: HTMLElement,
  ) {
    this.charts = this.create();
  }

  private create(): Record<Metric, LineChart> {
    return { loss: new LineChart(this.loss, 'Loss', 'step'), acc: new LineChart(this.acc, 'Accuracy', 'step') };
  }

  /**
   * New charts in the current theme's colours (draw again after it). Re-theming a drawn chart in place would
   * copy chart.js's resolved option proxies into its options, which chart.js then resolves recursively.
   */
  rebuild(): void {
    for (const c of Object.values(this.charts)) {
      c.destroy();
      c.container.replaceChildren();
    }
    this.charts = this.create();
  }

  /** Redraws every series of `runs` (in selection order) on `axis`, with a log y scale when `logY`. */
  draw(runs: readonly OverlayRun[], axis: XAxis, logY: boolean): void {
    for (const metric of ['loss', 'acc'] as const) {
      const chart = this.charts[metric];
      chart.chart.data.datasets = [];
      const val = metric === 'loss' ? 'valLoss' : 'valAcc';
      runs.forEach((run, i) => {
        const perEpoch = stepsPerEpoch(run.points);
        const series = (pick: (p: CurvePoint) => number | undefined, kind: 'batch' | 'epoch'): Point[] =>
          run.points
            .filter((p) => p.kind === kind)
            .map((p) => ({ x: curveX(p, axis, perEpoch), y: pick(p) ?? NaN }))
            .filter((p) => Number.isFinite(p.y) && (!logY || p.y > 0));
        let train = series((p) => p[metric], 'batch');
        if (train.length === 0) train = series((p) => p[metric], 'epoch');
        const colour = COLOURS[i % COLOURS.length];
        chart.dataset(`${run.name} train`, { colour, alpha: 0.75 }, { borderWidth: 1 }).data = train;
        const v = series((p) => p[val], 'epoch');
        if (v.length)
          chart.dataset(`${run.name} val`, { colour }, { borderWidth: 2, borderDash: [5, 3], pointRadius: 2 }).data = v;
      });
      const o = chart.chart.options;
      const x = o.scales?.x;
      if (x && 'title' in x && x.title) x.title.text = X_TITLES[axis];
      if (x?.ticks) (x.ticks as { precision?: number }).precision = axis === 'step' ? 0 : undefined;
      if (o.scales?.y) o.scales.y.type = logY ? 'logarithmic' : 'linear';
      chart.update();
      const c = chart.container.dataset;
      const all = chart.chart.data.datasets.flatMap((d) => d.data);
      // What chart.js drew with, read back from the chart: its x title and the type of its y scale.
      const xOptions = chart.chart.options.scales?.x;
      c.xAxis = axis;
      c.xTitle = xOptions && 'title' in xOptions ? String(xOptions.title?.text ?? '') : '';
      c.yScale = chart.chart.scales.y?.type ?? '';
      c.runs = String(runs.length);
      c.series = chart.chart.data.datasets.map((d) => d.label ?? '').join('|');
      c.xMax = all.length ? String(Math.max(...all.map((p) => p.x))) : '';
      c.yMin = all.length ? String(Math.min(...all.map((p) => p.y))) : '';
    }
  }
}
