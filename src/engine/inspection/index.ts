/**
 * The engine's inference API for the panels: the image as the model sees it (inputs.ts), top-k predictions
 * (predict.ts), layer activations and the layers of the feature-map gallery (activations.ts), Grad-CAM
 * (gradCam.ts), saliency maps (saliency.ts) and activation maximisation (maximise.ts). service.ts answers the
 * engine process's inspection requests with them.
 *
 * Every function takes a `LayersModel` (+ the run's `Preprocessing` where class names or the normalisation
 * matter) and plain inputs, and returns plain typed arrays and objects: no tensor leaves these modules and
 * none is left behind (everything runs in `tf.tidy`, or is disposed in `finally`).
 */
export { encodeActivation, featureLayers, layerActivations } from './activations';
export { gradCam, type GradCamOptions } from './gradCam';
export { type ImageInput, inputTensor, loadImageInput } from './inputs';
export { releaseInspection } from './layerGraph';
export { activationMaximisation, type MaximisationOptions } from './maximise';
export { logits, predictTopK, topK } from './predict';
export { saliency, type SaliencyOptions } from './saliency';
