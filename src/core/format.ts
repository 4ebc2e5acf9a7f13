/** Number formatting shared by hovers, lenses, the summary table, the CLI and the webviews. */
import type { Shape } from './analyze';

/** 7978856 -> "7.98M", 221000 -> "0.22M", 4500 -> "4.5K". */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e5) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

/** Multiply-adds: 2.88e9 -> "2.88 GMACs". */
export function formatMacs(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GMACs`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MMACs`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} KMACs`;
  return `${n} MACs`;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(n >= 100 ? 0 : 1)} ${units[i]}`;
}

/** 8062504 -> "8,062,504". */
export function formatInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** [224, 224, 3] -> "224x224x3"; [1024] -> "1024". */
export function formatShape(shape: Shape): string {
  return shape.join('x');
}

/**
 * A probability as a percentage that never shows a non-zero value as "0.0%": 0.9731 -> "97.3%",
 * 0.0042 -> "0.4%", 0.00031 -> "<0.1%", 0 -> "0%".
 */
export function formatProbability(p: number): string {
  if (!Number.isFinite(p)) return '?';
  if (p <= 0) return '0%';
  if (p < 0.001) return '<0.1%';
  if (p >= 1) return '100%';
  const pct = (p * 100).toFixed(1);
  // A value just under 1 keeps its shortfall visible rather than rounding to 100.0%.
  return pct === '100.0' ? '>99.9%' : `${pct}%`;
}
