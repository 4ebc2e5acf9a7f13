/**
 * Examples gallery webview: the examples of one confusion-matrix cell of a saved evaluation, as thumbnails with
 * their name, true and predicted class and probability, each with Open and Visualize Feature Maps. Every value
 * from the host is set as text or as an attribute. Talks to its panel (src/panels/evaluationGallery.ts) through
 * the contract of src/protocol/gallery.ts.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { GalleryCell, GalleryHost, GalleryItem, GalleryState } from '../../src/protocol/gallery';
import { byId as $, el } from '../common/dom';
import { connectToHost, reportedByHost, vscodeApi } from '../common/vscode';

const host = connectToHost<GalleryHost>();
const api = vscodeApi<{ cell?: GalleryCell }>();

const style = document.createElement('style');
style.textContent = `
.gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 10px; margin-top: 10px; }
.example { border: 1px solid var(--vscode-panel-border, rgba(128,128,128,0.35)); border-radius: 4px; padding: 6px; display: flex; flex-direction: column; gap: 4px; }
.example img { width: 100%; aspect-ratio: 1; object-fit: contain; image-rendering: pixelated; background: var(--vscode-editorWidget-background, #222); }
.example .name { font-weight: 600; overflow-wrap: anywhere; }
.example .actions { display: flex; gap: 4px; flex-wrap: wrap; }
.error { color: var(--vscode-errorForeground); }
`;
document.head.appendChild(style);

const app = document.getElementById('app')!;
app.append(
  el('h2', { id: 'heading' }, 'Examples'),
  el('div', { id: 'summary', class: 'muted' }),
  el('div', { id: 'error', class: 'error' }),
  el('div', { id: 'gallery', class: 'gallery' }),
  el('div', { id: 'more-box' }),
);

let state: GalleryState | undefined;
let shown = 0;

function card(item: GalleryItem): HTMLElement {
  const open = document.createElement('vscode-button');
  open.className = 'open';
  open.setAttribute('secondary', '');
  open.textContent = 'Open';
  const visualize = document.createElement('vscode-button');
  visualize.className = 'visualize';
  visualize.setAttribute('secondary', '');
  visualize.textContent = 'Visualize Feature Maps';
  const card = el(
    'div',
    { class: 'example', 'data-index': String(item.index) },
    el('img', { src: item.src, alt: item.name }),
    el('div', { class: 'name', title: item.name }, item.name),
    el('div', { class: 'classes' }, `true ${state?.trueClass ?? '?'} · predicted ${state?.predictedClass ?? '?'}`),
    el('div', { class: 'probability' }, `probability ${(item.probability * 100).toFixed(1)}%`),
    el('div', { class: 'actions' }, open, visualize),
  );
  return card;
}

function renderMore(): void {
  const box = $('more-box');
  box.replaceChildren();
  if (!state || shown >= state.total || state.error) return;
  const more = document.createElement('vscode-button');
  more.id = 'more';
  more.textContent = `Show more (${state.total - shown} left)`;
  box.append(more);
}

function addItems(items: GalleryItem[]): void {
  $('gallery').append(...items.map(card));
  shown += items.length;
  $('summary').textContent = state ? `${shown} of ${state.total} example(s), the most confident first` : '';
  renderMore();
}

function applyState(next: GalleryState): void {
  state = next;
  api.setState({ cell: next.cell });
  $('heading').textContent = `True ${next.trueClass}, predicted ${next.predictedClass}`;
  $('heading').title = next.title;
  $('error').textContent = next.error ?? '';
  $('gallery').replaceChildren();
  $('gallery').dataset.total = String(next.total);
  shown = 0;
  addItems(next.items);
  $('summary').textContent = `${next.title}: ${$('summary').textContent}`;
}

app.addEventListener('click', (e) => {
  const target = e.target as HTMLElement;
  if (target.closest('#more')) {
    host.request('more', { from: shown }).then(addItems, () => undefined); // the host reports it
    return;
  }
  const index = Number(target.closest<HTMLElement>('.example')?.dataset.index);
  if (!Number.isInteger(index)) return;
  if (target.closest('.open')) reportedByHost(host.request('open', { index }));
  else if (target.closest('.visualize')) reportedByHost(host.request('visualize', { index }));
});

host.on('state', applyState);
host.request('state', null).then(applyState, () => undefined); // the host reports a failure
