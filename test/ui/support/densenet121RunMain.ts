/**
 * Writes a DenseNet-121 run folder (224x224x3, 1000 classes, seeded random weights) the way an import of
 * pretrained weights lays it out: run.json (completed), spec.densenet.json, preprocessing.json (the 1000 class
 * names and ImageNet's mean/std) and checkpoints/best/{model.json,weights.bin}, saved by the engine's own code.
 *
 * Bundled and run by densenet121Run.mjs: `node <bundle> <run folder> <media/imagenet-classes.json>`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { validateBuildable } from '../../../src/core';
import { nodeFileProbe } from '../../../src/core/nodeFs';
import { initBackend } from '../../../src/engine/backend';
import { saveModel } from '../../../src/engine/checkpoint';
import { buildModel } from '../../../src/engine/model';
import { loadImagenetClasses } from '../../../src/interchange/imagenetClasses';
import { checkpointDir } from '../../../src/runs/checkpointFiles';
import { PREPROCESSING_JSON, type Preprocessing } from '../../../src/runs/preprocessing';
import { RUN_JSON, SPEC_SNAPSHOT, type RunInfo } from '../../../src/runs/runFolder';

export const SPEC_TEXT = `{
  "version": 1,
  "name": "densenet121",
  "input": { "height": 224, "width": 224, "channels": 3 },
  "classes": 1000,
  "model": { "preset": "densenet121" }
}
`;

async function main(runDir: string, classNamesFile: string): Promise<void> {
  const classNames = loadImagenetClasses(classNamesFile);
  await initBackend('cpu');
  const v = validateBuildable(SPEC_TEXT, {
    fs: nodeFileProbe,
    maxTrainingMemoryBytes: Infinity,
    file: SPEC_SNAPSHOT,
    purpose: 'to build DenseNet-121',
  });
  // torchvision's batch-norm epsilon, as an import of its weights builds the model.
  const model = buildModel(v.analysis, { seed: 121, batchNormEpsilon: 1e-5 });
  try {
    await saveModel(model, checkpointDir(runDir, 'best'));
  } finally {
    model.dispose();
  }
  const pre: Preprocessing = {
    input: v.resolved.input,
    classNames: [...classNames],
    normalization: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  };
  const time = new Date().toISOString();
  const info: RunInfo = {
    runId: path.basename(runDir),
    specName: 'densenet121',
    status: 'completed',
    startedAt: time,
    updatedAt: time,
    endedAt: time,
    epochs: 0,
    epochsCompleted: 0,
  };
  fs.writeFileSync(path.join(runDir, PREPROCESSING_JSON), JSON.stringify(pre, null, 2));
  fs.writeFileSync(path.join(runDir, SPEC_SNAPSHOT), SPEC_TEXT);
  fs.writeFileSync(path.join(runDir, RUN_JSON), JSON.stringify(info, null, 2));
}

main(process.argv[2], process.argv[3]).then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
