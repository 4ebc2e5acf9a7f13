/**
 * Architecture webview: draws the diagram of the spec's network (src/core/diagram.ts lays it out, one column per
 * expanded block), zooms and pans it (viewport.ts), searches nodes by Keras name, shows the selected node's
 * properties (properties.ts), draws the selected or hovered layer's dense arcs, lets blocks collapse and expand,
 * reveals a node's spec text through the host, and exports SVG/PNG. Talks to its panel
 * (src/panels/architecture.ts) through the contract of src/protocol/architecture.ts.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type {
  ArchitectureHost,
  ArchitectureState,
  ArchitectureView,
  ArchitectureWebviewState,
} from '../../src/protocol/architecture';
import { type DiagramLayout, isExpanded, layoutDiagram } from '../../src/core/diagram';
import { plural, type SearchMatch, searchNodes } from '../../src/core/nodeProperties';
import { byId } from '../common/dom';
import { connectToHost, reportedByHost, vscodeApi } from '../common/vscode';
import { diagramSvg, exportPng, exportSvg, focusArcs } from './diagramSvg';
import { renderProperties } from './properties';
import { Viewport } from './viewport';

const host = connectToHost<ArchitectureHost, ArchitectureView>();
const api = vscodeApi<ArchitectureWebviewState>();
const saved = api.getState() ?? {};

let state: ArchitectureState | undefined;
let expanded: Record<string, boolean> = saved.expanded ?? {};
let allArcs = saved.allArcs ?? false;
let layout: DiagramLayout | undefined;
let selected: string | undefined;
let hovered: string | undefined;
let matches: SearchMatch[] = [];
let current = -1;

const PROPS_HINT = 'Click a node (or search a Keras name) to see its layers, weights, parameters and memory.';
const app = byId('app');
app.innerHTML = `
<style>
  #app { display: flex; flex-direction: column; height: calc(100vh - 12px); }
  .toolbar { flex-wrap: wrap; row-gap: 4px; }
  #main { flex: 1; min-height: 0; display: flex; gap: 8px; }
  #diagram { flex: 1; min-width: 0; overflow: hidden; position: relative; outline: none; cursor: grab;
    border: 1px solid var(--vscode-editorWidget-border, transparent); background: var(--vscode-editor-background); }
  #diagram.panning { cursor: grabbing; }
  #diagram:focus-visible { border-color: var(--vscode-focusBorder); }
  #diagram svg { display: block; }
  #props { width: 360px; flex: none; overflow: auto; font-size: 12px; }
  #props h3 { margin: 4px 0 8px; }
  #props table { border-collapse: collapse; margin-bottom: 8px; }
  #props th, #props td { text-align: left; padding: 2px 6px 2px 0; vertical-align: top; }
  #props td.num { text-align: right; white-space: nowrap; }
  #props .mono { font-family: var(--vscode-editor-font-family, monospace); white-space: pre; }
  #props table.layers th { border-bottom: 1px solid var(--vscode-editorWidget-border, currentColor); }
  #search { width: 16em; background: var(--vscode-input-background); color: var(--vscode-input-foreground);
    border: 1px solid var(--vscode-input-border, transparent); padding: 3px 6px; }
  #search:focus { outline: 1px solid var(--vscode-focusBorder); }
  .grow { flex: 1; }
  @media (max-width: 900px) {
    #main { flex-direction: column; }
    #props { width: auto; height: 38%; border-top: 1px solid var(--vscode-editorWidget-border, transparent); }
  }
</style>
<div class="toolbar">
  <strong id="title">Architecture</strong><span id="summary" class="muted"></span><span class="grow"></span>
  <input id="search" type="search" placeholder="Find layer (conv4_block12)" aria-label="Find a layer by Keras name">
  <span id="matches" class="muted"></span>
  <vscode-button id="zoom-out" secondary title="Zoom out (-)">\u2212</vscode-button>
  <vscode-button id="zoom-in" secondary title="Zoom in (+)">+</vscode-button>
  <vscode-button id="fit" secondary title="Fit to view (0)">Fit</vscode-button>
  <vscode-button id="actual" secondary title="Actual size (1)">1:1</vscode-button>
  <vscode-button id="arcs" secondary title="Draw every dense arc, or only the selected/hovered layer's">All arcs</vscode-button>
  <vscode-button id="expand" secondary>Expand all</vscode-button>
  <vscode-button id="collapse" secondary>Collapse all</vscode-button>
  <vscode-button id="export-svg" secondary>Export SVG</vscode-button>
  <vscode-button id="export-png" secondary>Export PNG</vscode-button>
</div>
<div id="weights" class="muted" hidden></div>
<div id="problem" class="error" hidden></div>
<div id="main"><div id="diagram" tabindex="0"></div><aside id="props"></aside></div>`;
const diagram = byId('diagram');
const problemEl = byId('problem');
const titleEl = byId('title');
const summaryEl = byId('summary');
const weightsEl = byId('weights');
const propsEl = byId('props');
const searchEl = byId<HTMLInputElement>('search');
const matchesEl = byId('matches');
const arcsButton = byId('arcs');
const viewport = new Viewport(diagram);
renderProperties(propsEl, undefined, PROPS_HINT);

function persist(): void {
  api.setState({ specUri: state?.specUri ?? saved.specUri, expanded, allArcs });
}

function render(latencyFrom?: number): void {
  const t0 = performance.now();
  if (!state) return;
  titleEl.textContent = `Architecture: ${state.specName}`;
  weightsEl.hidden = !state.weights;
  weightsEl.textContent = state.weights ?? '';
  problemEl.hidden = !state.problem;
  problemEl.textContent = state.problem ?? '';
  const model = state.model;
  if (!model) {
    layout = undefined;
    diagram.replaceChildren();
    summaryEl.textContent = '';
  } else {
    viewport.measure();
    layout = layoutDiagram(model, { expanded, wrap: true });
    const svg = diagramSvg(layout);
    svg.classList.toggle('all-arcs', allArcs);
    diagram.replaceChildren(svg);
    viewport.setContent(layout.width, layout.height);
    const blocks = model.groups.filter((g) => g.kind === 'block');
    const open = blocks.filter((g) => isExpanded(g, { expanded })).length;
    summaryEl.textContent = `${plural(layout.nodes.length, 'node')} · ${plural(blocks.length, 'block')} (${open} expanded) · max ${model.maxChannels} channels`;
    if (selected && !layout.nodes.some((n) => n.id === selected)) selected = undefined;
    if (searchEl.value) matches = searchNodes(model, searchEl.value);
    applyClasses(false);
  }
  diagram.dataset.nodes = String(layout?.nodes.length ?? 0);
  diagram.dataset.version = String(state.version);
  const renderMs = performance.now() - t0;
  diagram.dataset.renderMs = renderMs.toFixed(1);
  if (latencyFrom !== undefined) diagram.dataset.latencyMs = String(Date.now() - latencyFrom);
  host.notify('rendered', {
    version: state.version,
    nodes: layout?.nodes.length ?? 0,
    renderMs,
    latencyMs: latencyFrom !== undefined ? Date.now() - latencyFrom : undefined,
  });
}

/** Highlight (cursor in the spec), selection, search matches are classes and the focus arcs: no re-render. */
function applyClasses(scroll: boolean): void {
  const hl = new Set(state?.highlight ?? []);
  const matchIds = new Set(matches.map((m) => m.id));
  const matchGroups = new Set(matches.map((m) => m.group));
  const currentId = matches[current]?.id;
  let first: SVGGElement | undefined;
  diagram.querySelectorAll<SVGGElement>('g.node, g.frame').forEach((g) => {
    const on = hl.has(g.dataset.group ?? '');
    g.classList.toggle('hl', on);
    if (on && !first) first = g;
    if (!g.classList.contains('node')) return;
    const id = g.dataset.id ?? '';
    const match =
      matchIds.has(id) || (g.classList.contains('k-blockCollapsed') && matchGroups.has(g.dataset.group ?? ''));
    g.classList.toggle('sel', id === selected);
    g.classList.toggle('match', match);
    g.classList.toggle('current', id === currentId);
  });
  const svg = diagram.querySelector('svg');
  if (svg && layout) focusArcs(svg, layout, hovered ?? selected);
  // The cursor moved to the spec text of a group: bring it into view unless the selection is already in it.
  const selectedGroup = layout?.nodes.find((n) => n.id === selected)?.group;
  if (scroll && first && layout && !(selectedGroup && hl.has(selectedGroup))) {
    const id = first.dataset.id;
    const box = layout.nodes.find((n) => n.id === id) ?? layout.frames.find((f) => f.group === first?.dataset.group);
    if (box && !viewport.fitted && !viewport.shows(box)) viewport.centre(box, 0);
  }
}

