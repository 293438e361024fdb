// The shape of a model bundle's manifest.json (docs/model-format.md section 5).
// The JSON Schema that validates it lives beside the bundle code (agent/model/).

export interface FrontendSpec {
  kind: 'none' | 'spectral';
  bins?: number;
  bandLowHz?: number;
  bandHighHz?: number;
}

export interface InputSpec {
  sampleRateHz: number;
  windowLength: number; // raw samples per window (T)
  channels: string[]; // raw channel names, in the model's order (C)
  frontend: FrontendSpec;
  hop: number; // samples between window starts (default windowLength)
}

export interface BundleFile {
  path: string; // relative to the bundle directory
  sha256: string;
  bytes: number;
}

export interface Manifest {
  schema: 'vigil.bundle/1';
  name: string; // model id, e.g. "rotating-vib"
  version: string; // semver
  architecture: 'vigil-tst';
  task: 'classification' | 'anomaly';
  labels: string[];
  /** The label that means "nothing wrong" (diagnoses use it), e.g. "healthy". */
  normalLabel: string;
  input: InputSpec;
  files: {
    gguf?: BundleFile;
    onnx?: BundleFile;
    onnxInt8?: BundleFile;
    golden?: BundleFile;
    /** MODEL_CARD.md and the training record, when the bundle carries them. */
    card?: BundleFile;
    training?: BundleFile;
  };
  /** ONNX metadata_props outside general.* / vigil-tst.*, JSON-decoded (e.g. vigil.input_transform). */
  modelMetadata?: Record<string, unknown>;
  /** Versions of the tools that built the bundle (vigil, onnxruntime, engine). */
  tools?: Record<string, string>;
  /** Free-form: training record, converter figures (agreement etc.), tool versions. */
  metrics?: Record<string, unknown>;
  created: string; // ISO time
}
