// Train the MNIST example from its code lens in the real VS Code, watch the status bar (one item: no progress
// notification), stop it (a checkpoint is saved; the message says where), then resume it from the palette and stop again.
export default async function ({ page, assert, ui }) {
  await ui.openFile(page, 'mnist/mnist.densenet.json');
  const train = page.locator('.codelens-decoration a', { hasText: 'Train' });
  await train.first().waitFor({ timeout: 30_000 });
  await train.first().click();

  const status = page.locator('.statusbar-item', { hasText: /mnist · wasm · epoch 1\/\d+ · loss/ });
  await status.first().waitFor({ timeout: 90_000 });
  assert.strictEqual(await page.locator('.statusbar-item', { hasText: /mnist/ }).count(), 1, 'one status bar item');
  await ui.screenshot(page, 'training-progress');

  await status.first().click(); // the status bar item stops the run
  const stopped = page.locator('.notification-list-item', {
    hasText: /Stopped at epoch 1, batch \d+\/127; checkpoint saved/,
  });
  await stopped.first().waitFor({ timeout: 60_000 });
  assert.strictEqual(await page.locator('.notification-list-item', { hasText: /cancelled/i }).count(), 0);

  await ui.runCommand(page, 'DenseNet: Resume Training');
  await status.first().waitFor({ timeout: 90_000 });
  await ui.screenshot(page, 'training-resumed');
  await ui.runCommand(page, 'Notifications: Clear All Notifications');
  await ui.runCommand(page, 'DenseNet: Stop Training');
  await stopped.first().waitFor({ timeout: 60_000 });
}
