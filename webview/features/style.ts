/** Styles of the feature maps page (injected as a <style> element: the CSP allows inline styles, not scripts). */
export const STYLE = `
section { margin: 10px 0 16px; }
section > h2 { font-size: 1.1em; border-bottom: 1px solid var(--vscode-panel-border, var(--vscode-widget-border, #8884)); padding-bottom: 2px; }
button { color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: 1px solid var(--vscode-button-border, transparent); padding: 3px 10px; cursor: pointer; font: inherit; }
button:hover { background: var(--vscode-button-hoverBackground); }
button.secondary { color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground); }
button:disabled { opacity: .5; cursor: default; }
select, input { color: var(--vscode-dropdown-foreground); background: var(--vscode-dropdown-background); border: 1px solid var(--vscode-dropdown-border, transparent); font: inherit; padding: 2px 4px; }
input[type=number] { width: 5em; color: var(--vscode-input-foreground); background: var(--vscode-input-background); }
input[type=checkbox] { width: auto; }
.row { display: flex; gap: 16px; flex-wrap: wrap; align-items: flex-start; }
.view canvas.big { width: 224px; height: 224px; border: 1px solid var(--vscode-widget-border, #8884); }
.preds { min-width: 240px; }
.pred { display: grid; grid-template-columns: minmax(8em, 16em) minmax(60px, 1fr) 4.5em; gap: 6px; align-items: center; margin: 3px 0; }
.pred .bar { height: 10px; background: var(--vscode-progressBar-background); }
.pred.top { font-weight: 600; }
.pred .name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.pred .pct { text-align: right; font-variant-numeric: tabular-nums; }
#predictions .pred { cursor: pointer; }
.pred.present { font-weight: 600; }
.pred .track { position: relative; }
.pred .threshold { position: absolute; top: -2px; width: 2px; height: 14px; background: var(--vscode-editorWarning-foreground, #cca700); }
.legend { min-width: 200px; }
.legend-item { display: grid; grid-template-columns: 14px minmax(6em, 12em) 4.5em; gap: 6px; align-items: center; margin: 3px 0; cursor: pointer; }
.legend-item .swatch { width: 12px; height: 12px; border: 1px solid var(--vscode-widget-border, #8884); }
.legend-item .pct { text-align: right; font-variant-numeric: tabular-nums; }
.legend-item.selected, .class-maps .tile.selected figcaption { font-weight: 600; color: var(--vscode-focusBorder); }
.class-maps { display: grid; grid-template-columns: repeat(auto-fill, minmax(88px, 1fr)); gap: 6px; }
.class-maps .tile { cursor: pointer; }
.class-maps .tile.selected canvas { border-color: var(--vscode-focusBorder); }
#segmentation[hidden] { display: none; }
#gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(72px, 1fr)); gap: 6px; }
.tile { margin: 0; cursor: zoom-in; text-align: center; }
.tile canvas { width: 100%; aspect-ratio: 1; display: block; border: 1px solid transparent; }
.tile:hover canvas, .tile:focus-visible canvas { border-color: var(--vscode-focusBorder); }
.tile figcaption { font-size: .85em; color: var(--vscode-descriptionForeground); font-variant-numeric: tabular-nums; }
#zoom { position: fixed; inset: 0; background: rgba(0,0,0,.55); display: none; align-items: center; justify-content: center; z-index: 10; }
#zoom.open { display: flex; }
#zoom .card { width: min(60vh, 70vw); background: var(--vscode-editorWidget-background, var(--vscode-editor-background)); color: var(--vscode-foreground); border: 1px solid var(--vscode-widget-border, #8884); padding: 12px; max-width: 90vw; }
#zoom canvas.zoomed { width: min(60vh, 70vw); height: min(60vh, 70vw); display: block; }
.scale { display: grid; grid-template-columns: auto 1fr auto; gap: 6px; align-items: center; margin-top: 6px; font-variant-numeric: tabular-nums; }
.scale canvas { width: 100%; height: 12px; }
.status { min-height: 1.3em; }
input[type=search] { width: 10em; color: var(--vscode-input-foreground); background: var(--vscode-input-background); }
#gallery-more[hidden], #gallery-all[hidden] { display: none; }
.analyses > section { flex: 1 1 300px; min-width: 260px; margin-top: 0; }
.analyses .toolbar { gap: 6px; }
.overlay-legend { width: 224px; }
.overlay-legend[hidden], #compare[hidden] { display: none; }
input[type=range] { width: 8em; vertical-align: middle; }
.compare-sides > .side { flex: 1 1 320px; min-width: 280px; }
.side-label { font-weight: 600; margin-bottom: 4px; }
.side-gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(48px, 1fr)); gap: 4px; }
.side-gallery .tile { cursor: default; }
.error { color: var(--vscode-errorForeground); }
`;