/** Selects a node: its arcs, its properties, its spec text (keepFocus: the search box keeps the focus). */
function select(id: string, group: string, keepFocus = false): void {
  selected = id;
  applyClasses(false);
  showProperties(id);
  reportedByHost(host.request('reveal', { group, keepFocus }));
}

function showProperties(id: string): void {
  propsEl.dataset.loading = id;
  host.request('properties', { id }).then(
    (p) => {
      if (selected !== id) return;
      delete propsEl.dataset.loading;
      renderProperties(propsEl, p ?? undefined, `${id} is no longer in the model.`);
    },
    (e: Error) => showProblem(e.message),
  );
}

function toggleBlock(group: string): void {
  const g = state?.model?.groups.find((x) => x.name === group);
  if (!g) return;
  expanded = { ...expanded, [group]: !isExpanded(g, { expanded }) };
  persist();
  render();
}

diagram.addEventListener('click', (e) => {
  if (viewport.dragged) return;
  const target = e.target as Element;
  const toggle = target.closest<SVGGElement>('[data-toggle]');
  if (toggle) {
    toggleBlock(toggle.dataset.toggle as string);
    return;
  }
  const node = target.closest<SVGGElement>('g.node');
  if (node) select(node.dataset.id as string, node.dataset.group as string);
});
diagram.addEventListener('dblclick', (e) => {
  const node = (e.target as Element).closest<SVGGElement>('g.node');
  if (node?.classList.contains('k-blockCollapsed') || node?.classList.contains('k-dense'))
    toggleBlock(node.dataset.group as string);
});
diagram.addEventListener('mouseover', (e) => {
  const id = (e.target as Element).closest<SVGGElement>('g.node')?.dataset.id;
  if (id === hovered) return;
  hovered = id;
  const svg = diagram.querySelector('svg');
  if (svg && layout) focusArcs(svg, layout, hovered ?? selected);
});
diagram.addEventListener('mouseleave', () => {
  hovered = undefined;
  const svg = diagram.querySelector('svg');
  if (svg && layout) focusArcs(svg, layout, selected);
});

