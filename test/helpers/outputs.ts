// The four inference outputs compared value for value (a Model's RunOutputs or a backend's
// InferenceOutputs): the one "same outputs" check of the binding and backend tests.
import { expect } from 'vitest';

interface Outputs {
  probs: Float32Array;
  embedding: Float32Array;
  patchError: Float32Array;
  channelError: Float32Array;
}

/** The four outputs as plain arrays, by name (a copy: later writes to the views do not show). */
export function outputArrays(r: Outputs): Record<keyof Outputs, number[]> {
  return {
    probs: Array.from(r.probs),
    embedding: Array.from(r.embedding),
    patchError: Array.from(r.patchError),
    channelError: Array.from(r.channelError),
  };
}

/** a's four outputs equal b's, value for value. */
export function expectSameOutputs(a: Outputs, b: Outputs): void {
  expect(outputArrays(a)).toEqual(outputArrays(b));
}
