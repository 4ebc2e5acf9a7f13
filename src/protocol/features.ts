/**
 * Messages between the extension host and the feature maps webview (`densenet.features`).
 *
 * The result shapes mirror those of src/engine/inspect.ts (the engine's inspection API); they are repeated
 * here because webviews may import only pure modules (src/editor/inspection.ts checks at compile time that
 * the engine's types still fit these). Float32Arrays cross postMessage as they are (structured clone).
 *
 * Handshake: the webview sends `ready`; the host answers with `state` (the full state: image, checkpoint,
 * model description, predictions). Requests carry an `id` and are always answered by a `response` with
 * `inReplyTo` (ok | error); long requests (maximise) send `progress` messages with the same `inReplyTo`.
 */

export type FeatureGroup = 'stem' | 'block' | 'transition' | 'head' | 'other';

export interface FeatureLayer {
  name: string;
  type: string;
  /** [H, W, C]. */
  outputShape: [number, number, number];
  block: string;
  group: FeatureGroup;
  blockLayer?: number;
}

export interface ModelDescription {
  modelPath: string;
  input: { height: number; width: number; channels: number };
  classNames: string[];
  layers: FeatureLayer[];
}

export interface Prediction {
  index: number;
  className: string;
  probability: number;
}

export interface DisplayImage {
  /** HWC in [0, 1], the image as the model sees it (resized, grayscale/RGB) before normalisation. */
  display: Float32Array;
  height: number;
  width: number;
  channels: number;
}

export interface ActivationStats {
  min: number;
  max: number;
  mean: number;
  channelMin: Float32Array;
  channelMax: Float32Array;
  channelMean: Float32Array;
}

export interface LayerActivation {
  name: string;
  /** [H, W, C] (or [C] after global pooling). */
  shape: number[];
  /** HWC. */
  data: Float32Array;
  stats: ActivationStats;
}

export interface GradCamResult {
  heatmap: Float32Array;
  height: number;
  width: number;
  upsampled: Float32Array;
  inputHeight: number;
  inputWidth: number;
  classIndex: number;
  className: string;
  probability: number;
  score: 'logit' | 'output';
}

export interface SaliencyResult {
  saliency: Float32Array;
  height: number;
  width: number;
  classIndex: number;
  className: string;
  probability: number;
  score: 'logit' | 'output';
}

export interface MaximisationResult {
  image: Float32Array;
  height: number;
  width: number;
  channels: number;
  values: number[];
  cancelled: boolean;
  objective: 'channel-mean' | 'logit' | 'output';
}

export interface MaximiseProgress {
  step: number;
  value: number;
  image?: Float32Array;
}

export type MaximiseTarget = { layerName: string; channel: number } | { classIndex: number };

/** What the webview may ask for; the checkpoint and image are the panel's current ones. */
export type FeaturesRequest =
  | { kind: 'activations'; layer: string }
  | { kind: 'gradcam'; layerName?: string; classIndex?: number }
  | { kind: 'saliency'; classIndex?: number; samples?: number }
  | { kind: 'maximise'; target: MaximiseTarget; steps?: number };

export interface FeaturesResultMap {
  activations: LayerActivation;
  gradcam: GradCamResult;
  saliency: SaliencyResult;
  maximise: MaximisationResult;
}

export interface FeaturesState {
  /** Absolute path of the image and its name. */
  image?: { path: string; name: string };
  /** The run folder (or checkpoint) inspected, and how to call it. */
  checkpoint?: { path: string; label: string };
  /** True while describe/predict run. */
  loading: boolean;
  model?: ModelDescription;
  input?: DisplayImage;
  predictions?: Prediction[];
  error?: string;
  /** When the checkpoint was picked (Date.now() on the host), for the click-to-gallery measurement. */
  commandStartedAt?: number;
}

/** Host -> webview. */
export type ToFeaturesWebview =
  | { type: 'state'; state: FeaturesState }
  | { type: 'progress'; inReplyTo: number; progress: MaximiseProgress }
  | { type: 'response'; inReplyTo: number; ok: true; result: FeaturesResultMap[keyof FeaturesResultMap] }
  | { type: 'response'; inReplyTo: number; ok: false; error: string };

/** Webview -> host. */
export type FromFeaturesWebview =
  | { type: 'ready' }
  | { type: 'request'; id: number; request: FeaturesRequest }
  | { type: 'cancel'; id: number }
  | { type: 'export'; name: string; dataUrl: string }
  | { type: 'pickCheckpoint' }
  | { type: 'pickImage' }
  /** The webview drew something (for timings in the log): e.g. the gallery of a layer. */
  | { type: 'rendered'; what: 'gallery'; layer: string; channels: number };
