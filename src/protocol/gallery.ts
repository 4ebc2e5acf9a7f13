/**
 * The contract between the extension host and the examples gallery (src/panels/evaluationGallery.ts): the
 * examples of one confusion-matrix cell of a saved evaluation, each with its image (a webview URI), true and
 * predicted class and probability; the page asks for more of them and for each one's Open and Visualize Feature
 * Maps.
 */
import type { Contract, NoContract } from './rpc';

/** Which cell of which evaluation: what the page keeps (and the panel is restored from after a reload). */
export interface GalleryCell {
  runDir: string;
  /** The evaluation's id (its predictions file). */
  evaluation: string;
  true: number;
  predicted: number;
}

export interface GalleryItem {
  /** The example's index in the split evaluated. */
  index: number;
  /** What it is called: the image's file name, or `<file> #<record>` for IDX/CIFAR data. */
  name: string;
  /** The image for an <img> (webview URI). */
  src: string;
  probability: number;
}

export interface GalleryState {
  cell?: GalleryCell;
  /** The run, split and checkpoint, for the heading. */
  title: string;
  trueClass: string;
  predictedClass: string;
  /** Examples in the cell. */
  total: number;
  /** The first ones, the most confident first. */
  items: GalleryItem[];
  /** What went wrong reading the predictions or drawing the images (the page shows it instead). */
  error?: string;
}

export interface GalleryHost extends Contract {
  requests: {
    state: { params: null; result: GalleryState };
    /** The next examples after the first `from`. */
    more: { params: { from: number }; result: GalleryItem[] };
    /** Opens the example's image in VS Code (an IDX/CIFAR example: its PNG in the run folder). */
    open: { params: { index: number }; result: void };
    /** `DenseNet: Visualize Feature Maps` of the example's image with this run. */
    visualize: { params: { index: number }; result: void };
  };
  events: {
    state: GalleryState;
  };
}

export type GalleryView = NoContract;
