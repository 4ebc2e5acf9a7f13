/** chart.js line charts with theme colours from VS Code's CSS variables; updated in place (update('none')). */
import {
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  Tooltip,
  type ChartDataset,
} from 'chart.js';

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, Legend, Tooltip);

export type Point = { x: number; y: number };
export type LineDataset = ChartDataset<'line', Point[]>;

/** A CSS variable of the body (VS Code sets them on the webview's <html>/<body> per theme). */
export function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || fallback;
}

/** `color` with an alpha (hex colours; anything else is returned as is). */
export function withAlpha(color: string, alpha: number): string {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})([0-9a-f]{2})?$/i.exec(color.trim());
  if (!m) return color;
  let hex = m[1];
  if (hex.length === 3)
    hex = hex
      .split('')
      .map((c) => c + c)
      .join('');
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

export const PALETTE: Record<string, [string, string]> = {
  blue: ['--vscode-charts-blue', '#3794ff'],
  orange: ['--vscode-charts-orange', '#d18616'],
  green: ['--vscode-charts-green', '#89d185'],
  red: ['--vscode-charts-red', '#f14c4c'],
  purple: ['--vscode-charts-purple', '#b180d7'],
  yellow: ['--vscode-charts-yellow', '#cca700'],
};

export function paletteColor(name: keyof typeof PALETTE | string): string {
  const [v, f] = PALETTE[name] ?? PALETTE.blue;
  return cssVar(v, f);
}

/** A dataset's colour as a palette name and alpha, re-resolved when the theme changes. */
export interface ColourRole {
  colour: string;
  alpha?: number;
}

export class LineChart {
  readonly chart: Chart<'line', Point[]>;
  private readonly roles = new WeakMap<LineDataset, ColourRole>();

  constructor(
    readonly container: HTMLElement,
    title: string,
    private readonly xTitle: string,
    yLog = false,
  ) {
    const canvas = document.createElement('canvas');
    container.appendChild(canvas);
    this.chart = new Chart(canvas, {
      type: 'line',
      data: { datasets: [] },
      options: {
        animation: false,
        parsing: false,
        normalized: true,
        responsive: true,
        maintainAspectRatio: false,
        spanGaps: true,
        interaction: { mode: 'nearest', intersect: false, axis: 'x' },
        plugins: {
          legend: { labels: { boxWidth: 12, boxHeight: 2 } },
          tooltip: { callbacks: { label: (c) => `${c.dataset.label ?? ''}: ${formatNumber(c.parsed.y)}` } },
          title: { display: false, text: title },
        },
        scales: {
          x: { type: 'linear', title: { display: true, text: this.xTitle }, ticks: { precision: 0 } },
          y: { type: yLog ? 'logarithmic' : 'linear' },
        },
      },
    });
    this.applyTheme();
  }

  dataset(label: string, role: ColourRole, extra: Partial<LineDataset> = {}): LineDataset {
    const ds: LineDataset = { label, data: [], borderWidth: 1.5, pointRadius: 0, ...extra } as LineDataset;
    this.roles.set(ds, role);
    this.colour(ds);
    this.chart.data.datasets.push(ds);
    return ds;
  }

  remove(ds: LineDataset): void {
    const i = this.chart.data.datasets.indexOf(ds);
    if (i >= 0) this.chart.data.datasets.splice(i, 1);
  }

  private colour(ds: LineDataset): void {
    const role = this.roles.get(ds);
    if (!role) return;
    const c = withAlpha(paletteColor(role.colour), role.alpha ?? 1);
    ds.borderColor = c;
    ds.backgroundColor = c;
  }

  applyTheme(): void {
    const fg = cssVar('--vscode-foreground', '#cccccc');
    const muted = cssVar('--vscode-descriptionForeground', fg);
    const grid = withAlpha(cssVar('--vscode-foreground', '#cccccc').startsWith('#') ? fg : '#888888', 0.12);
    const o = this.chart.options;
    o.color = fg;
    if (o.plugins?.legend?.labels) o.plugins.legend.labels.color = fg;
    for (const axis of ['x', 'y'] as const) {
      const s = o.scales?.[axis];
      if (!s) continue;
      s.grid = { ...(s.grid ?? {}), color: grid };
      s.ticks = { ...(s.ticks ?? {}), color: muted };
      if ('title' in s && s.title) s.title.color = muted;
    }
    this.chart.data.datasets.forEach((d) => this.colour(d));
  }

  /** Points over the given datasets (or all), for tests and the container's data-points attribute. */
  update(): void {
    const n = this.chart.data.datasets.reduce((a, d) => a + d.data.length, 0);
    this.container.dataset.points = String(n);
    this.container.dataset.batchSeries = seriesDigest(
      this.chart.data.datasets.filter((d) => /\(batch\)$/.test(d.label ?? '')),
    );
    this.chart.update('none');
  }

  destroy(): void {
    this.chart.destroy();
  }
}

/**
 * A digest (FNV-1a, 32 bits) of the per-batch series' points, exact to the last bit of every value: tests compare
 * the live chart with the one redrawn from metrics.jsonl through it.
 */
export function seriesDigest(datasets: { label?: string; data: unknown[] }[]): string {
  let h = 0x811c9dc5;
  const text = datasets
    .map((d) => `${d.label}|${d.data.map((p) => `${(p as Point).x},${(p as Point).y}`).join(';')}`)
    .join('\n');
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return `${datasets.reduce((a, d) => a + d.data.length, 0)}:${h.toString(16)}`;
}

export function formatNumber(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return a >= 100 ? v.toFixed(0) : v.toPrecision(4);
}
