/**
 * The architecture webview: draws the diagram model the host sends (layout from src/spec/diagram.ts) as one
 * SVG string per render (a single innerHTML write; highlight and selection only toggle classes), lets blocks
 * collapse and expand, reveals a clicked node's spec text through the host, and exports SVG/PNG.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type {
  ArchitectureFromWebview,
  ArchitectureState,
  ArchitectureToWebview,
  ArchitectureWebviewState,
} from '../../src/protocol/architecture';
import { type DiagramLayout, formatShape, isExpanded, layoutDiagram } from '../../src/core/diagram';
import { onMessage, post, vscodeApi } from '../common/vscode';

const send = (m: ArchitectureFromWebview) => post<ArchitectureFromWebview>(m);
const api = vscodeApi<ArchitectureWebviewState>();
const saved = api.getState() ?? {};

let state: ArchitectureState | undefined;
let expanded: Record<string, boolean> = saved.expanded ?? {};
let layout: DiagramLayout | undefined;
let selected: string | undefined;
let exportId = 0;

/** Diagram styles: inside the SVG so an export carries them; colours are VS Code theme variables only. */
const VARIABLES = [
  '--vscode-editor-background',
  '--vscode-foreground',
  '--vscode-descriptionForeground',
  '--vscode-font-family',
  '--vscode-editor-font-family',
  '--vscode-editorWidget-background',
  '--vscode-editorWidget-border',
  '--vscode-focusBorder',
  '--vscode-charts-blue',
  '--vscode-charts-green',
  '--vscode-charts-orange',
  '--vscode-charts-purple',
  '--vscode-charts-red',
  '--vscode-charts-yellow',
  '--vscode-editor-findMatchHighlightBackground',
  '--vscode-list-activeSelectionBackground',
  '--vscode-textLink-foreground',
  '--vscode-sideBar-background',
];
const SVG_STYLE = `
.bg { fill: var(--vscode-editor-background); }
text { font-family: var(--vscode-font-family, sans-serif); fill: var(--vscode-foreground); }
.node { cursor: pointer; }
.node > rect.box { fill: var(--vscode-editorWidget-background); stroke: var(--vscode-editorWidget-border, var(--vscode-foreground)); stroke-width: 1; }
.node .label { font-size: 12px; font-weight: 600; font-family: var(--vscode-editor-font-family, monospace); }
.node .shape { font-size: 11px; font-family: var(--vscode-editor-font-family, monospace); text-anchor: end; }
.node .detail { font-size: 10px; fill: var(--vscode-descriptionForeground); }
.node .bar { fill: var(--vscode-charts-blue); opacity: 0.75; }
.node .barbg { fill: var(--vscode-descriptionForeground); opacity: 0.15; }
.node.k-input > rect.box { stroke: var(--vscode-descriptionForeground); }
.node.k-stem > rect.box { stroke: var(--vscode-charts-purple); stroke-width: 1.5; }
.node.k-dense > rect.box, .node.k-blockCollapsed > rect.box { stroke: var(--vscode-charts-blue); stroke-width: 1.5; }
.node.k-transition > rect.box { stroke: var(--vscode-charts-orange); stroke-width: 1.5; }
.node.k-transition .bar { fill: var(--vscode-charts-orange); }
.node.k-head > rect.box { stroke: var(--vscode-charts-green); stroke-width: 1.5; }
.node.k-head .bar { fill: var(--vscode-charts-green); }
.node.hl > rect.box { fill: var(--vscode-editor-findMatchHighlightBackground, var(--vscode-editorWidget-background)); }
.node.sel > rect.box { stroke: var(--vscode-focusBorder); stroke-width: 2.5; }
.node:hover > rect.box { stroke-width: 2.5; }
.toggle { cursor: pointer; }
.toggle rect { fill: transparent; }
.toggle text { font-size: 14px; font-weight: 700; fill: var(--vscode-textLink-foreground); text-anchor: middle; }
.frame > rect.fbox { fill: none; stroke: var(--vscode-charts-blue); stroke-dasharray: 4 3; opacity: 0.8; }
.frame.hl > rect.fbox { stroke-width: 2.5; stroke-dasharray: none; }
.frame .fhead { cursor: pointer; }
.frame .fhead rect { fill: var(--vscode-sideBar-background, transparent); opacity: 0.6; }
.frame .flabel { font-size: 11px; font-weight: 600; }
.edge { fill: none; }
.edge.flow { stroke: var(--vscode-descriptionForeground); stroke-width: 1.5; }
.edge.dense { stroke: var(--vscode-charts-blue); stroke-width: 1; opacity: 0.35; }
`;

