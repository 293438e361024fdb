// Errors of the model layer (ONNX reading, GGUF, conversion, bundles), with stable codes.

export type ModelErrorCode =
  | 'MODEL_ONNX_INVALID' // not a readable ONNX ModelProto
  | 'MODEL_GRAPH_MISMATCH' // an ONNX graph that is not vigil-tst as docs/model-format.md §3 says
  | 'MODEL_FORMAT' // a malformed GGUF file
  | 'MODEL_CALIB_INVALID' // a calibration / window file that cannot be used
  | 'MODEL_BUNDLE_INVALID' // a bundle directory or manifest that fails validation
  | 'MODEL_DIGEST_MISMATCH' // a bundle file whose SHA-256 or size differs from the manifest
  | 'MODEL_VERIFY_FAILED' // int8 vs fp32 agreement or golden vectors out of tolerance
  | 'MODEL_BACKEND_UNAVAILABLE'; // a backend (native addon, onnxruntime) could not be loaded

export class ModelError extends Error {
  readonly code: ModelErrorCode;
  constructor(code: ModelErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelError';
    this.code = code;
  }
}
