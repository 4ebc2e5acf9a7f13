/**
 * What stops a spec's model from being built, said the same way by every tool that refuses such a spec: the
 * engine (training, inspecting an untrained model), the CLI's analysis, the editor's Train command. Pure.
 */
import type { Analysis } from './analyze';
import { lineColumn, type SpecDiagnostic } from './parse';
import type { ResolvedSpec } from './types';
import { validateSpec, type ValidationOptions, type ValidationResult } from './validate';

/** A validation whose model can be built: no error, and the spec resolved and analysed. */
export type BuildableSpec = ValidationResult & { resolved: ResolvedSpec; analysis: Analysis };

/** Why a spec's model cannot be built. */
export interface SpecErrors {
  /** The error diagnostics. */
  errors: SpecDiagnostic[];
  /** `<file> has 1 error`, `<file> has 3 errors`. */
  summary: string;
  /** Each error located: `<file>:<line>:<column>: <message>` (1-based). */
  located: string[];
}

/** `file:line:column: message` (1-based); `detailed` adds the severity and the code, as the CLI prints them. */
export function formatDiagnostic(file: string, text: string, d: SpecDiagnostic, detailed = false): string {
  const { line, column } = lineColumn(text, d.offset);
  const where = `${file}:${line + 1}:${column + 1}`;
  return detailed ? `${where}: ${d.severity}: ${d.message} [${d.code}]` : `${where}: ${d.message}`;
}

/**
 * Whether the model of a validated spec can be built: `ok` with the spec, or its errors counted and located in
 * `file`. `diagnostics`: the ones to count (the CLI adds the JSON-schema diagnostics to the validator's).
 */
export function checkBuildable(
  result: ValidationResult,
  file: string,
  diagnostics: readonly SpecDiagnostic[] = result.diagnostics,
): { ok: true; spec: BuildableSpec } | ({ ok: false } & SpecErrors) {
  const errors = diagnostics.filter((d) => d.severity === 'error');
  const { resolved, analysis } = result;
  if (errors.length === 0 && resolved && analysis) return { ok: true, spec: { ...result, resolved, analysis } };
  return {
    ok: false,
    errors,
    summary: `${file} has ${errors.length} error${errors.length === 1 ? '' : 's'}`,
    located: errors.map((d) => formatDiagnostic(file, result.parsed.text, d)),
  };
}

/**
 * Validates spec text and returns it if its model can be built; else throws an Error that says so:
 * `<file> has N errors; fix them <purpose>:` then the errors, one a line.
 */
export function validateBuildable(
  text: string,
  options: ValidationOptions & { file: string; purpose: string },
): BuildableSpec {
  const check = checkBuildable(validateSpec(text, options), options.file);
  if (!check.ok) throw new Error(`${check.summary}; fix them ${options.purpose}:\n${check.located.join('\n')}`);
  return check.spec;
}
