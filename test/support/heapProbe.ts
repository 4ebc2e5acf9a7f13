/**
 * Run by gradients.test.ts in a fresh process: trains a small DenseNet-BC for 8 steps on WASM and prints the
 * WASM heap size after each step as a JSON array. Argument: memoryEfficient (true|false).
 */
import * as path from 'path';
import { analyze, findPreset, trainingConfig } from '../../src/core';
import { initBackend } from '../../src/engine/backend';
import { buildModel } from '../../src/engine/model';
import { tf } from '../../src/engine/tf';
import { makeForward, makeOptimizer, trainStep } from '../../src/engine/training/step';
import { values } from './backends';

async function main(): Promise<void> {
  await initBackend('wasm', { wasmDir: path.resolve(__dirname, '../../../dist') });
  const p = findPreset('densenet-bc-100-k12');
  if (!p) throw new Error('no densenet-bc-100-k12 preset');
  const a = analyze({ ...p.model, growthRate: 8, blockConfig: [4, 4] }, { height: 32, width: 32, channels: 3 }, 4);
  const model = buildModel(a, { seed: 3 });
  const c = trainingConfig({ optimizer: 'adam', memoryEfficient: process.argv[2] === 'true' });
  const optimizer = makeOptimizer(c);
  const forward = makeForward(model, a, c);
  const batch = { x: values(16 * 32 * 32 * 3, 9), y: Int32Array.from({ length: 16 }, (_, i) => i % 4), size: 16 };
  const heap = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
  const sizes: number[] = [];
  for (let i = 0; i < 8; i++) {
    trainStep(model, optimizer, batch, 4, c, c.learningRate, forward);
    sizes.push(heap());
  }
  process.stdout.write(`${JSON.stringify(sizes)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
