/**
 * The one place the engine gets TensorFlow.js from. Every engine module imports `tf` from here: it is the
 * bundled @tensorflow/tfjs (CPU and WASM backends), or, once `useNative` ran, the namespace of a
 * @tensorflow/tfjs-node loaded from elsewhere (its own copy of tfjs-core, which the bundled one cannot share).
 * Either way its backward pass is the streaming one of ./gradients (memory freed as the pass goes).
 */
import * as tfjs from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { installStreamingBackward } from './gradients';

export type Tf = typeof tfjs;

export let tf: Tf = tfjs;
installStreamingBackward(tfjs);

export function useNative(ns: Tf): void {
  installStreamingBackward(ns);
  tf = ns;
}
