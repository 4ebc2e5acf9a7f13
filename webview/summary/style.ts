/** Writes the summary page's constant markup and styles (theme variables only); every value is set as text later. */
export function writePage(app: HTMLElement): void {
  app.innerHTML = `
<style>
  html, body { height: 100%; }
  body { box-sizing: border-box; }
  #app { display: flex; flex-direction: column; height: 100%; }
  .grow { flex: 1; }
  #filter { width: 14em; background: var(--vscode-input-background); color: var(--vscode-input-foreground);
    border: 1px solid var(--vscode-input-border, transparent); padding: 3px 6px; }
  #filter:focus { outline: 1px solid var(--vscode-focusBorder); }
  #totals { display: flex; flex-wrap: wrap; gap: 4px 18px; margin: 0 0 8px; }
  #totals div { white-space: nowrap; }
  #totals .v { font-weight: 600; font-variant-numeric: tabular-nums; }
  #problem { margin: 0 0 6px; }
  #wrap { flex: 1; min-height: 0; overflow: auto; border: 1px solid var(--vscode-editorWidget-border, transparent); }
  /* Automatic layout: the figures take their width (never cut), the names and inputs wrap in what is left. */
  table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
  table.stale tbody { opacity: 0.55; }
  th, td { padding: 2px 6px; vertical-align: top; text-align: left; }
  td.name, td.conn { overflow-wrap: break-word; }
  /* In a narrow panel the type may break anywhere, the names only after an underscore. */
  tr.layer .ltype { display: block; font-size: 0.92em; overflow-wrap: anywhere; }
  @media (max-width: 640px) {
    table { font-size: 0.92em; }
    th, td { padding: 2px 3px; }
    tr.layer td.name { padding-left: 12px; }
  }
  td.shape, td.num { white-space: nowrap; }
  thead th { position: sticky; top: 0; z-index: 1; background: var(--vscode-editor-background);
    border-bottom: 1px solid var(--vscode-editorWidget-border, currentColor); font-weight: 600; }
  th.num, td.num, td.shape, td.count { text-align: right; }
  th button { all: unset; cursor: pointer; display: inline-block; max-width: 100%; }
  th button:focus-visible { outline: 1px solid var(--vscode-focusBorder); }
  th[aria-sort="descending"] button::after { content: ' \\25BC'; }
  th[aria-sort="ascending"] button::after { content: ' \\25B2'; }
  .ltype, .count { color: var(--vscode-descriptionForeground); }
  td.conn { font-family: var(--vscode-editor-font-family, monospace); font-size: 0.92em; }
  tr.layer { cursor: pointer; }
  tr.layer:hover { background: var(--vscode-list-hoverBackground); }
  tr.layer.sel { background: var(--vscode-list-activeSelectionBackground);
    color: var(--vscode-list-activeSelectionForeground); }
  tr.layer td.name { padding-left: 22px; }
  tr.group-head { cursor: pointer; background: var(--vscode-sideBarSectionHeader-background, transparent); }
  tr.group-head td { border-top: 1px solid var(--vscode-editorWidget-border, transparent); }
  tr.group-head.flash { outline: 1px solid var(--vscode-focusBorder); }
  .twisty { display: inline-block; width: 16px; }
  .twisty::before { content: '\\25BE'; }
  tr.collapsed .twisty::before { content: '\\25B8'; }
  .frozen { font-size: 0.85em; padding: 0 4px; border-radius: 3px;
    background: var(--vscode-badge-background); color: var(--vscode-badge-foreground); }
  tfoot td { border-top: 1px solid var(--vscode-editorWidget-border, currentColor); font-weight: 600;
    position: sticky; bottom: 0; background: var(--vscode-editor-background); }
  #copied-text { position: absolute; left: -10000px; width: 1px; height: 1px; }
</style>
<div class="toolbar">
  <strong id="title">Summary</strong><span id="subtitle" class="muted"></span><span class="grow"></span>
  <input id="filter" type="search" placeholder="Filter layers (conv4 concat)" aria-label="Filter layers by name or type">
  <span id="count" class="muted"></span>
  <vscode-button id="expand" secondary>Expand all</vscode-button>
  <vscode-button id="collapse" secondary>Collapse all</vscode-button>
  <vscode-button id="order" secondary title="Back to the model's order, grouped by part">Model order</vscode-button>
  <vscode-button id="copy" secondary title="Copy the Keras-style text summary">Copy as text</vscode-button>
  <span id="copied" class="muted" role="status"></span>
</div>
<div id="problem" class="error" hidden></div>
<div id="totals"></div>
<div id="wrap">
  <table id="table">
    <thead><tr id="head"></tr></thead>
    <tbody id="rows"></tbody>
  </table>
</div>
<textarea id="copied-text" readonly tabindex="-1" aria-hidden="true"></textarea>`;
}
