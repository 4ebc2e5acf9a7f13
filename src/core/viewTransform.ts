/**
 * Zoom and pan of the architecture diagram: a scale and a translation (screen = content · scale + offset).
 * Pure: the webview keeps one and applies it as a CSS transform.
 */
export interface ViewTransform {
  scale: number;
  x: number;
  y: number;
}

export const MIN_SCALE = 0.05;
export const MAX_SCALE = 4;
const FIT_PAD = 8;

const clampScale = (s: number) => Math.min(MAX_SCALE, Math.max(MIN_SCALE, s));

/** The whole content (`width` x `height`) centred in the viewport, never enlarged beyond 1:1. */
export function fitTransform(content: { width: number; height: number }, view: { width: number; height: number }) {
  const scale = clampScale(
    Math.min(1, (view.width - 2 * FIT_PAD) / content.width, (view.height - 2 * FIT_PAD) / content.height),
  );
  return {
    scale,
    x: Math.max(FIT_PAD, (view.width - content.width * scale) / 2),
    y: Math.max(FIT_PAD, (view.height - content.height * scale) / 2),
  };
}

/** Zoom by `factor` keeping the content point under the screen point (`px`, `py`) where it is. */
export function zoomAt(t: ViewTransform, factor: number, px: number, py: number): ViewTransform {
  const scale = clampScale(t.scale * factor);
  const k = scale / t.scale;
  return { scale, x: px - (px - t.x) * k, y: py - (py - t.y) * k };
}

/** The content box centred in the viewport at scale `scale`. */
export function centreOn(
  box: { x: number; y: number; width: number; height: number },
  view: { width: number; height: number },
  scale: number,
): ViewTransform {
  const s = clampScale(scale);
  return {
    scale: s,
    x: view.width / 2 - (box.x + box.width / 2) * s,
    y: view.height / 2 - (box.y + box.height / 2) * s,
  };
}
