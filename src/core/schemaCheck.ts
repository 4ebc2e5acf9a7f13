/**
 * The JSON-schema check of a spec, with the schema VS Code uses for `*.densenet.json`: the CLI runs it so
 * that it reports what the editor's JSON support reports (unknown fields, wrong types in data/training).
 */
import Ajv, { type ErrorObject } from 'ajv';
import schema from '../../media/densenet.schema.json';
import { type JsonPath, type ParsedSpec, rangeAt, type SpecDiagnostic } from './parse';

let compiled: ReturnType<Ajv['compile']> | undefined;

function pathOf(pointer: string): JsonPath {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function message(e: ErrorObject, where: string): string {
  switch (e.keyword) {
    case 'additionalProperties':
      return `Unknown field "${(e.params as { additionalProperty: string }).additionalProperty}" in ${where || 'the spec'}: remove it or fix its spelling.`;
    case 'enum':
      return `${where} must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}.`;
    case 'const':
      return `${where} must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}.`;
    default:
      return `${where || 'The spec'} ${e.message ?? 'is invalid'}.`;
  }
}

export function schemaDiagnostics(parsed: ParsedSpec): SpecDiagnostic[] {
  if (parsed.value === undefined) return [];
  compiled ??= new Ajv({ allErrors: true, strict: false }).compile(schema);
  if (compiled(parsed.value)) return [];
  const seen = new Set<string>();
  const out: SpecDiagnostic[] = [];
  for (const e of compiled.errors ?? []) {
    // oneOf reports every branch that failed; the branch errors are more useful than the summary.
    if (e.keyword === 'oneOf' || e.keyword === 'if') continue;
    const p = pathOf(e.instancePath);
    const where = p
      .map((s) => (typeof s === 'number' ? `[${s}]` : s))
      .join('.')
      .replace(/\.\[/g, '[');
    const key = `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const at =
      e.keyword === 'additionalProperties'
        ? [...p, (e.params as { additionalProperty: string }).additionalProperty]
        : p;
    out.push({ ...rangeAt(parsed, at), severity: 'error', code: `schema-${e.keyword}`, message: message(e, where) });
  }
  return out;
}
