// Train the MNIST example from its code lens in the real VS Code, watch the progress notification and the
// status bar, stop it (a checkpoint is saved), then resume it from the palette and stop again.
export default async function ({ page, assert, ui }) {
  await ui.openFile(page, 'mnist/mnist.densenet.json');
  const train = page.locator('.codelens-decoration a', { hasText: 'Train' });
  await train.first().waitFor({ timeout: 30_000 });
  await train.first().click();

  const progress = page.locator('.notifications-toasts .notification-list-item', {
    hasText: /epoch 1\/\d+ · step \d+\/127 · loss/,
  });
  await progress.first().waitFor({ timeout: 90_000 });
  const status = page.locator('.statusbar-item', { hasText: /mnist · wasm · epoch 1\/\d+/ });
  await status.first().waitFor({ timeout: 10_000 });
  await ui.screenshot(page, 'training-progress');

  await status.first().click(); // the status bar item stops the run
  const stopped = page.locator('.notification-list-item', { hasText: 'Training cancelled after 0 epoch(s)' });
  await stopped.first().waitFor({ timeout: 60_000 });

  await ui.runCommand(page, 'DenseNet: Resume Training');
  const resumed = page.locator('.notifications-toasts .notification-list-item', {
    hasText: /epoch 1\/\d+ · step \d+\/127/,
  });
  await resumed.first().waitFor({ timeout: 90_000 });
  await ui.screenshot(page, 'training-resumed');
  await ui.runCommand(page, 'DenseNet: Stop Training');
  await page.locator('.notification-list-item', { hasText: 'Training cancelled' }).first().waitFor({ timeout: 60_000 });
  assert.ok(true);
}
