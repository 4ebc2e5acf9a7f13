/** Styles of the dashboard (injected as a <style> element: the CSP allows inline styles, not scripts). */
export const STYLE = `
canvas { image-rendering: auto; }
.dash-header { position: sticky; top: 0; z-index: 2; background: var(--vscode-editor-background); padding-bottom: 4px; border-bottom: 1px solid var(--vscode-panel-border, transparent); }
.dash-title { display: flex; align-items: center; gap: 10px; }
.badge { padding: 1px 8px; border-radius: 10px; background: var(--vscode-badge-background); color: var(--vscode-badge-foreground); font-size: 0.9em; }
.badge[data-status="running"] { background: var(--vscode-charts-green, #89d185); color: var(--vscode-editor-background); }
.badge[data-status="stopping"] { background: var(--vscode-charts-orange, #d18616); color: var(--vscode-editor-background); }
.badge[data-status="failed"] { background: var(--vscode-charts-red, #f14c4c); color: var(--vscode-editor-background); }
.badge[data-status="interrupted"] { background: var(--vscode-charts-orange, #d18616); color: var(--vscode-editor-background); }
.dash-stats { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 4px 0; font-variant-numeric: tabular-nums; }
.smoothing { display: inline-flex; align-items: center; gap: 6px; margin-left: 12px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 12px; margin-top: 8px; }
.chart-box h3 { font-size: 1em; margin: 4px 0; }
.chart { position: relative; height: 230px; }
.validation-grid { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 8px; text-align: right; border: 1px solid var(--vscode-panel-border, rgba(128,128,128,0.25)); }
th { font-weight: 600; color: var(--vscode-descriptionForeground); }
table.confusion td { min-width: 34px; text-align: center; }
table.confusion td.examples-cell { cursor: pointer; text-decoration: underline dotted; }
table.confusion td.examples-cell:hover { outline: 1px solid var(--vscode-focusBorder); }
table.confusion th.corner { font-weight: normal; font-size: 0.85em; }
table.runs td, table.runs th { text-align: left; }
table.runs tr.current td { background: var(--vscode-list-inactiveSelectionBackground); }
`;
