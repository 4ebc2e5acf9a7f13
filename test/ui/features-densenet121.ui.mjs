// Feature maps panel on a real-size DenseNet: a DenseNet-121 run (224x224x3, 1000 ImageNet classes; torchvision's
// model with seeded random weights, imported by `densenet-lab import`: test/ui/support/densenet121Run.mjs) and two
// RGB photos, 224x224 and 500x375 (resized by the panel). Right-click a photo -> "Visualize Feature Maps" -> pick
// the run; check the top-5 ImageNet classes, the galleries of layers across the network, the searchable layer and
// class pickers (all 1000 classes), Grad-CAM, saliency and the activation maximisation of a channel; and time, as a
// person waits for them, a layer's gallery after its pick and Grad-CAM after its request (targets on 2 cores:
// < 3 s each, medians of 3).
import fs from 'node:fs';
import path from 'node:path';
import { writeDenseNet121Run, writeTestImage } from './support/densenet121Run.mjs';

const TARGET_MS = 3000;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Right-click `name` in the explorer (inside `folder`), "Visualize Feature Maps", pick the run `runId`. */
async function visualize(page, folder, name, runId) {
  const explorer = page.locator('.explorer-folders-view');
  const row = (n) =>
    explorer
      .locator('.monaco-list-row')
      .filter({ hasText: new RegExp(`^\\s*${n.replace(/\./g, '\\.')}\\s*$`) })
      .first();
  const f = row(folder);
  await f.waitFor({ timeout: 30_000 });
  if ((await f.getAttribute('aria-expanded')) !== 'true') await f.click();
  const file = row(name);
  await file.waitFor({ timeout: 20_000 });
  await file.click({ button: 'right' });
  const menu = page.locator('.context-view .monaco-menu');
  await menu.waitFor({ timeout: 10_000 });
  await page.waitForTimeout(400);
  const item = menu.locator('.action-item', { hasText: 'Visualize Feature Maps' }).first();
  await item.hover();
  await item.click();
  const pick = page.locator('.quick-input-widget .monaco-list-row', { hasText: runId }).first();
  await pick.waitFor({ timeout: 30_000 });
  await pick.click();
}

/** The extension's log lines about the feature maps and the inspection engine (timings), from code-server's logs. */
function inspectionLog(stateDir) {
  const lines = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.log'))
        for (const line of fs.readFileSync(p, 'utf8').split('\n'))
          if (/Feature maps:|\[inspection\]|Inspection engine/.test(line)) lines.push(line);
    }
  };
  const logs = path.join(stateDir, 'user-data', 'logs');
  if (fs.existsSync(logs)) walk(logs);
  return lines;
}

/** How many of the gallery's canvases are not flat (pixel variance > 1). */
function nonBlankCount(tiles) {
  return tiles.evaluateAll(
    (canvases) =>
      canvases.filter((c) => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let s = 0;
        let s2 = 0;
        const n = d.length / 4;
        for (let i = 0; i < d.length; i += 4) {
          const v = d[i] + d[i + 1] + d[i + 2];
          s += v;
          s2 += v * v;
        }
        return s2 / n - (s / n) ** 2 > 1;
      }).length,
  );
}

/** Set-up (a torchvision DenseNet-121 imported), then every view of the panel at 224x224: longer than the default. */
export const timeoutSeconds = 420;

