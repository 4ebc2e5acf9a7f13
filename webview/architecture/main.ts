/**
 * Architecture webview: draws the diagram of the spec's network (src/core/diagram.ts lays it out), lets blocks
 * collapse and expand, reveals a clicked node's spec text through the host, and exports SVG/PNG. Talks to its
 * panel (src/panels/architecture.ts) through the contract of src/protocol/architecture.ts.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type {
  ArchitectureHost,
  ArchitectureState,
  ArchitectureView,
  ArchitectureWebviewState,
} from '../../src/protocol/architecture';
import { type DiagramLayout, isExpanded, layoutDiagram } from '../../src/core/diagram';
import { connectToHost, reportedByHost, vscodeApi } from '../common/vscode';
import { diagramSvg, exportPng, exportSvg } from './diagramSvg';

const host = connectToHost<ArchitectureHost, ArchitectureView>();
const api = vscodeApi<ArchitectureWebviewState>();
const saved = api.getState() ?? {};

let state: ArchitectureState | undefined;
let expanded: Record<string, boolean> = saved.expanded ?? {};
let layout: DiagramLayout | undefined;
let selected: string | undefined;

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
<div id="weights" class="muted" hidden></div>
<div id="problem" class="error" hidden></div>
<div id="diagram"></div>`;
const diagram = document.getElementById('diagram') as HTMLElement;
const problemEl = document.getElementById('problem') as HTMLElement;
const titleEl = document.getElementById('title') as HTMLElement;
const summaryEl = document.getElementById('summary') as HTMLElement;
const weightsEl = document.getElementById('weights') as HTMLElement;

function persist(): void {
  api.setState({ specUri: state?.specUri ?? saved.specUri, expanded });
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
    layout = layoutDiagram(model, { expanded });
    const scrollTop = diagram.scrollTop;
    diagram.replaceChildren(diagramSvg(layout));
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
  host.notify('rendered', {
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
  reportedByHost(host.request('reveal', { group: node.dataset.group as string }));
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

function showProblem(text: string): void {
  problemEl.hidden = false;
  problemEl.textContent = text;
}

async function doExport(format: 'svg' | 'png'): Promise<void> {
  const svg = diagram.querySelector('svg');
  if (!svg || !layout) return;
  let data: string;
  try {
    const text = exportSvg(svg);
    data = format === 'svg' ? text : await exportPng(text, layout);
  } catch (e) {
    showProblem(`Export failed: ${e instanceof Error ? e.message : String(e)}`);
    return;
  }
  // The host shows a failure to write too; a cancelled save dialog is no failure.
  await host.request('export', { format, data }).catch((e: Error) => showProblem(`Export failed: ${e.message}`));
}
document.getElementById('export-svg')?.addEventListener('click', () => void doExport('svg'));
document.getElementById('export-png')?.addEventListener('click', () => void doExport('png'));

host.on('model', (m) => {
  if (!state) return;
  // While the spec is broken (mid-edit), keep drawing the last good model under the problem.
  state = { ...state, model: m.model ?? state.model, problem: m.problem, weights: m.weights, version: m.version };
  render(m.changedAt ?? m.sentAt);
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
