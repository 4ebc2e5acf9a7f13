/**
 * The properties pane of the architecture panel: the selected node's totals and its Keras layers with output
 * shapes, weight shapes, parameters, multiply-adds and activation memory (src/core/nodeProperties.ts, computed
 * by the host from the analysis). Text only.
 */
import { formatBytes, formatInt, formatMacs, formatShape } from '../../src/core/format';
import type { NodeProperties } from '../../src/core/nodeProperties';
import { el } from '../common/dom';

const row = (label: string, value: string, id?: string, raw?: number) =>
  el('tr', {}, el('th', {}, label), el('td', id ? { id, 'data-value': String(raw ?? '') } : {}, value));

export function renderProperties(pane: HTMLElement, p: NodeProperties | undefined, hint: string): void {
  pane.dataset.id = p?.id ?? '';
  if (!p) {
    pane.replaceChildren(el('p', { class: 'muted' }, hint));
    return;
  }
  const totals = el(
    'table',
    { class: 'totals' },
    row('Parameters', formatInt(p.params), 'props-params', p.params),
    row('Trainable', formatInt(p.trainableParams), 'props-trainable', p.trainableParams),
    row('Non-trainable', formatInt(p.nonTrainableParams), 'props-nontrainable', p.nonTrainableParams),
    row('Multiply-adds', `${formatMacs(p.macs)} (${formatInt(p.macs)})`, 'props-macs', p.macs),
    row('Activations', `${formatBytes(p.activationBytes)} per image`, 'props-memory', p.activationBytes),
  );
  const head = el(
    'tr',
    {},
    ...['Layer', 'Type', 'Output', 'Weights', 'Params', 'MACs', 'Memory'].map((h) => el('th', {}, h)),
  );
  const layers = p.layers.map((l) =>
    el(
      'tr',
      { 'data-layer': l.name },
      el('td', { class: 'mono' }, l.name),
      el('td', {}, l.type),
      el('td', { class: 'mono' }, formatShape(l.outputShape)),
      el(
        'td',
        { class: 'mono' },
        l.weights.map((w) => `${w.name} ${formatShape(w.shape)}${w.trainable ? '' : ' (frozen)'}`).join('\n'),
      ),
      el('td', { class: 'num' }, formatInt(l.params)),
      el('td', { class: 'num' }, formatMacs(l.macs)),
      el('td', { class: 'num' }, formatBytes(l.activationBytes)),
    ),
  );
  pane.replaceChildren(
    el('h3', { class: 'mono' }, p.id),
    totals,
    el('table', { class: 'layers' }, el('thead', {}, head), el('tbody', {}, ...layers)),
    el('p', { class: 'muted' }, 'Kernels are HWIO (height, width, in, out); memory is float32 per image.'),
  );
}
