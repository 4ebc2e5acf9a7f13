/**
 * What the model takes: its input shape, one image as an input tensor, and image files decoded to the run's
 * input size, channels and normalisation. Inputs are one image, HWC float32 in the model's input space
 * (normalised, as `loadImageInput().input`).
 */
import * as fs from 'fs';
import type { LayersModel, Tensor4D } from '@tensorflow/tfjs';
import type { ImageInput } from '../../protocol/engine';
import { decodeImage } from '../data/decode';
import { normalizeInPlace, toFloat } from '../data/preprocess';
import type { Preprocessing } from '../../runs/preprocessing';
import { tf } from '../tf';

export type { ImageInput };

/** The model's input [height, width, channels]. */
export function inputShape(model: LayersModel): [number, number, number] {
  const shape = model.inputs[0].shape;
  if (shape.length !== 4 || shape.slice(1).some((d) => d == null))
    throw new Error(`The model input is not an image: shape ${JSON.stringify(shape)}`);
  return shape.slice(1) as [number, number, number];
}

/** One input as a [1, H, W, C] tensor, checked against the model's input size. */
export function inputTensor(model: LayersModel, input: Float32Array): Tensor4D {
  const [h, w, c] = inputShape(model);
  if (input.length !== h * w * c)
    throw new Error(`The input has ${input.length} values; the model takes ${h}x${w}x${c} = ${h * w * c}`);
  return tf.tensor4d(input, [1, h, w, c]);
}

/** Decodes an image file (PNG, JPEG, WebP, GIF, TIFF) to the run's input size, channels and normalisation. */
export async function loadImageInput(file: string, pre: Preprocessing): Promise<ImageInput> {
  const { height, width, channels } = pre.input;
  const pixels = await decodeImage(await fs.promises.readFile(file), { height, width });
  const display = toFloat(pixels, channels);
  const input = Float32Array.from(display);
  if (pre.normalization) normalizeInPlace(input, pre.normalization);
  return { input, display, height, width, channels };
}
