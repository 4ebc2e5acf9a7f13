/**
 * The contract between the extension host and the feature maps webview (`densenet.features`; see
 * src/protocol/panel.ts).
 *
 * The inspection result shapes live here, where the webview reads them; the engine computes them
 * (src/engine/inspection/) and the engine contract (./engine.ts) answers with them. Float32Arrays cross
 * postMessage as they are (structured clone).
 *
 * The webview asks for its full `state` (image, checkpoint, model description, predictions) when it loads; the
 * host announces it again whenever it changes (loading, loaded, failed). Each inspection of the current image and
 * checkpoint is a request with its own typed result; activation maximisation reports progress and is cancelled
 * by aborting its request.
 */
import type { NoRequests, SaveResult } from './panel';
import type { Contract } from './rpc';

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

/** One label of a multi-label prediction: its probability against its decision threshold. */
export interface LabelPrediction {
  label: string;
  index: number;
  probability: number;
  threshold: number;
  /** probability ≥ threshold. */
  present: boolean;
}

/** One class of a predicted mask: its name, its colour and the share of the pixels predicted as it. */
export interface MaskClass {
  name: string;
  /** "#rrggbb". */
  color: string;
  share: number;
}

/**
 * What a multi-label or segmentation model predicts for the image, beyond the `predictions` list (there: every
 * label by probability; the classes by the share of the pixels predicted as each).
 */
export type TaskPrediction =
  | {
      task: 'multilabel';
      /** Every label, most probable first. */
      labels: LabelPrediction[];
      /** Where the thresholds come from (tuned on a validation, or 0.5). */
      thresholds: string;
    }
  | {
      task: 'segmentation';
      /** The model's input size: the mask and the maps are height × width. */
      height: number;
      width: number;
      /** The predicted class of each pixel, row-major. */
      mask: Uint8Array;
      /** Each class's probability per pixel as an 8-bit code (p ≈ code / 255), [H, W, classes] row-major. */
      probabilities: Uint8Array;
      classes: MaskClass[];
    };

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

/**
 * A layer's activations as the feature-map page gets them: each value as an 8-bit code over its channel's own
 * range, value ≈ channelMin + code / 255 × (channelMax − channelMin) (a flat channel is all 0). A quarter of the
 * float32 bytes (a DenseNet-121's stem alone is 112×112×64 values), and as fine as the 256-colour gallery draws
 * with per-channel normalisation.
 */
export interface EncodedActivation {
  name: string;
  /** [H, W, C] for feature maps, [C] after global pooling (no batch axis). */
  shape: number[];
  /** Row-major (HWC) codes. */
  codes: Uint8Array;
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
  /** The relevance (ReLU of the channel-weighted sum) before scaling: its smallest and largest values. */
  range: [number, number];
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
  /** |gradient| (SmoothGrad: its mean) before scaling: its smallest and largest values. */
  range: [number, number];
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

/** A checkpoint as the page names it: the run folder (or checkpoint, or spec), its run, and its epoch. */
export interface CheckpointRef {
  path: string;
  /** `spec / run id`, or `spec (untrained)`. */
  label: string;
  /** Which checkpoint and epoch: `epoch 3 (best)`, `epoch 5 (latest)`, `random weights`. */
  detail?: string;
}

/** Which model an inspection is of: the panel's checkpoint (`a`, the default) or the one compared with it (`b`). */
export type Side = 'a' | 'b';

/** The second checkpoint shown beside the first ("Compare with…"), on the same image. */
export interface CompareState {
  checkpoint: CheckpointRef;
  loading: boolean;
  model?: ModelDescription;
  input?: DisplayImage;
  predictions?: Prediction[];
  error?: string;
}

export interface FeaturesState {
  /** Absolute path of the image and its name. */
  image?: { path: string; name: string };
  /** The run folder (or checkpoint) inspected, and how to call it. */
  checkpoint?: CheckpointRef;
  /** The checkpoint compared with it, while the comparison is open. */
  compare?: CompareState;
  /** True while describe/predict run. */
  loading: boolean;
  model?: ModelDescription;
  input?: DisplayImage;
  predictions?: Prediction[];
  /** A multi-label model's labels and thresholds, a segmentation model's mask and class maps. */
  task?: TaskPrediction;
  error?: string;
  /** When the checkpoint was picked (Date.now() on the host), for the click-to-gallery measurement. */
  commandStartedAt?: number;
}

/** The inspections the webview may ask for (of the panel's current image and checkpoint): params and results. */
export type FeaturesInspections = {
  activations: { params: { layer: string; side?: Side }; result: EncodedActivation };
  gradcam: { params: { layerName?: string; classIndex?: number; side?: Side }; result: GradCamResult };
  saliency: { params: { classIndex?: number; samples?: number; side?: Side }; result: SaliencyResult };
  /** Progress after each step (with the image now and then); aborting the request stops it at its next step. */
  maximise: {
    params: { target: MaximiseTarget; steps?: number };
    result: MaximisationResult;
    progress: MaximiseProgress;
  };
};

export type InspectionKind = keyof FeaturesInspections;

/** The host: answers the handshake, the inspections and the buttons; announces the state. */
export interface FeaturesHost extends Contract {
  requests: FeaturesInspections & {
    state: { params: null; result: FeaturesState };
    /** Saves a view (a PNG data URL) where the user picks. */
    export: { params: { name: string; dataUrl: string }; result: SaveResult };
    /** Lets the user pick another checkpoint (or image) and loads it; the new state follows as an event. */
    pickCheckpoint: { params: null; result: void };
    pickImage: { params: null; result: void };
    /** Lets the user pick a second checkpoint and shows it beside the first (its own engine process). */
    compare: { params: null; result: void };
    /** Closes the comparison: the second engine process and its model are disposed. */
    closeCompare: { params: null; result: void };
  };
  events: { state: FeaturesState };
}

/** The webview: announces what it drew (for timings in the log), e.g. the gallery of a layer. */
export interface FeaturesView extends Contract {
  requests: NoRequests;
  events: { rendered: { what: 'gallery'; layer: string; channels: number } };
}
