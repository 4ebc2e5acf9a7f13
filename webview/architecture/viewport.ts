/**
 * Zoom and pan of the diagram: mouse wheel (zoom at the cursor), drag, keyboard and the toolbar's buttons move
 * one transform (src/core/viewTransform.ts) applied to the SVG as a CSS transform, so zooming re-renders nothing.
 */
import { centreOn, fitTransform, type ViewTransform, zoomAt } from '../../src/core/viewTransform';

export class Viewport {
  t: ViewTransform = { scale: 1, x: 0, y: 0 };
  /** Fitted and not moved since: a new layout is fitted again (expanding a block keeps it all in view). */
  fitted = true;
  private content = { width: 1, height: 1 };
  /** Set by a drag, so the click that ends it does not select a node. */
  dragged = false;

  constructor(private readonly el: HTMLElement) {
    el.addEventListener('wheel', (e) => this.onWheel(e), { passive: false });
    el.addEventListener('pointerdown', (e) => this.onPointerDown(e));
    // Playwright and focus() may scroll the clipped viewport: the transform alone positions the diagram.
    el.addEventListener('scroll', () => {
      el.scrollTop = 0;
      el.scrollLeft = 0;
    });
  }

  private svg(): SVGSVGElement | null {
    return this.el.querySelector('svg');
  }

  private view = { width: 1, height: 1 };

  /**
   * Reads the viewport's size: on resize and before a new diagram goes in, so placing it never forces the
   * browser to lay out the new SVG in the middle of the render.
   */
  measure(): void {
    this.view = { width: this.el.clientWidth || 1, height: this.el.clientHeight || 1 };
  }

  private size() {
    return this.view;
  }

  /** A new diagram of `width` x `height`: fitted if the view was, else kept where it was. */
  setContent(width: number, height: number): void {
    this.content = { width, height };
    if (this.fitted) this.fit();
    else this.apply();
  }

  apply(): void {
    const svg = this.svg();
    if (svg) {
      svg.style.transformOrigin = '0 0';
      svg.style.transform = `translate(${this.t.x}px, ${this.t.y}px) scale(${this.t.scale})`;
    }
    this.el.dataset.scale = this.t.scale.toFixed(3);
  }

  set(t: ViewTransform, fitted = false): void {
    this.t = t;
    this.fitted = fitted;
    this.apply();
  }

  fit(): void {
    this.set(fitTransform(this.content, this.size()), true);
  }

  actualSize(): void {
    const s = this.size();
    this.set(zoomAt(this.t, 1 / this.t.scale, s.width / 2, s.height / 2));
  }

  zoom(factor: number, px?: number, py?: number): void {
    const s = this.size();
    this.set(zoomAt(this.t, factor, px ?? s.width / 2, py ?? s.height / 2));
  }

  pan(dx: number, dy: number): void {
    this.set({ ...this.t, x: this.t.x + dx, y: this.t.y + dy });
  }

  /** Centres a content box, zoomed to at least `minScale`. */
  centre(box: { x: number; y: number; width: number; height: number }, minScale = 1): void {
    this.set(centreOn(box, this.size(), Math.max(this.t.scale, minScale)));
  }

  /** Whether a content box is wholly in view. */
  shows(box: { x: number; y: number; width: number; height: number }): boolean {
    const s = this.size();
    const { scale, x, y } = this.t;
    return (
      box.x * scale + x >= 0 &&
      box.y * scale + y >= 0 &&
      (box.x + box.width) * scale + x <= s.width &&
      (box.y + box.height) * scale + y <= s.height
    );
  }

  private onWheel(e: WheelEvent): void {
    e.preventDefault();
    const r = this.el.getBoundingClientRect();
    const delta = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
    this.zoom(Math.exp(-delta * 0.0015), e.clientX - r.left, e.clientY - r.top);
  }

  private onPointerDown(e: PointerEvent): void {
    if (e.button !== 0) return;
    let lastX = e.clientX;
    let lastY = e.clientY;
    let moved = 0;
    this.dragged = false;
    const move = (m: PointerEvent) => {
      moved += Math.abs(m.clientX - lastX) + Math.abs(m.clientY - lastY);
      if (moved > 4) {
        this.dragged = true;
        this.el.classList.add('panning');
        this.pan(m.clientX - lastX, m.clientY - lastY);
      }
      lastX = m.clientX;
      lastY = m.clientY;
    };
    const up = () => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
      this.el.classList.remove('panning');
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
  }

  /** Keyboard: + / - zoom, 0 fit, 1 actual size, arrows pan. True when the key was handled. */
  onKey(e: KeyboardEvent): boolean {
    const step = e.shiftKey ? 240 : 60;
    const actions: Record<string, () => void> = {
      '+': () => this.zoom(1.25),
      '=': () => this.zoom(1.25),
      '-': () => this.zoom(0.8),
      '0': () => this.fit(),
      '1': () => this.actualSize(),
      ArrowLeft: () => this.pan(step, 0),
      ArrowRight: () => this.pan(-step, 0),
      ArrowUp: () => this.pan(0, step),
      ArrowDown: () => this.pan(0, -step),
    };
    const action = actions[e.key];
    if (!action || e.ctrlKey || e.metaKey || e.altKey) return false;
    action();
    return true;
  }
}