export default async function ({ page, workspace, server, assert, ui }) {
  const { runId, runDir, source, ms: setupMs } = await writeDenseNet121Run(workspace);
  await writeTestImage(path.join(workspace, 'photos', 'square224.png'), 224, 224);
  await writeTestImage(path.join(workspace, 'photos', 'wide500x375.png'), 500, 375);
  console.log(`    DenseNet-121 run written in ${setupMs} ms (${source})`);
  const classNames = JSON.parse(fs.readFileSync(path.join(runDir, 'preprocessing.json'), 'utf8')).classNames;
  assert.equal(classNames.length, 1000);

  let t0 = Date.now();
  await visualize(page, 'photos', 'square224.png', runId);
  const frame = page.frameLocator('iframe.webview').frameLocator('#active-frame');
  const gallery = frame.locator('#gallery');
  const tiles = frame.locator('#gallery canvas');

  // Top-5: ImageNet class names with probabilities.
  const preds = frame.locator('#predictions .pred');
  await preds.nth(4).waitFor({ timeout: 90_000 });
  const openMs = Date.now() - t0;
  assert.equal(await preds.count(), 5, 'the top 5 classes');
  for (let i = 0; i < 5; i++) {
    const name = await preds.nth(i).locator('.name').textContent();
    assert.ok(classNames.includes(name), `"${name}" is an ImageNet class`);
    // Never "0.0%" for a class the model gives some probability: small ones read "<0.1%".
    assert.match(await preds.nth(i).locator('.pct').textContent(), /^(\d+\.\d%|<0\.1%|>99\.9%)$/);
  }
  assert.match(await frame.locator('#input-caption').textContent(), /^224×224×3/);

  // The first gallery: the head's `relu` (7x7x1024), the first page of channels drawn, more on demand.
  await frame.locator('#gallery[data-layer="relu"] canvas').first().waitFor({ timeout: 60_000 });
  const firstGalleryMs = Date.now() - t0;
  assert.equal(await gallery.getAttribute('data-channels'), '1024');
  assert.equal(await tiles.count(), 128, 'the first 128 of 1024 channels drawn');
  await frame.locator('#gallery-more').click();
  await frame.locator('#gallery[data-shown="256"]').waitFor({ timeout: 10_000 });
  assert.equal(await tiles.count(), 256, '"Show more" draws 128 more');
  await frame.locator('#gallery-all').click();
  await frame.locator('#gallery[data-shown="1024"]').waitFor({ timeout: 20_000 });
  assert.ok(await frame.locator('#gallery-more').isHidden(), 'nothing more to show');
  // The automatic Grad-CAM of the predicted class at the layer chosen by resolution: at 224 the deepest block
  // output at >= 224/16 = 14 cells a side, conv4_block24_concat (14×14), not the 7×7 relu; the panel says so.
  await frame.locator('#gradcam-info', { hasText: /p=/ }).waitFor({ timeout: 60_000 });
  assert.equal(await frame.locator('#gradcam-default').getAttribute('data-layer'), 'conv4_block24_concat');
  assert.match(await frame.locator('#gradcam-default').textContent(), /^Grad-CAM at conv4_block24_concat \(14×14\)/);
  assert.equal(await frame.locator('#gradcam-canvas').getAttribute('data-map-size'), '14x14');
  console.log(`    open: top-5 ${openMs} ms, first gallery ${firstGalleryMs} ms after the run was picked`);

  // The layer picker: 400+ layers grouped by block.
  const layerOptions = await frame.locator('#layer option').count();
  assert.ok(layerOptions > 400, `DenseNet-121's layers offered (${layerOptions})`);
  const groups = await frame.locator('#layer optgroup').evaluateAll((gs) => gs.map((g) => g.label));
  for (const g of ['Stem (conv1)', 'Dense block 1 (conv2)', 'Transition 3 (pool4)', 'Dense block 4 (conv5)', 'Head'])
    assert.ok(groups.includes(g), `group ${g} in ${groups.join(', ')}`);

  // Layers across the network: time from the pick to the gallery drawn.
  const picks = [];
  for (const layer of ['conv1_relu', 'conv3_block12_concat', 'pool4_conv', 'conv5_block16_concat', 'conv1_relu']) {
    t0 = Date.now();
    await frame.locator('#layer').selectOption(layer);
    await frame.locator(`#gallery[data-layer="${layer}"] canvas`).first().waitFor({ timeout: 60_000 });
    const ms = Date.now() - t0;
    const channels = Number(await gallery.getAttribute('data-channels'));
    const shown = await tiles.count();
    const nonBlank = await nonBlankCount(tiles);
    const computeMs = await gallery.getAttribute('data-compute-ms');
    const drawMs = await gallery.getAttribute('data-draw-ms');
    console.log(
      `    pick ${layer}: gallery in ${ms} ms (panel: ${computeMs} ms to compute, ${drawMs} ms to draw); ${shown}/${channels} channels drawn, ${nonBlank} non-blank`,
    );
    assert.equal(shown, Math.min(channels, 128));
    assert.ok(nonBlank >= shown / 2, `most channels of ${layer} are non-blank (${nonBlank}/${shown})`);
    picks.push({ layer, ms });
  }
  const firstPicks = picks.slice(0, 3).map((p) => p.ms);
  const galleryMedian = median(firstPicks);
  console.log(
    `    gallery after a pick: median ${galleryMedian} ms of ${firstPicks.join(', ')} (uncached); again (cached) ${picks[4].ms} ms`,
  );

  // The layer search: Enter shows the first match.
  await frame.locator('#layer-search').fill('block12_concat');
  assert.ok(Number(await frame.locator('#layer-search').getAttribute('data-matches')) >= 2);
  await frame.locator('#layer-search').press('Enter');
  await frame.locator('#gallery[data-layer$="block12_concat"] canvas').first().waitFor({ timeout: 60_000 });

  // Grad-CAM of classes chosen among all 1000 by searching.
  assert.equal(await frame.locator('#gradcam-class option').count(), 1000, 'every ImageNet class offered');
  const cams = [];
  for (const [query, index] of [
    ['goldfish', 1],
    ['tabby', 281],
    ['volcano', 980],
  ]) {
    await frame.locator('#gradcam-class-search').fill(query);
    assert.equal(
      await frame.locator('#gradcam-class').inputValue(),
      String(index),
      `"${query}" selects class ${index}`,
    );
    t0 = Date.now();
    await frame.locator('#gradcam button', { hasText: 'Compute' }).click();
    await frame.locator(`#gradcam-canvas[data-class-index="${index}"]`).waitFor({ timeout: 60_000 });
    await frame.locator('#gradcam-info', { hasText: new RegExp(`^${classNames[index]} \\(p=`) }).waitFor();
    const ms = Date.now() - t0;
    console.log(
      `    Grad-CAM of ${classNames[index]}: overlay in ${ms} ms (panel ${await frame.locator('#gradcam-canvas').getAttribute('data-ms')} ms)`,
    );
    cams.push(ms);
  }
  assert.deepEqual(
    await frame.locator('#gradcam-canvas').evaluate((c) => [c.width, c.height]),
    [224, 224],
    'Grad-CAM at the input size',
  );
  const camMedian = median(cams);
  console.log(`    Grad-CAM: median ${camMedian} ms of ${cams.join(', ')}`);

  // Saliency of a searched class.
  await frame.locator('#saliency-class-search').fill('tench');
  assert.equal(await frame.locator('#saliency-class').inputValue(), '0');
  t0 = Date.now();
  await frame.locator('#saliency button', { hasText: 'Compute' }).click();
  await frame.locator('#saliency-info', { hasText: /^tench \(p=/ }).waitFor({ timeout: 90_000 });
  console.log(`    saliency of tench: ${Date.now() - t0} ms`);
  assert.deepEqual(await frame.locator('#saliency-canvas').evaluate((c) => [c.width, c.height]), [224, 224]);

  // Activation maximisation of a channel of the layer shown.
  await frame.locator('#layer').selectOption('conv3_block12_concat');
  await frame.locator('#gallery[data-layer="conv3_block12_concat"] canvas').first().waitFor({ timeout: 60_000 });
  // From the zoom of channel 5: "Maximise this channel" (4 steps, a DenseNet-121 step at 224x224 takes seconds).
  await frame.locator('#max-steps').fill('4');
  await frame.locator('#gallery canvas[data-channel="5"]').click();
  await frame.locator('#zoom.open').waitFor({ timeout: 5_000 });
  t0 = Date.now();
  await frame.locator('#zoom button', { hasText: 'Maximise this channel' }).click();
  assert.equal(await frame.locator('#max-channel').inputValue(), '5');
  // Every step reported at this size, with the time left.
  await frame
    .locator('#max-info', {
      hasText: /^conv3_block12_concat channel 5: step [123]\/4, objective \S+, about \d+ s left$/,
    })
    .waitFor({ timeout: 60_000 });
  await frame
    .locator('#max-info', { hasText: /^conv3_block12_concat channel 5: done, 4 steps/ })
    .waitFor({ timeout: 120_000 });
  console.log(`    maximisation of conv3_block12_concat channel 5: 4 steps in ${Date.now() - t0} ms`);
  assert.deepEqual(await frame.locator('#max-canvas').evaluate((c) => [c.width, c.height]), [224, 224]);
  await ui.screenshot(page, 'features-densenet121');

  // A 500x375 photo: resized to the model's 224x224 input.
  await visualize(page, 'photos', 'wide500x375.png', runId);
  await frame.locator('#gallery[data-layer="conv3_block12_concat"] canvas').first().waitFor({ timeout: 90_000 });
  assert.match(await frame.locator('#input-caption').textContent(), /^224×224×3/);
  assert.equal(await preds.count(), 5);
  assert.ok((await nonBlankCount(tiles)) >= 64, 'the resized photo has non-blank maps');

  console.log(
    `    the extension's log:\n${inspectionLog(server.stateDir)
      .map((l) => `      ${l}`)
      .join('\n')}`,
  );
  assert.ok(galleryMedian < TARGET_MS, `gallery after a pick: median ${galleryMedian} ms (target < ${TARGET_MS} ms)`);
  assert.ok(camMedian < TARGET_MS, `Grad-CAM: median ${camMedian} ms (target < ${TARGET_MS} ms)`);
}
