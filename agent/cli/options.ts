// Option parsers shared by several commands.
import { fail } from './fail.js';

export type BackendChoice = 'auto' | 'native' | 'onnx';

/** commander parser for `--backend <kind>`: auto | native | onnx, else a usage error (exit 2). */
export function parseBackend(v: string): BackendChoice {
  if (v !== 'auto' && v !== 'native' && v !== 'onnx')
    fail(`--backend: expected one of auto, native, onnx but received ${JSON.stringify(v)}`);
  return v;
}
