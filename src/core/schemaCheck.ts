/**
 * The schema check of a spec against `specSchema` (specSchema.ts, the one description of the format): every
 * issue becomes a ranged diagnostic that says what to change; an unknown key gets the nearest known key as a
 * quick fix, a misspelt enum value the nearest allowed one. Bounded: at most MAX_SCHEMA_DIAGNOSTICS diagnostics,
 * values shown cut short, only short strings compared. Never throws.
 */
import type { Node } from 'jsonc-parser';
import { z } from 'zod';
import { type JsonPath, nodeAt, type ParsedSpec, rangeAt, type SpecDiagnostic, type SpecFix } from './parse';
import { editDistance } from './presets';
import { specSchema } from './specSchema';

/** A spec with more schema problems than this gets only the first ones. */
export const MAX_SCHEMA_DIAGNOSTICS = 100;

type Issue = z.core.$ZodIssue;

/** `training.lrSchedule`, `model.blockConfig[2]`; '' for the spec itself. */
export function pathText(p: readonly PropertyKey[]): string {
  return p
    .map((s) => (typeof s === 'number' ? `[${s}]` : String(s)))
    .join('.')
    .replace(/\.\[/g, '[');
}

/** Text from the spec as a message shows it: at most 40 characters. */
const clip = (text: string) => (text.length > 40 ? `${text.slice(0, 37)}...` : text);

/** A value as the message shows it: JSON, cut to 40 characters. */
export function showValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  let s: string;
  if (typeof v === 'object' && v !== null) s = Array.isArray(v) ? `a list of ${v.length}` : 'an object';
  else s = typeof v === 'string' ? JSON.stringify(v.slice(0, 40)) : (JSON.stringify(v) ?? String(v));
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

function valueAt(root: unknown, p: readonly PropertyKey[]): unknown {
  let v = root;
  for (const k of p) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

/** The schemas a path can lead to (several below a union), optional ones unwrapped. */
function schemasAt(p: readonly PropertyKey[]): z.ZodType[] {
  let current: z.ZodType[] = [specSchema];
  for (const key of [...p, undefined]) {
    const next: z.ZodType[] = [];
    const expand = (s: z.ZodType): void => {
      if (s instanceof z.ZodOptional) expand(s.unwrap() as z.ZodType);
      else if (s instanceof z.ZodUnion) (s.options as z.ZodType[]).forEach(expand);
      else if (key === undefined) next.push(s);
      else if (s instanceof z.ZodObject && typeof key === 'string' && Object.hasOwn(s.shape, key))
        next.push(s.shape[key]);
      else if (s instanceof z.ZodArray && typeof key === 'number') next.push(s.element as z.ZodType);
    };
    current.forEach(expand);
    current = next;
  }
  return current;
}

/** The object schemas a path can lead to. */
const objectsAt = (p: readonly PropertyKey[]) => schemasAt(p).filter((s): s is z.ZodObject => s instanceof z.ZodObject);

/** Whether the value at a path must be a whole number. */
const wholeAt = (p: readonly PropertyKey[]) => schemasAt(p).some((s) => s instanceof z.ZodNumber && s.isInt);

/** The candidate nearest to `word` (case-insensitive edit distance), if it is close enough to be a likely typo. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  if (word.length > 64) return undefined;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

const CODES: Partial<Record<Issue['code'], string>> = {
  unrecognized_keys: 'schema-additionalProperties',
  invalid_type: 'schema-type',
  too_small: 'schema-minimum',
  too_big: 'schema-maximum',
  invalid_union: 'schema-oneOf',
};

const TYPES: Record<string, string> = {
  int: 'a whole number',
  number: 'a number',
  string: 'a string in double quotes',
  boolean: 'true or false',
  object: 'an object {...}',
  array: 'a list [...]',
};

function bound(i: Issue & { code: 'too_small' | 'too_big' }): string {
  const small = i.code === 'too_small';
  const limit = Number(small ? i.minimum : i.maximum);
  switch (i.origin) {
    case 'array':
      return `have ${small ? 'at least' : 'at most'} ${limit} entr${limit === 1 ? 'y' : 'ies'}`;
    case 'string':
      return `have ${small ? 'at least' : 'at most'} ${limit} character${limit === 1 ? '' : 's'}`;
    default:
      if (small) return i.inclusive ? `be at least ${limit}` : `be above ${limit}`;
      return i.inclusive ? `be at most ${limit}` : `be below ${limit}`;
  }
}

/** What an issue says: the field, what it must be, and the value it has. */
function describe(i: Issue, p: readonly PropertyKey[], value: unknown): string {
  const subject = pathText(p) || 'The spec';
  switch (i.code) {
    case 'invalid_type': {
      const expected = i.expected === 'number' && wholeAt(p) ? 'int' : i.expected;
      return `${subject} must be ${TYPES[expected] ?? expected}, not ${showValue(value)}.`;
    }
    case 'too_small':
    case 'too_big': {
      const sized = i.code === 'too_big' && ['model', 'input', 'classes'].includes(String(p[0]));
      const why = sized ? ': sizes are bounded so that the spec can be analysed' : '';
      return `${subject} must ${bound(i)}, not ${showValue(value)}${why}.`;
    }
    case 'invalid_value':
      return i.values.length === 1
        ? `${subject} must be ${JSON.stringify(i.values[0])}.`
        : `${subject} must be one of ${i.values.map((v) => JSON.stringify(v)).join(', ')}, not ${showValue(value)}.`;
    case 'invalid_union':
      return `${subject} must be ${unionShape(i)}, not ${showValue(value)}.`;
    default:
      return `${subject}: ${i.message}.`;
  }
}

function unionShape(i: Issue & { code: 'invalid_union' }): string {
  const kinds = new Set<string>();
  for (const branch of i.errors) {
    const top = branch.find((e) => e.path.length === 0 && e.code === 'invalid_type');
    kinds.add(top && top.code === 'invalid_type' ? (TYPES[top.expected] ?? top.expected) : 'an object {...}');
  }
  return [...kinds].join(' or ');
}

/**
 * The issues to report: a failed union is replaced by the issues of the branch whose type matched (the one with
 * the fewest issues), or reported as a whole when no branch's type matched.
 */
function flatten(issues: readonly Issue[], prefix: PropertyKey[], out: Issue[]): void {
  for (const i of issues) {
    if (out.length >= MAX_SCHEMA_DIAGNOSTICS) return;
    const p = [...prefix, ...i.path];
    if (i.code === 'invalid_union') {
      const matching = i.errors.filter((b) => !b.some((e) => e.path.length === 0 && e.code === 'invalid_type'));
      if (matching.length > 0) {
        const best = matching.reduce((a, b) => (b.length < a.length ? b : a));
        flatten(best, p, out);
        continue;
      }
    }
    out.push({ ...i, path: p } as Issue);
  }
}

/** The key nodes of the object at `p`, by key (the first of duplicates): one pass over its properties. */
function keyNodes(parsed: ParsedSpec, p: JsonPath, wanted: ReadonlySet<string>): Map<string, Node> {
  const found = new Map<string, Node>();
  for (const property of nodeAt(parsed, p)?.children ?? []) {
    const key = property.children?.[0];
    if (key && typeof key.value === 'string' && wanted.has(key.value) && !found.has(key.value))
      found.set(key.value, key);
  }
  return found;
}

function unknownKeys(parsed: ParsedSpec, i: Issue & { code: 'unrecognized_keys' }, p: JsonPath): SpecDiagnostic[] {
  const known = [...new Set(objectsAt(p).flatMap((o) => Object.keys(o.shape)))];
  const where = pathText(p) || 'the spec';
  const keys = i.keys.slice(0, MAX_SCHEMA_DIAGNOSTICS);
  const nodes = keyNodes(parsed, p, new Set(keys));
  return keys.map((key): SpecDiagnostic => {
    const near = nearest(key, known);
    const node = nodes.get(key);
    const range = node ? { offset: node.offset, length: node.length } : rangeAt(parsed, [...p, key]);
    const fix = near && node && { title: `Change to "${near}"`, edits: [{ ...range, newText: JSON.stringify(near) }] };
    return {
      ...range,
      severity: 'error',
      code: CODES.unrecognized_keys as string,
      message: near
        ? `Unknown field "${clip(key)}" in ${where}: did you mean "${near}"?`
        : `Unknown field "${clip(key)}" in ${where}: remove it or fix its spelling (known fields: ${known.join(', ')}).`,
      fixes: fix ? [fix] : undefined,
    };
  });
}

function valueFix(parsed: ParsedSpec, i: Issue, p: JsonPath, value: unknown): SpecFix[] | undefined {
  if (i.code !== 'invalid_value' || typeof value !== 'string') return undefined;
  const allowed = i.values.filter((v): v is string => typeof v === 'string');
  const near = nearest(value, allowed);
  const node = nodeAt(parsed, p);
  return near && node
    ? [
        {
          title: `Change to "${near}"`,
          edits: [{ offset: node.offset, length: node.length, newText: JSON.stringify(near) }],
        },
      ]
    : undefined;
}

/** The schema check of a parsed spec: its diagnostics, and whether the analysis may read the model. */
export interface SchemaCheck {
  diagnostics: SpecDiagnostic[];
  /** False when model, input or classes break the schema (out of range, wrong type, unknown key): not analysed. */
  analysable: boolean;
}

/** Checks a parsed spec against the schema (nothing to report when it did not parse to a value). */
export function schemaCheck(parsed: ParsedSpec): SchemaCheck {
  if (parsed.value === undefined) return { diagnostics: [], analysable: true };
  // Zod's own message for unknown keys lists them all (megabytes for a hostile spec): ours lists none.
  const result = specSchema.safeParse(parsed.value, {
    error: (i) => (i.code === 'unrecognized_keys' ? 'Unknown keys' : undefined),
  });
  if (result.success) return { diagnostics: [], analysable: true };
  const issues: Issue[] = [];
  flatten(result.error.issues, [], issues);
  const out: SpecDiagnostic[] = [];
  let analysable = true;
  for (const i of issues) {
    const p = i.path.filter((s): s is string | number => typeof s !== 'symbol');
    if (['model', 'input', 'classes'].includes(String(p[0]))) analysable = false;
    if (i.code === 'unrecognized_keys') {
      out.push(...unknownKeys(parsed, i, p));
      continue;
    }
    const value = valueAt(parsed.value, p);
    const code =
      CODES[i.code] ??
      (i.code === 'invalid_value' ? (i.values.length === 1 ? 'schema-const' : 'schema-enum') : `schema-${i.code}`);
    out.push({
      ...rangeAt(parsed, p),
      severity: 'error',
      code,
      message: describe(i, p, value),
      fixes: valueFix(parsed, i, p, value),
    });
  }
  return { diagnostics: out.slice(0, MAX_SCHEMA_DIAGNOSTICS), analysable };
}

/** The schema's diagnostics of a parsed spec. */
export function schemaDiagnostics(parsed: ParsedSpec): SpecDiagnostic[] {
  return schemaCheck(parsed).diagnostics;
}
