import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import {
  type FileProbe,
  PRESET_NAMES,
  SPEC_LIMITS,
  type SpecDiagnostic,
  specJsonSchema,
  validateSpec,
} from '../../src/core';

const SCHEMA_FILE = path.resolve(__dirname, '../../../media/densenet.schema.json');

const BASE = {
  version: 1,
  name: 't',
  model: { preset: 'densenet-bc-100-k12' },
  training: { epochs: 3, batchSize: 8, optimizer: 'sgd', learningRate: 0.1, lrSchedule: { type: 'step' } },
};

function text(training: Record<string, unknown>, top: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...BASE, training: { ...BASE.training, ...training }, ...top }, null, 2);
}

function errors(spec: string): SpecDiagnostic[] {
  return validateSpec(spec).diagnostics.filter((d) => d.severity === 'error');
}

/** Applies a diagnostic's first fix. */
function fixed(spec: string, d: SpecDiagnostic): string {
  const fix = d.fixes?.[0];
  assert.ok(fix, `expected a quick fix on ${d.message}`);
  return [...fix.edits]
    .sort((a, b) => b.offset - a.offset)
    .reduce((t, e) => t.slice(0, e.offset) + e.newText + t.slice(e.offset + e.length), spec);
}

const covered = (spec: string, d: SpecDiagnostic) => spec.slice(d.offset, d.offset + d.length);

/** Every property of a JSON schema, with its path. */
function* properties(schema: Record<string, unknown>, at = ''): Generator<[string, Record<string, unknown>]> {
  const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  for (const [key, sub] of Object.entries(props)) {
    yield [`${at}${key}`, sub];
    yield* properties(sub, `${at}${key}.`);
    for (const branch of (sub.anyOf ?? []) as Record<string, unknown>[]) yield* properties(branch, `${at}${key}.`);
  }
}

