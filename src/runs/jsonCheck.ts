/**
 * Type checks for the JSON files a run folder holds (run.json, training_state.json, preprocessing.json, a
 * model.json's weights manifest, evaluations.jsonl): nothing read from disk is used before its type is checked.
 * A failed check throws a `JsonFileError` naming the file and the field, and saying what was expected and found.
 *
 * No tfjs here.
 */

/** A JSON file whose content does not have the expected shape. */
export class JsonFileError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'JsonFileError';
  }
}

/** A short description of a JSON value for an error message. */
export function describeJson(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The fields of one JSON object of `file` (at `at`, a dotted path; '' for the top level), each checked on use. */
export class JsonObject {
  private constructor(
    readonly file: string,
    readonly value: Record<string, unknown>,
    readonly at: string,
  ) {}

  /** `value` as an object of `file`; throws when it is anything else. */
  static of(file: string, value: unknown, at = ''): JsonObject {
    if (!isPlainObject(value))
      throw new JsonFileError(
        file,
        at,
        `${file}: ${at ? `"${at}"` : 'the file'} must be a JSON object, found ${describeJson(value)}`,
      );
    return new JsonObject(file, value, at);
  }

  path(field: string | number): string {
    return typeof field === 'number' ? `${this.at}[${field}]` : this.at ? `${this.at}.${field}` : field;
  }

  fail(field: string | number, expected: string, found: unknown): never {
    const where = this.path(field);
    throw new JsonFileError(
      this.file,
      where,
      `${this.file}: "${where}" must be ${expected}, found ${describeJson(found)}`,
    );
  }

  has(field: string): boolean {
    return this.value[field] !== undefined;
  }

  raw(field: string): unknown {
    return this.value[field];
  }

  string(field: string): string {
    const v = this.value[field];
    return typeof v === 'string' ? v : this.fail(field, 'a string', v);
  }

  optString(field: string): string | undefined {
    return this.has(field) ? this.string(field) : undefined;
  }

  /** A finite number (`min`, if given, is its least value). */
  number(field: string, min = -Infinity): number {
    const v = this.value[field];
    return isFiniteNumber(v) && v >= min
      ? v
      : this.fail(field, min === -Infinity ? 'a number' : `a number ≥ ${min}`, v);
  }

  optNumber(field: string, min = -Infinity): number | undefined {
    return this.has(field) ? this.number(field, min) : undefined;
  }

  /** A whole number ≥ `min`. */
  int(field: string, min = 0): number {
    const v = this.value[field];
    return Number.isSafeInteger(v) && (v as number) >= min
      ? (v as number)
      : this.fail(field, `a whole number ≥ ${min}`, v);
  }

  optInt(field: string, min = 0): number | undefined {
    return this.has(field) ? this.int(field, min) : undefined;
  }

  /** A number or null (a field the writer stores as null when it has no value). */
  numberOrNull(field: string): number | null {
    const v = this.value[field];
    return v === null ? null : isFiniteNumber(v) ? v : this.fail(field, 'a number or null', v);
  }

  intOrNull(field: string, min = 0): number | null {
    return this.value[field] === null ? null : this.int(field, min);
  }

  boolean(field: string): boolean {
    const v = this.value[field];
    return typeof v === 'boolean' ? v : this.fail(field, 'true or false', v);
  }

  /** One of `choices`. */
  oneOf<T extends string>(field: string, choices: readonly T[]): T {
    const v = this.value[field];
    return choices.includes(v as T) ? (v as T) : this.fail(field, `one of ${choices.join(', ')}`, v);
  }

  object(field: string): JsonObject {
    const v = this.value[field];
    return isPlainObject(v) ? new JsonObject(this.file, v, this.path(field)) : this.fail(field, 'an object', v);
  }

  optObject(field: string): JsonObject | undefined {
    return this.has(field) ? this.object(field) : undefined;
  }

  array(field: string): unknown[] {
    const v = this.value[field];
    return Array.isArray(v) ? v : this.fail(field, 'an array', v);
  }

  /** The elements of an array of objects. */
  objects(field: string): JsonObject[] {
    return this.array(field).map((v, i) => JsonObject.of(this.file, v, `${this.path(field)}[${i}]`));
  }

  strings(field: string): string[] {
    const list = this.array(field);
    list.forEach((v, i) => {
      if (typeof v !== 'string') this.fail(`${field}[${i}]`, 'a string', v);
    });
    return list as string[];
  }

  numbers(field: string): number[] {
    const list = this.array(field);
    list.forEach((v, i) => {
      if (!isFiniteNumber(v)) this.fail(`${field}[${i}]`, 'a number', v);
    });
    return list as number[];
  }

  /** Whole numbers ≥ `min`. */
  ints(field: string, min = 0): number[] {
    const list = this.array(field);
    list.forEach((v, i) => {
      if (!Number.isSafeInteger(v) || (v as number) < min) this.fail(`${field}[${i}]`, `a whole number ≥ ${min}`, v);
    });
    return list as number[];
  }
}

/** A square matrix of counts (a confusion matrix) with `size` rows, checked element by element. */
export function countMatrix(o: JsonObject, field: string, size: number): number[][] {
  const rows = o.array(field);
  if (rows.length !== size) o.fail(field, `an array of ${size} rows`, rows);
  return rows.map((row, i) => {
    if (!Array.isArray(row) || row.length !== size) o.fail(`${field}[${i}]`, `an array of ${size} counts`, row);
    (row as unknown[]).forEach((v, j) => {
      if (!Number.isSafeInteger(v) || (v as number) < 0) o.fail(`${field}[${i}][${j}]`, 'a whole number ≥ 0', v);
    });
    return row as number[];
  });
}