const app = document.getElementById('app') as HTMLElement;
app.innerHTML = `
<style>
  #diagram { overflow: auto; }
  #diagram svg { display: block; }
  .grow { flex: 1; }
</style>
<div class="toolbar">
  <strong id="title">Architecture</strong><span id="summary" class="muted"></span><span class="grow"></span>
  <vscode-button id="expand" secondary>Expand all</vscode-button>
  <vscode-button id="collapse" secondary>Collapse all</vscode-button>
  <vscode-button id="export-svg" secondary>Export SVG</vscode-button>
  <vscode-button id="export-png" secondary>Export PNG</vscode-button>
</div>
<div id="problem" class="error" hidden></div>
<div id="diagram"></div>`;
const diagram = document.getElementById('diagram') as HTMLElement;
const problemEl = document.getElementById('problem') as HTMLElement;
const titleEl = document.getElementById('title') as HTMLElement;
const summaryEl = document.getElementById('summary') as HTMLElement;

const esc = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);

function persist(): void {
  api.setState({ specUri: state?.specUri ?? saved.specUri, expanded });
}

function svgOf(l: DiagramLayout): string {
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" id="arch" width="${l.width}" height="${l.height}" viewBox="0 0 ${l.width} ${l.height}">`,
  );
  parts.push(`<style>${SVG_STYLE}</style><rect class="bg" width="100%" height="100%"/>`);
  for (const f of l.frames) {
    parts.push(
      `<g class="frame" data-group="${f.group}"><rect class="fbox" x="${f.x}" y="${f.y}" width="${f.width}" height="${f.height}" rx="6"/>`,
      `<g class="fhead" data-toggle="${f.group}"><rect x="${f.x}" y="${f.y}" width="${f.width}" height="${f.headerHeight - 4}" rx="6"/>`,
      `<text class="flabel" x="${f.x + 8}" y="${f.y + 16}">${esc(`\u2212 ${f.label}: ${f.detail}`)}</text></g></g>`,
    );
  }
  // Edges first so nodes cover their ends; dense arcs in one path element per block keeps the DOM small.
  const dense = new Map<string, string[]>();
  const flows: string[] = [];
  for (const e of l.edges) {
    if (e.kind === 'dense') {
      const list = dense.get(e.group ?? '') ?? [];
      list.push(e.path);
      dense.set(e.group ?? '', list);
    } else flows.push(e.path);
  }
  parts.push(`<path class="edge flow" d="${flows.join('')}"/>`);
  for (const [group, paths] of dense)
    parts.push(`<path class="edge dense" data-group="${group}" d="${paths.join('')}"/>`);
  for (const n of l.nodes) {
    const barWidth = (n.width - 16) * n.channelFraction;
    const toggle =
      n.kind === 'blockCollapsed'
        ? `<g class="toggle" data-toggle="${n.group}"><rect x="${n.x + n.width - 22}" y="${n.y + 2}" width="20" height="20"/><text x="${n.x + n.width - 12}" y="${n.y + 17}">+</text></g>`
        : '';
    const shapeX = n.x + n.width - (toggle ? 26 : 8);
    parts.push(
      `<g class="node k-${n.kind}" data-id="${n.id}" data-group="${n.group}"><title>${esc(`${n.label}: ${n.detail}; output ${formatShape(n.outputShape)} (${n.channels} channels)`)}</title>`,
      `<rect class="box" x="${n.x}" y="${n.y}" width="${n.width}" height="${n.height}" rx="4"/>`,
      `<text class="label" x="${n.x + 8}" y="${n.y + 15}">${esc(n.label)}</text>`,
      `<text class="shape" x="${shapeX}" y="${n.y + 15}">${formatShape(n.outputShape)}</text>`,
      `<text class="detail" x="${n.x + 8}" y="${n.y + n.height - 13}">${esc(n.detail)}</text>`,
      `<rect class="barbg" x="${n.x + 8}" y="${n.y + n.height - 7}" width="${n.width - 16}" height="4"/>`,
      `<rect class="bar" x="${n.x + 8}" y="${n.y + n.height - 7}" width="${barWidth.toFixed(1)}" height="4"/>`,
      toggle,
      '</g>',
    );
  }
  parts.push('</svg>');
  return parts.join('');
}

