/** The validator's diagnostics collector and the small type tests its checks share. Pure. */
import {
  type JsonPath,
  nodeAt,
  type ParsedSpec,
  rangeAt,
  type Severity,
  type SpecDiagnostic,
  type SpecFix,
} from './parse';
import { showValue } from './schemaCheck';

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
export const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
/** Text from the spec as a message shows it: at most `max` characters. */
export const clip = (text: string, max = 80) => (text.length > max ? `${text.slice(0, max - 3)}...` : text);

/** A value as a message shows it (cut short). */
export const show = showValue;

export class Checker {
  readonly diagnostics: SpecDiagnostic[] = [];
  constructor(readonly parsed: ParsedSpec) {}

  report(at: JsonPath, severity: Severity, code: string, message: string, fixes?: SpecFix[]): void {
    const r = rangeAt(this.parsed, at);
    this.diagnostics.push({ ...r, severity, code, message, fixes });
  }

  /** A fix that replaces the value at `at` with `value` (JSON-encoded). */
  replaceFix(at: JsonPath, title: string, value: unknown): SpecFix[] | undefined {
    const node = nodeAt(this.parsed, at);
    return node
      ? [{ title, edits: [{ offset: node.offset, length: node.length, newText: JSON.stringify(value) }] }]
      : undefined;
  }

  /** One fix per value a message suggests (`Set <what> to <value>`), the first preferred; undefined without a node. */
  suggestFixes(at: JsonPath, what: string, values: unknown[]): SpecFix[] | undefined {
    const fixes = values.flatMap((v) => this.replaceFix(at, `Set ${what} to ${JSON.stringify(v)}`, v) ?? []);
    return fixes.length > 0 ? fixes : undefined;
  }

  /**
   * Reads an integer field: returns it when valid, else reports (with a quick fix for each of the `suggest`
   * values the hint names) and returns undefined.
   */
  int(
    obj: Record<string, unknown>,
    key: string,
    at: JsonPath,
    min: number,
    what: string,
    hint: string,
    suggest: number[] = [],
  ): number | undefined {
    const v = obj[key];
    if (v === undefined) return undefined;
    if (!isInt(v) || v < min) {
      const need =
        min === 0 ? 'a whole number >= 0' : min === 1 ? 'a positive whole number' : `a whole number >= ${min}`;
      const fixes = this.suggestFixes([...at, key], what, suggest);
      this.report([...at, key], 'error', `${key}-invalid`, `${what} must be ${need}, not ${show(v)}: ${hint}`, fixes);
      return undefined;
    }
    return v;
  }
}
