// Answering the quick picks and input boxes of a command (the New Model Spec wizard) with the keyboard.

/** `widget(title)`, `row(text)`, the input, and `answer(title, text?)`: wait for the question, type, Enter. */
export function quickInput(page) {
  const widget = (text) => page.locator('.quick-input-widget', { hasText: text });
  const input = page.locator('.quick-input-widget input');
  const row = (text) => page.locator('.quick-input-widget .monaco-list-row', { hasText: text }).first();
  const answer = async (title, text) => {
    await widget(title).waitFor({ timeout: 15_000 });
    if (text !== undefined) await input.fill(text);
    await page.keyboard.press('Enter');
  };
  return { widget, input, row, answer };
}