function render(latencyFrom?: number): void {
  const t0 = performance.now();
  if (!state) return;
  titleEl.textContent = `Architecture: ${state.specName}`;
  problemEl.hidden = !state.problem;
  problemEl.textContent = state.problem ?? '';
  const model = state.model;
  if (!model) {
    layout = undefined;
    diagram.innerHTML = '';
    summaryEl.textContent = '';
  } else {
    layout = layoutDiagram(model, { expanded });
    const scrollTop = diagram.scrollTop;
    diagram.innerHTML = svgOf(layout);
    diagram.scrollTop = scrollTop;
    const blocks = model.groups.filter((g) => g.kind === 'block');
    const open = blocks.filter((g) => isExpanded(g, { expanded })).length;
    summaryEl.textContent = `${layout.nodes.length} nodes · ${blocks.length} blocks (${open} expanded) · max ${model.maxChannels} channels`;
    applyClasses(false);
  }
  diagram.dataset.nodes = String(layout?.nodes.length ?? 0);
  diagram.dataset.version = String(state.version);
  const renderMs = performance.now() - t0;
  diagram.dataset.renderMs = renderMs.toFixed(1);
  if (latencyFrom !== undefined) diagram.dataset.latencyMs = String(Date.now() - latencyFrom);
  send({
    type: 'architecture/rendered',
    version: state.version,
    nodes: layout?.nodes.length ?? 0,
    renderMs,
    latencyMs: latencyFrom !== undefined ? Date.now() - latencyFrom : undefined,
  });
}

/** Highlight (cursor in the spec) and selection (clicked node) are classes: no re-render. */
function applyClasses(scroll: boolean): void {
  const hl = new Set(state?.highlight ?? []);
  let first: Element | undefined;
  diagram.querySelectorAll<SVGGElement>('g.node, g.frame').forEach((g) => {
    const on = hl.has(g.dataset.group ?? '');
    g.classList.toggle('hl', on);
    if (on && !first) first = g;
    if (g.classList.contains('node')) g.classList.toggle('sel', g.dataset.id === selected);
  });
  if (scroll && first) first.scrollIntoView({ block: 'nearest', inline: 'nearest' });
}

function toggleBlock(group: string): void {
  const g = state?.model?.groups.find((x) => x.name === group);
  if (!g) return;
  expanded = { ...expanded, [group]: !isExpanded(g, { expanded }) };
  persist();
  render();
}

