/**
 * Messages between the extension host and the feature maps webview (`densenet.features`).
 *
 * The inspection result shapes live here, where the webview reads them; the engine computes them
 * (src/engine/inspection/) and the engine contract (./engine.ts) answers with them. Float32Arrays cross
 * postMessage as they are (structured clone).
 *
 * Handshake: the webview sends `ready`; the host answers with `state` (the full state: image, checkpoint,
 * model description, predictions). Requests carry an `id` and are always answered by a `response` with
 * `inReplyTo` (ok | error); long requests (maximise) send `progress` messages with the same `inReplyTo`.
 */

/** What Grad-CAM, saliency and class maximisation differentiate: the class logit, or the model output. */
export type ScoreKind = 'logit' | 'output';

export type FeatureGroup = 'stem' | 'block' | 'transition' | 'head' | 'other';

export interface FeatureLayer {
  name: string;
  /** The tfjs class name: Conv2D, BatchNormalization, Activation, Concatenate, ... */
  type: string;
  /** [H, W, C]. */
  outputShape: [number, number, number];
  /** Keras name prefix: `conv1` (stem), `conv2`..`conv5` (dense blocks), `pool2`.. (transitions), `head`; else `other`. */
  block: string;
  group: FeatureGroup;
  /** For dense-block layers: the 1-based layer index inside the block (`conv3_block5_...` -> 5). */
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
  /** Per channel (the last axis; for a [C] output each unit is its own channel). */
  channelMin: Float32Array;
  channelMax: Float32Array;
  channelMean: Float32Array;
}

export interface LayerActivation {
  name: string;
  /** [H, W, C] for feature maps, [C] after global pooling (no batch axis). */
  shape: number[];
  /** Row-major (HWC) values. */
  data: Float32Array;
  stats: ActivationStats;
}

export interface GradCamResult {
  /** H' x W' (the layer's spatial size), ReLU'd, scaled to [0, 1] by its maximum (all zero if no evidence). */
  heatmap: Float32Array;
  height: number;
  width: number;
  /** The heatmap resized to the model input (bilinear, half-pixel centres): inputHeight x inputWidth. */
  upsampled: Float32Array;
  inputHeight: number;
  inputWidth: number;
  classIndex: number;
  className: string;
  probability: number;
  /** What was differentiated: the class logit (pre-softmax) or the model output. */
  score: ScoreKind;
}

export interface SaliencyResult {
  /** H x W: max over channels of |d score / d input|, scaled to [0, 1] by its maximum. */
  saliency: Float32Array;
  height: number;
  width: number;
  classIndex: number;
  className: string;
  probability: number;
  score: ScoreKind;
}

export interface MaximisationResult {
  /** HWC display image in [0, 1]. */
  image: Float32Array;
  height: number;
  width: number;
  channels: number;
  /** The objective at each step (before that step's update). */
  values: number[];
  cancelled: boolean;
  /** `channel-mean`, or for a class the score kind (logit or model output). */
  objective: 'channel-mean' | ScoreKind;
}

/** Activation maximisation's progress: steps done, the objective's value, the current display image. */
export interface MaximiseProgress {
  step: number;
  value: number;
  image?: Float32Array;
}

/** What activation maximisation maximises: the mean of one channel of a layer's output, or one class's score. */
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
