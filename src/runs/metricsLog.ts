/**
 * `metrics.jsonl`: one JSON object per line, appended as training goes. Each line is written with one write
 * call, so a crash can only leave a torn last line: `readMetrics` ignores it, and `MetricsWriter` cuts it off
 * before appending again so it never glues onto the next record.
 *
 * No tfjs here: the extension host reads these files.
 */
import * as fs from 'fs';
import * as path from 'path';
import { readTextIfExists, writeAllSync, writeFileAtomicSync } from './atomic';

export const METRICS_FILE = 'metrics.jsonl';

export type MetricValue = number | string | boolean | null;

export interface MetricRecord {
  kind: 'batch' | 'epoch';
  /** The epoch (1-based) the batch belongs to, or the epoch just completed. */
  epoch: number;
  /** Global step (batches trained since the start of the run) after this batch / at the end of this epoch. */
  step: number;
  /** Wall clock, ms since the Unix epoch. */
  time: number;
  /** loss, acc, val_loss, val_acc, lr, imagesPerSec, ... */
  [metric: string]: MetricValue | undefined;
}

export type MetricInput = Omit<MetricRecord, 'time'> & { time?: number };

export interface ParsedMetrics {
  records: MetricRecord[];
  /** Lines that were not a JSON object, with their 1-based numbers (a torn last line is not counted). */
  badLines: number[];
  /** True when the file ended with an incomplete line (a write interrupted by a crash). */
  tornTail: boolean;
}

const isRecord = (v: unknown): v is MetricRecord =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  ((v as MetricRecord).kind === 'batch' || (v as MetricRecord).kind === 'epoch');

/** Parses metrics.jsonl text. A last line without its newline is used only if it parses. */
export function parseMetrics(text: string): ParsedMetrics {
  const records: MetricRecord[] = [];
  const badLines: number[] = [];
  let tornTail = false;
  const lines = text.split('\n');
  const last = lines.pop() ?? '';
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      const v: unknown = JSON.parse(line);
      if (isRecord(v)) records.push(v);
      else badLines.push(i + 1);
    } catch {
      badLines.push(i + 1);
    }
  });
  if (last.trim() !== '') {
    try {
      const v: unknown = JSON.parse(last);
      if (isRecord(v)) records.push(v);
      else tornTail = true;
    } catch {
      tornTail = true;
    }
  }
  return { records, badLines, tornTail };
}

/** The records of a metrics file ([] if it does not exist), ignoring a torn last line and malformed lines. */
export function readMetrics(file: string): MetricRecord[] {
  const text = readTextIfExists(file);
  return text === undefined ? [] : parseMetrics(text).records;
}

/** One record as a line of the file: the same format for appending and for rewriting. */
const metricLine = (record: MetricRecord): string => JSON.stringify(record) + '\n';

/**
 * Rewrites the file atomically keeping the records `keep` accepts (for a resume from a checkpoint: drop what was
 * logged after it, since those steps are trained again). Returns how many records were kept.
 */
export function rewriteMetrics(file: string, keep: (r: MetricRecord) => boolean): number {
  const kept = readMetrics(file).filter(keep);
  writeFileAtomicSync(file, kept.map(metricLine).join(''));
  return kept.length;
}

/** Cuts the file back to its last newline, removing a torn last line. */
function trimTornTail(file: string): void {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r+');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size === 0) return;
    const chunk = Buffer.alloc(Math.min(size, 64 * 1024));
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      const n = fs.readSync(fd, chunk, 0, end - start, start);
      const nl = chunk.subarray(0, n).lastIndexOf(0x0a);
      if (nl >= 0) {
        const keep = start + nl + 1;
        if (keep !== size) fs.ftruncateSync(fd, keep);
        return;
      }
      end = start;
    }
    fs.ftruncateSync(fd, 0);
  } finally {
    fs.closeSync(fd);
  }
}

/** Appends records to a metrics file, one line per write. */
export class MetricsWriter {
  private fd: number | undefined;

  constructor(readonly file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    trimTornTail(file);
    this.fd = fs.openSync(file, 'a');
  }

  append(record: MetricInput): MetricRecord {
    if (this.fd === undefined) throw new Error(`metrics file ${this.file} is closed`);
    const full = { ...record, time: record.time ?? Date.now() } as MetricRecord;
    writeAllSync(this.fd, Buffer.from(metricLine(full), 'utf8'));
    return full;
  }

  /** Forces the appended lines to disk (at epoch ends; per batch it would cost too much). */
  flush(): void {
    if (this.fd !== undefined) fs.fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd === undefined) return;
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