diagram.addEventListener('click', (e) => {
  const target = e.target as Element;
  const toggle = target.closest<SVGGElement>('[data-toggle]');
  if (toggle) {
    toggleBlock(toggle.dataset.toggle as string);
    return;
  }
  const node = target.closest<SVGGElement>('g.node');
  if (!node) return;
  selected = node.dataset.id;
  applyClasses(false);
  send({ type: 'architecture/reveal', group: node.dataset.group as string });
});
diagram.addEventListener('dblclick', (e) => {
  const node = (e.target as Element).closest<SVGGElement>('g.node');
  if (node?.classList.contains('k-blockCollapsed') || node?.classList.contains('k-dense'))
    toggleBlock(node.dataset.group as string);
});

function setAll(open: boolean): void {
  const blocks = state?.model?.groups.filter((g) => g.kind === 'block') ?? [];
  expanded = Object.fromEntries(blocks.map((g) => [g.name, open]));
  persist();
  render();
}
document.getElementById('expand')?.addEventListener('click', () => setAll(true));
document.getElementById('collapse')?.addEventListener('click', () => setAll(false));

/** The SVG with the theme variables resolved, so the file looks the same outside VS Code. */
function exportSvg(): string | undefined {
  const svg = diagram.querySelector('svg');
  if (!svg) return undefined;
  const computed = getComputedStyle(document.documentElement);
  const vars = VARIABLES.map((v) => `${v}: ${computed.getPropertyValue(v).trim() || 'initial'};`).join(' ');
  const clone = svg.cloneNode(true) as SVGSVGElement;
  clone.removeAttribute('id');
  const style = document.createElementNS('http://www.w3.org/2000/svg', 'style');
  style.textContent = `svg { ${vars} }`;
  clone.insertBefore(style, clone.firstChild);
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(clone)}`;
}

async function exportPng(svgText: string): Promise<string> {
  const l = layout as DiagramLayout;
  // Stay within the browser's canvas limits on DenseNet-264 with every block expanded.
  const scale = Math.min(2, 16000 / Math.max(l.width, l.height));
  const url = URL.createObjectURL(new Blob([svgText], { type: 'image/svg+xml' }));
  try {
    const img = new Image();
    await new Promise<void>((resolve, reject) => {
      img.onload = () => resolve();
      img.onerror = () => reject(new Error('the SVG could not be drawn'));
      img.src = url;
    });
    const canvas = document.createElement('canvas');
    canvas.width = Math.ceil(l.width * scale);
    canvas.height = Math.ceil(l.height * scale);
    const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
    ctx.scale(scale, scale);
    ctx.drawImage(img, 0, 0, l.width, l.height);
    return canvas.toDataURL('image/png');
  } finally {
    URL.revokeObjectURL(url);
  }
}

async function doExport(format: 'svg' | 'png'): Promise<void> {
  const svg = exportSvg();
  if (!svg) return;
  try {
    const data = format === 'svg' ? svg : await exportPng(svg);
    send({ type: 'architecture/export', id: ++exportId, format, data });
  } catch (e) {
    problemEl.hidden = false;
    problemEl.textContent = `Export failed: ${e instanceof Error ? e.message : String(e)}`;
  }
}
document.getElementById('export-svg')?.addEventListener('click', () => void doExport('svg'));
document.getElementById('export-png')?.addEventListener('click', () => void doExport('png'));

onMessage<ArchitectureToWebview>((m) => {
  switch (m.type) {
    case 'architecture/state':
      state = m.state;
      persist();
      render();
      applyClasses(true);
      break;
    case 'architecture/model':
      if (!state) return;
      // While the spec is broken (mid-edit), keep drawing the last good model under the problem.
      state = { ...state, model: m.model ?? state.model, problem: m.problem, version: m.version };
      render(m.changedAt ?? m.sentAt);
      break;
    case 'architecture/highlight':
      if (!state) return;
      state = { ...state, highlight: m.groups };
      applyClasses(true);
      break;
    case 'architecture/exported':
      if (!m.ok && m.error !== 'cancelled') {
        problemEl.hidden = false;
        problemEl.textContent = `Export failed: ${m.error ?? 'unknown error'}`;
      }
      break;
  }
});

send({ type: 'ready' });
