/**
 * The architecture diagram as SVG: built element by element from a layout (src/core/diagram.ts), with its styles
 * inside so an export carries them; and the exports (SVG text with the theme colours resolved, PNG data URL).
 */
import { type DiagramLayout, formatShape } from '../../src/core/diagram';
import { formatInt, formatMacs } from '../../src/core/format';
import { nodeTooltip } from '../../src/core/nodeProperties';
import { svgEl } from '../common/dom';

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
.edge.skip { stroke: var(--vscode-charts-purple); stroke-width: 1.5; stroke-dasharray: 6 4; opacity: 0.8; }
.node.k-upsample > rect.box { stroke: var(--vscode-charts-purple); stroke-width: 1.5; }
.node.k-upsample .bar { fill: var(--vscode-charts-purple); }
svg:not(.all-arcs) .edge.dense.many { display: none; }
.edge.focus-in { fill: none; stroke: var(--vscode-charts-orange); stroke-width: 1.75; opacity: 0.95; }
.edge.focus-out { fill: none; stroke: var(--vscode-charts-green); stroke-width: 1.75; opacity: 0.95; }
.node.match > rect.box { stroke: var(--vscode-charts-yellow); stroke-width: 3; }
.node.match.current > rect.box { stroke: var(--vscode-focusBorder); stroke-width: 3.5; }
.caption { font-size: 16px; font-weight: 700; }
.totals { font-size: 12px; fill: var(--vscode-descriptionForeground); }
`;

function frameOf(f: DiagramLayout['frames'][number]): SVGGElement {
  return svgEl(
    'g',
    { class: 'frame', 'data-group': f.group },
    svgEl('rect', { class: 'fbox', x: f.x, y: f.y, width: f.width, height: f.height, rx: 6 }),
    svgEl(
      'g',
      { class: 'fhead', 'data-toggle': f.group },
      svgEl('rect', { x: f.x, y: f.y, width: f.width, height: f.headerHeight - 4, rx: 6 }),
      svgEl('text', { class: 'flabel', x: f.x + 8, y: f.y + 16 }, `\u2212 ${f.label}: ${f.detail}`),
    ),
  );
}

function nodeOf(n: DiagramLayout['nodes'][number]): SVGGElement {
  const barWidth = (n.width - 16) * n.channelFraction;
  const toggle =
    n.kind === 'blockCollapsed'
      ? svgEl(
          'g',
          { class: 'toggle', 'data-toggle': n.group },
          svgEl('rect', { x: n.x + n.width - 22, y: n.y + 2, width: 20, height: 20 }),
          svgEl('text', { x: n.x + n.width - 12, y: n.y + 17 }, '+'),
        )
      : undefined;
  const shapeX = n.x + n.width - (toggle ? 26 : 8);
  const shape = formatShape(n.outputShape);
  const g = svgEl(
    'g',
    { class: `node k-${n.kind}`, 'data-id': n.id, 'data-group': n.group },
    svgEl('title', {}, nodeTooltip(n)),
    svgEl('rect', { class: 'box', x: n.x, y: n.y, width: n.width, height: n.height, rx: 4 }),
    svgEl('text', { class: 'label', x: n.x + 8, y: n.y + 15 }, n.label),
    svgEl('text', { class: 'shape', x: shapeX, y: n.y + 15 }, shape),
    svgEl('text', { class: 'detail', x: n.x + 8, y: n.y + n.height - 13 }, n.detail),
    svgEl('rect', { class: 'barbg', x: n.x + 8, y: n.y + n.height - 7, width: n.width - 16, height: 4 }),
    svgEl('rect', { class: 'bar', x: n.x + 8, y: n.y + n.height - 7, width: barWidth.toFixed(1), height: 4 }),
  );
  if (toggle) g.append(toggle);
  return g;
}

/**
 * Above this many layers a block's arcs are hidden unless "all arcs" is on: only the hovered or selected
 * layer's inputs and consumers are drawn.
 */
export const ALL_ARCS_MAX_LAYERS = 12;

/** The diagram of `l`: frames of expanded blocks, edges, then nodes (so nodes cover the edges' ends). */
export function diagramSvg(l: DiagramLayout): SVGSVGElement {
  const svg = svgEl('svg');
  // xmlns explicit and first, as in a standalone file: the export serialises this element.
  svg.setAttributeNS('http://www.w3.org/2000/xmlns/', 'xmlns', 'http://www.w3.org/2000/svg');
  const size = { id: 'arch', width: l.width, height: l.height, viewBox: `0 0 ${l.width} ${l.height}` };
  for (const [k, v] of Object.entries(size)) svg.setAttribute(k, String(v));
  svg.append(svgEl('style', {}, SVG_STYLE), svgEl('rect', { class: 'bg', width: '100%', height: '100%' }));
  svg.append(...l.frames.map(frameOf));
  // Dense arcs in one path element per block keeps the DOM small.
  const dense = new Map<string, string[]>();
  const flows: string[] = [];
  const skips: string[] = [];
  for (const e of l.edges) {
    if (e.kind === 'skip') skips.push(e.path);
    else if (e.kind === 'dense') {
      const list = dense.get(e.group ?? '') ?? [];
      list.push(e.path);
      dense.set(e.group ?? '', list);
    } else flows.push(e.path);
  }
  svg.append(svgEl('path', { class: 'edge flow', d: flows.join('') }));
  if (skips.length > 0) svg.append(svgEl('path', { class: 'edge skip', d: skips.join('') }));
  const layers = new Map<string, number>();
  for (const n of l.nodes) if (n.kind === 'dense') layers.set(n.group, (layers.get(n.group) ?? 0) + 1);
  for (const [group, paths] of dense) {
    const many = (layers.get(group) ?? 0) > ALL_ARCS_MAX_LAYERS;
    svg.append(svgEl('path', { class: `edge dense${many ? ' many' : ''}`, 'data-group': group, d: paths.join('') }));
  }
  // The hovered/selected layer's arcs: its inputs and its consumers (set by focusArcs).
  svg.append(svgEl('path', { class: 'edge focus-in', d: '' }), svgEl('path', { class: 'edge focus-out', d: '' }));
  svg.append(...l.nodes.map(nodeOf));
  return svg;
}

/** Draws the arcs of node `id` (undefined: none): the arcs into it and out of it. */
export function focusArcs(svg: SVGSVGElement, l: DiagramLayout, id: string | undefined): void {
  const into: string[] = [];
  const out: string[] = [];
  if (id)
    for (const e of l.edges) {
      if (e.kind !== 'dense') continue;
      if (e.to === id) into.push(e.path);
      else if (e.from === id) out.push(e.path);
    }
  svg.querySelector('path.focus-in')?.setAttribute('d', into.join(''));
  svg.querySelector('path.focus-out')?.setAttribute('d', out.join(''));
}

/** The theme's editor background, opaque (what exports are drawn on). */
export function backgroundColour(): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue('--vscode-editor-background').trim();
  return v || getComputedStyle(document.body).backgroundColor || '#ffffff';
}

/** Height of the exports' caption band (title and totals). */
const CAPTION = 48;

export interface Caption {
  title: string;
  params: number;
  macs: number;
}

/**
 * The SVG as a standalone file: theme variables resolved (it looks the same outside VS Code), an opaque
 * background, and a caption with the spec's name and the network's totals above the diagram.
 */
export function exportSvg(svg: SVGSVGElement, l: DiagramLayout, caption: Caption): string {
  const computed = getComputedStyle(document.documentElement);
  const vars = VARIABLES.map((v) => `${v}: ${computed.getPropertyValue(v).trim() || 'initial'};`).join(' ');
  const clone = svg.cloneNode(true) as SVGSVGElement;
  const root = svgEl('svg');
  root.setAttributeNS('http://www.w3.org/2000/xmlns/', 'xmlns', 'http://www.w3.org/2000/svg');
  const height = l.height + CAPTION;
  const size = {
    width: l.width,
    height,
    viewBox: `0 0 ${l.width} ${height}`,
    class: clone.getAttribute('class') ?? '',
  };
  for (const [k, v] of Object.entries(size)) root.setAttribute(k, String(v));
  const style = clone.querySelector('style');
  clone.querySelector('rect.bg')?.remove();
  const body = svgEl('g', { transform: `translate(0 ${CAPTION})` });
  body.append(...[...clone.childNodes].filter((c) => c !== style));
  root.append(
    svgEl('style', {}, `svg { ${vars} }`),
    ...(style ? [style] : []),
    svgEl('rect', { class: 'bg', width: l.width, height, fill: backgroundColour() }),
    svgEl('text', { class: 'caption', x: 16, y: 24 }, caption.title),
    svgEl(
      'text',
      { class: 'totals', x: 16, y: 41 },
      `${formatInt(caption.params)} parameters · ${formatMacs(caption.macs)} per image`,
    ),
    body,
  );
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(root)}`;
}

export async function exportPng(svgText: string, l: DiagramLayout): Promise<string> {
  const width = l.width;
  const height = l.height + CAPTION;
  // Stay within the browser's canvas limits on DenseNet-264 with every block expanded.
  const scale = Math.min(2, 16000 / Math.max(width, height));
  const url = URL.createObjectURL(new Blob([svgText], { type: 'image/svg+xml' }));
  try {
    const img = new Image();
    await new Promise<void>((resolve, reject) => {
      img.onload = () => resolve();
      img.onerror = () => reject(new Error('the SVG could not be drawn'));
      img.src = url;
    });
    const canvas = document.createElement('canvas');
    canvas.width = Math.ceil(width * scale);
    canvas.height = Math.ceil(height * scale);
    const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
    // Opaque whatever the theme colour's alpha: white first, then the editor background, then the diagram.
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = backgroundColour();
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.scale(scale, scale);
    ctx.drawImage(img, 0, 0, width, height);
    return canvas.toDataURL('image/png');
  } finally {
    URL.revokeObjectURL(url);
  }
}
