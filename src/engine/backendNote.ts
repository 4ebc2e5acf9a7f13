/**
 * What to say when `auto` could not use native TensorFlow: a short reason for every run's log line, and a note
 * (said once per session by the editor) that tells apart "not installed" (the usual case: a hint) from
 * "installed but broken" (the error, and how to repair it). Pure: no tfjs here.
 */

/** Each entry is "<where>: <first line of the error>" as the native loader collects them. */
export function nativeFailure(errors: string[]): { reason: string; note: string } {
  const missing = errors.length > 0 && errors.every((e) => /Cannot find module '@tensorflow\/tfjs-node'/.test(e));
  if (missing)
    return {
      reason: 'the native engine is not installed',
      note: 'Training and inspection run on WASM: the native engine (@tensorflow/tfjs-node) is not installed. "DenseNet: Install Native Engine" makes training several times faster.',
    };
  return {
    reason: 'the native engine did not load',
    note: `The native engine (@tensorflow/tfjs-node) is installed but did not load (${errors.join('; ')}); running on WASM instead. Run "DenseNet: Install Native Engine" again to repair it.`,
  };
}
