/**
 * Multi-label CSV manifests: a header row, then one row per image. The first column is the image path (relative
 * to the CSV file's folder); then either one column `labels` of label names separated by `|` (empty: no label),
 * or one 0/1 column per label, the header giving the label names. Label names: the header order for 0/1
 * columns, the sorted union of the training manifest's names for `|` lists; validation and test manifests use
 * the training names.
 */
import * as fs from 'fs';
import * as path from 'path';
import { type CsvRecord, parseCsv } from '../../core/csv';
import type { Dataset, Pixels, Size } from './dataset';
import { decodeImage } from './decode';

export interface ManifestOptions {
  /** How a path appears in messages (relative to the spec's folder). */
  show(abs: string): string;
  /** The training labels, for validation and test manifests. */
  classNames?: readonly string[];
}

interface Row {
  image: string;
  labels: number[];
}

const LIST_COLUMN = 'labels';
const MAX_LISTED = 5;

function listNames(names: readonly string[]): string {
  return names.length <= 12 ? names.join(', ') : `${names.slice(0, 10).join(', ')}, ... (${names.length} in all)`;
}

/** Label names of `|` lists: the given ones, else the sorted union of the names in the rows. */
function listLabelNames(rows: readonly CsvRecord[], given: readonly string[] | undefined): readonly string[] {
  if (given) return given;
  const names = new Set<string>();
  for (const r of rows) for (const name of splitList(r.fields[1])) names.add(name);
  return [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function splitList(field: string): string[] {
  return [
    ...new Set(
      field
        .split('|')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    ),
  ];
}

/** Column k of the 0/1 form -> label index; checks the header against the training labels. */
function columnLabels(header: readonly string[], given: readonly string[] | undefined, file: string): number[] {
  const names = header.slice(1).map((h) => h.trim());
  const empty = names.findIndex((n) => n === '');
  if (empty >= 0)
    throw new Error(`${file}: column ${empty + 2} of the header has no name: give each 0/1 column its label's name.`);
  const twice = names.find((n, k) => names.indexOf(n) !== k);
  if (twice !== undefined)
    throw new Error(`${file}: the header names label "${twice}" twice: give each label one column.`);
  if (!given) return names.map((_, k) => k);
  const unknown = names.find((n) => !given.includes(n));
  if (unknown !== undefined)
    throw new Error(
      `${file}: label column "${unknown}" is not one of the training labels (${listNames(given)}): rename or remove the column.`,
    );
  const missing = given.filter((n) => !names.includes(n));
  if (missing.length > 0)
    throw new Error(
      `${file}: the header has no column for training label(s) ${listNames(missing)}: add the column(s), with 0 or 1 in every row.`,
    );
  return names.map((n) => given.indexOf(n));
}

/** The rows of a parsed manifest with their label indices; throws naming the line for a malformed row. */
function readRows(
  records: readonly CsvRecord[],
  file: string,
  given: readonly string[] | undefined,
): { classNames: readonly string[]; rows: Row[] } {
  const [header, ...body] = records;
  if (!header || header.fields.length < 2)
    throw new Error(
      `${file}: the first row must be a header: the image column, then "labels" (names separated by |) or one 0/1 column per label.`,
    );
  const width = header.fields.length;
  for (const r of body) {
    if (r.fields.length !== width)
      throw new Error(
        `${file}, line ${r.line}: ${r.fields.length} field(s) where the header has ${width}: give every row ${width} (quote a field that holds a comma).`,
      );
    if (r.fields[0].trim() === '')
      throw new Error(`${file}, line ${r.line}: no image path: give it in the first column.`);
  }
  const listForm = width === 2 && header.fields[1].trim().toLowerCase() === LIST_COLUMN;
  if (listForm) {
    const classNames = listLabelNames(body, given);
    const rows = body.map((r) => ({
      image: r.fields[0].trim(),
      labels: splitList(r.fields[1]).map((name) => {
        const label = classNames.indexOf(name);
        if (label < 0)
          throw new Error(
            `${file}, line ${r.line}: label "${name}" is not one of the training labels (${listNames(classNames)}): fix the row, or add the label to the training data.`,
          );
        return label;
      }),
    }));
    return { classNames, rows: rows.map((r) => ({ ...r, labels: r.labels.sort((a, b) => a - b) })) };
  }
  const labelOf = columnLabels(header.fields, given, file);
  const classNames = given ?? header.fields.slice(1).map((h) => h.trim());
  const rows = body.map((r) => {
    const labels: number[] = [];
    for (let k = 1; k < width; k++) {
      const value = r.fields[k].trim();
      if (value === '1') labels.push(labelOf[k - 1]);
      else if (value !== '0')
        throw new Error(
          `${file}, line ${r.line}: "${value}" in column "${header.fields[k].trim()}": write 1 (the image has the label) or 0 (it has not).`,
        );
    }
    return { image: r.fields[0].trim(), labels: labels.sort((a, b) => a - b) };
  });
  return { classNames, rows };
}

/** Throws, listing the first few, when images of the manifest do not exist. */
function checkImagesExist(
  files: readonly string[],
  records: readonly CsvRecord[],
  file: string,
  show: (abs: string) => string,
): void {
  const missing: string[] = [];
  let count = 0;
  for (let i = 0; i < files.length; i++) {
    if (fs.existsSync(files[i]) && fs.statSync(files[i]).isFile()) continue;
    count++;
    if (missing.length < MAX_LISTED) missing.push(`line ${records[i + 1].line}: ${show(files[i])}`);
  }
  if (count > 0)
    throw new Error(
      `${file}: ${count} image(s) of the manifest do not exist (${missing.join('; ')}${count > missing.length ? '; ...' : ''}): fix the paths (relative to the CSV file's folder) or remove the rows.`,
    );
}

/** Opens a multi-label CSV manifest: lists its rows and checks that their images exist (decodes nothing). */
export async function openManifest(csvFile: string, options: ManifestOptions): Promise<Dataset> {
  const shown = options.show(csvFile);
  const records = parseCsv(await fs.promises.readFile(csvFile, 'utf8'), shown);
  const { classNames, rows } = readRows(records, shown, options.classNames);
  if (rows.length === 0) throw new Error(`${shown} lists no images: add one row per image after the header.`);
  if (classNames.length === 0)
    throw new Error(`${shown} names no labels: give each image its labels (names separated by |).`);
  const dir = path.dirname(csvFile);
  const files = rows.map((r) => path.resolve(dir, r.image));
  checkImagesExist(files, records, shown, options.show);
  return {
    description: `${shown} (CSV manifest)`,
    classNames,
    length: rows.length,
    label: () => 0,
    labelSet: (i) => rows[i].labels,
    location: (i) => files[i],
    read: async (i: number, size: Size): Promise<Pixels> => decodeImage(fs.readFileSync(files[i]), size),
    close: async () => undefined,
  };
}