describe('the spec schema (one description: types, JSON schema, validation)', () => {
  it('media/densenet.schema.json is the schema generated from src/core/specSchema.ts (run node esbuild.mjs)', () => {
    assert.deepStrictEqual(JSON.parse(fs.readFileSync(SCHEMA_FILE, 'utf8')), specJsonSchema());
  });

  it('the JSON schema keeps hover docs, defaults, closed enums and ranges', () => {
    const schema = specJsonSchema();
    assert.strictEqual(schema.additionalProperties, false);
    for (const [at, p] of properties(schema)) {
      if (at === '$schema') continue;
      if (p.type === 'object') assert.strictEqual(p.additionalProperties, false, `${at}: unknown keys are errors`);
      if ((p.type === 'number' || p.type === 'integer') && p.const === undefined) {
        const low = p.minimum ?? p.exclusiveMinimum;
        const high = p.maximum ?? p.exclusiveMaximum;
        assert.ok(typeof low === 'number' && typeof high === 'number', `${at} has a range`);
      }
      if (p.type === 'string' && !p.enum) assert.ok(typeof p.maxLength === 'number', `${at} has a length bound`);
    }
    const props = (s: unknown) => (s as { properties: Record<string, Record<string, unknown>> }).properties;
    const model = props(props(schema).model);
    assert.match(String(model.growthRate.markdownDescription), /Growth rate \*\*k\*\*, 1 to 256/);
    assert.strictEqual(model.growthRate.default, 32);
    assert.deepStrictEqual(model.preset.enum, [...PRESET_NAMES]);
    assert.strictEqual((model.preset.enumDescriptions as string[]).length, PRESET_NAMES.length);
    assert.strictEqual(model.blockConfig.maxItems, SPEC_LIMITS.blocks);
    const training = props(props(schema).training);
    assert.deepStrictEqual(training.optimizer.enum, ['sgd', 'adam', 'adamw']);
    assert.strictEqual(training.batchSize.minimum, 1);
    assert.ok(props(schema).input.defaultSnippets);
  });

  it("the issue's six examples are errors the editor shows, each on its own range", () => {
    const cases: [string, string, RegExp, string][] = [
      [
        text({ optimizer: 'adagrad' }),
        'schema-enum',
        /training\.optimizer must be one of "sgd", "adam", "adamw"/,
        '"adagrad"',
      ],
      [text({ learningRate: -0.1 }), 'schema-minimum', /training\.learningRate must be at least 0, not -0\.1/, '-0.1'],
      [
        text({ lrSchedul: { type: 'cosine' } }),
        'schema-additionalProperties',
        /"lrSchedul" in training/,
        '"lrSchedul"',
      ],
      [
        text({}).replace('"training"', '"trainig"'),
        'schema-additionalProperties',
        /"trainig" in the spec/,
        '"trainig"',
      ],
      [text({ batchSize: 0 }), 'schema-minimum', /training\.batchSize must be at least 1, not 0/, '0'],
      [text({ epochs: '3' }), 'schema-type', /training\.epochs must be a whole number, not "3"/, '"3"'],
    ];
    for (const [spec, code, message, range] of cases) {
      const found = errors(spec);
      assert.strictEqual(found.length, 1, JSON.stringify(found));
      assert.strictEqual(found[0].code, code);
      assert.match(found[0].message, message);
      assert.strictEqual(covered(spec, found[0]), range);
    }
  });

  it('an unknown key suggests the nearest known key, with a quick fix that renames it', () => {
    const typo = text({ lrSchedul: { type: 'cosine' } });
    const [d] = errors(typo);
    assert.match(d.message, /did you mean "lrSchedule"\?/);
    assert.deepStrictEqual(errors(fixed(typo, d)), []);
    const section = text({}).replace('"training"', '"trainig"');
    assert.deepStrictEqual(errors(fixed(section, errors(section)[0])), []);
    // Nothing near: no fix, the known fields listed.
    const far = errors(text({ zzzzzzzzzz: 1 }))[0];
    assert.strictEqual(far.fixes, undefined);
    assert.match(far.message, /known fields: epochs, batchSize, optimizer/);
  });

  it('a misspelt enum value gets the nearest allowed value as a quick fix', () => {
    const spec = text({ optimizer: 'adamm' });
    const [d] = errors(spec);
    assert.strictEqual(d.fixes?.[0].title, 'Change to "adam"');
    assert.deepStrictEqual(errors(fixed(spec, d)), []);
    assert.strictEqual(errors(text({ optimizer: 'adagrad' }))[0].fixes, undefined, 'no guess when nothing is near');
  });

  it('sizes above the bounds are refused before any analysis, saying the bound', () => {
    const model = (m: Record<string, unknown>) =>
      JSON.stringify({ version: 1, model: { preset: 'densenet121', ...m } }, null, 2);
    for (const [m, message] of [
      [{ growthRate: 1e9 }, /model\.growthRate must be at most 256, not 1000000000: sizes are bounded/],
      [{ blockConfig: [1, 1000000] }, /model\.blockConfig\[1\] must be at most 128/],
      [{ blockConfig: [128, 128, 1] }, /model\.blockConfig: must have at most 256 layers in all/],
      [{ blockConfig: Array(9).fill(2) }, /model\.blockConfig must have at most 8 entries/],
      [{ numInitFeatures: 5000 }, /model\.numInitFeatures must be at most 1024/],
    ] as const) {
      const r = validateSpec(model(m));
      assert.strictEqual(r.analysis, undefined, JSON.stringify(m));
      assert.ok(
        r.diagnostics.some((d) => message.test(d.message)),
        JSON.stringify(r.diagnostics),
      );
    }
    const input = validateSpec(JSON.stringify({ ...BASE, input: { height: 5000, width: 32, channels: 3 } }));
    assert.strictEqual(input.analysis, undefined);
    // The largest spec within the bounds is analysed, with finite figures.
    const largest = validateSpec(
      JSON.stringify({
        version: 1,
        input: { height: SPEC_LIMITS.imageSide, width: SPEC_LIMITS.imageSide, channels: SPEC_LIMITS.channels },
        classes: SPEC_LIMITS.classes,
        model: {
          growthRate: SPEC_LIMITS.growthRate,
          blockConfig: Array(SPEC_LIMITS.layers / SPEC_LIMITS.layersPerBlock).fill(SPEC_LIMITS.layersPerBlock),
          bnSize: SPEC_LIMITS.bnSize,
          numInitFeatures: SPEC_LIMITS.numInitFeatures,
        },
      }),
    );
    assert.ok(largest.analysis, JSON.stringify(largest.diagnostics));
    assert.ok(Number.isFinite(largest.analysis.totals.params));
  });

  it('a check that fails inside DenseNet Lab is one internal-error diagnostic, never a throw', () => {
    const failing: FileProbe = {
      resolve: (_spec, relative) => relative,
      kind: () => {
        throw new Error('disk on fire');
      },
      directories: () => [],
      files: () => [],
    };
    const spec = JSON.stringify({ ...BASE, data: { train: 'x' } });
    const r = validateSpec(spec, { specPath: '/w/t.densenet.json', fs: failing });
    assert.strictEqual(r.diagnostics.length, 1);
    assert.strictEqual(r.diagnostics[0].code, 'internal-error');
    assert.match(r.diagnostics[0].message, /could not check this spec \(internal error: disk on fire\)/);
  });
});