/** Search: every match highlighted; Enter goes to the next (Shift+Enter the previous), expanding its block. */
function goToMatch(step: number): void {
  const model = state?.model;
  if (!model || matches.length === 0) return;
  current = (current + step + matches.length) % matches.length;
  const m = matches[current];
  if (!layout?.nodes.some((n) => n.id === m.id)) {
    expanded = { ...expanded, [m.group]: true };
    persist();
    render();
  }
  const box = layout?.nodes.find((n) => n.id === m.id);
  if (box) viewport.centre(box, 1);
  matchesEl.textContent = `${current + 1}/${matches.length}`;
  select(m.id, m.group, true);
}
searchEl.addEventListener('input', () => {
  matches = state?.model ? searchNodes(state.model, searchEl.value) : [];
  current = -1;
  const n = matches.length;
  matchesEl.textContent = searchEl.value.trim() ? (n ? `${n} match${n === 1 ? '' : 'es'}` : 'no match') : '';
  applyClasses(false);
});
searchEl.addEventListener('keydown', (e) => {
  if (e.key === 'Enter') {
    e.preventDefault();
    goToMatch(e.shiftKey ? -1 : 1);
  } else if (e.key === 'Escape') {
    searchEl.value = '';
    searchEl.dispatchEvent(new Event('input'));
  }
});
document.addEventListener('keydown', (e) => {
  if (e.target === searchEl) return;
  if (e.key === '/') {
    e.preventDefault();
    searchEl.focus();
  } else if (viewport.onKey(e)) e.preventDefault();
});

function setAll(open: boolean): void {
  const blocks = state?.model?.groups.filter((g) => g.kind === 'block') ?? [];
  expanded = Object.fromEntries(blocks.map((g) => [g.name, open]));
  persist();
  render();
}
const on = (id: string, f: () => void) => byId(id).addEventListener('click', f);
on('expand', () => setAll(true));
on('collapse', () => setAll(false));
on('zoom-in', () => viewport.zoom(1.25));
on('zoom-out', () => viewport.zoom(0.8));
on('fit', () => viewport.fit());
on('actual', () => viewport.actualSize());
function showArcs(): void {
  arcsButton.toggleAttribute('secondary', !allArcs);
  diagram.querySelector('svg')?.classList.toggle('all-arcs', allArcs);
}
on('arcs', () => {
  allArcs = !allArcs;
  persist();
  showArcs();
});
showArcs();
new ResizeObserver(() => {
  viewport.measure();
  if (viewport.fitted) viewport.fit();
}).observe(diagram);

function showProblem(text: string): void {
  problemEl.hidden = false;
  problemEl.textContent = text;
}

async function doExport(format: 'svg' | 'png'): Promise<void> {
  const svg = diagram.querySelector('svg');
  if (!svg || !layout || !state?.model) return;
  let data: string;
  try {
    const caption = { title: state.specName, ...state.model.totals };
    const text = exportSvg(svg, layout, caption);
    data = format === 'svg' ? text : await exportPng(text, layout);
  } catch (e) {
    showProblem(`Export failed: ${e instanceof Error ? e.message : String(e)}`);
    return;
  }
  // The host shows a failure to write too; a cancelled save dialog is no failure.
  await host.request('export', { format, data }).catch((e: Error) => showProblem(`Export failed: ${e.message}`));
}
on('export-svg', () => void doExport('svg'));
on('export-png', () => void doExport('png'));

host.on('model', (m) => {
  if (!state) return;
  // While the spec is broken (mid-edit), keep drawing the last good model under the problem.
  state = { ...state, model: m.model ?? state.model, problem: m.problem, weights: m.weights, version: m.version };
  render(m.changedAt ?? m.sentAt);
  if (selected) showProperties(selected);
});
host.on('highlight', (m) => {
  if (!state) return;
  state = { ...state, highlight: m.groups };
  applyClasses(true);
});

// The handshake: the full state, each time the page loads.
host.request('state', null).then(
  (s) => {
    state = s;
    persist();
    render();
    applyClasses(true);
  },
  (e: Error) => showProblem(e.message),
);
