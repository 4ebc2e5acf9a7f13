/** Styles of Compare Runs (injected as a <style> element: the CSP allows inline styles, not scripts). */
export const STYLE = `
.exp-header { position: sticky; top: 0; z-index: 2; background: var(--vscode-editor-background); padding-bottom: 4px; }
.exp-title { display: flex; align-items: baseline; gap: 12px; }
button { color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground); border: 1px solid var(--vscode-button-border, transparent); padding: 3px 10px; border-radius: 2px; cursor: pointer; font: inherit; }
button:hover { background: var(--vscode-button-secondaryHoverBackground); }
button.link { background: none; border: none; padding: 0 2px; color: var(--vscode-textLink-foreground); }
button.link:hover { text-decoration: underline; }
select { color: var(--vscode-dropdown-foreground); background: var(--vscode-dropdown-background); border: 1px solid var(--vscode-dropdown-border, transparent); padding: 2px 4px; font: inherit; }
.tb-box[hidden] { display: none; }
.tb-box { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; margin: 4px 0; }
.tb-box code { padding: 2px 6px; background: var(--vscode-textCodeBlock-background); user-select: all; }
.table-wrap { overflow-x: auto; max-width: 100%; }
table.experiments { border-collapse: collapse; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.experiments th, table.experiments td { padding: 3px 8px; text-align: left; border: 1px solid var(--vscode-panel-border, rgba(128,128,128,0.25)); }
table.experiments th { font-weight: 600; color: var(--vscode-descriptionForeground); }
table.experiments tr.groups th { text-align: center; font-weight: normal; }
table.experiments th.sortable { cursor: pointer; user-select: none; }
table.experiments th[data-sort] { color: var(--vscode-foreground); }
table.experiments td.metric, table.experiments td[data-key="durationSec"], table.experiments td[data-key="epochsDone"] { text-align: right; }
table.experiments .differs { background: color-mix(in srgb, var(--vscode-charts-yellow, #cca700) 22%, transparent); }
table.experiments th.differs { color: var(--vscode-foreground); }
table.experiments td.default { color: var(--vscode-descriptionForeground); font-style: italic; }
table.experiments td[data-key="notes"] { white-space: normal; max-width: 28em; min-width: 8em; }
table.experiments td.problem { color: var(--vscode-errorForeground); }
table.experiments tr.selected td { background: var(--vscode-list-inactiveSelectionBackground); }
table.experiments tr.selected td.differs { background: color-mix(in srgb, var(--vscode-charts-yellow, #cca700) 30%, var(--vscode-list-inactiveSelectionBackground)); }
table.experiments tr[data-status="running"] td[data-key="status"] { color: var(--vscode-charts-green, #89d185); font-weight: 600; }
.curves h3 { margin: 0 8px 0 0; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 12px; margin-top: 8px; }
.chart-box h4 { margin: 4px 0; font-weight: 600; }
.chart { position: relative; height: 260px; }
`;
