// JSON Schema of a bundle's manifest.json (schema "vigil.bundle/1", docs/bundles.md).
// Mirrors agent/model/manifest-types.ts; cross-field checks (labels vs normalLabel, channel
// names) are in bundle.ts.

const sha256 = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;
const bundleFile = {
  type: 'object',
  required: ['path', 'sha256', 'bytes'],
  additionalProperties: false,
  properties: {
    // A plain file name inside the bundle: no directories, no "..".
    path: { type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]*$' },
    sha256,
    bytes: { type: 'integer', minimum: 0 },
  },
} as const;

export const manifestSchema = {
  $id: 'https://vigil.dev/schemas/bundle-manifest-1.json',
  type: 'object',
  required: [
    'schema',
    'name',
    'version',
    'architecture',
    'task',
    'labels',
    'normalLabel',
    'input',
    'files',
    'created',
  ],
  additionalProperties: false,
  properties: {
    schema: { const: 'vigil.bundle/1' },
    name: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]*$', maxLength: 64 },
    version: { type: 'string', pattern: '^\\d+\\.\\d+\\.\\d+([-+][0-9A-Za-z.-]+)?$' },
    architecture: { const: 'vigil-tst' },
    task: { enum: ['classification', 'anomaly'] },
    labels: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 }, uniqueItems: true },
    normalLabel: { type: 'string', minLength: 1 },
    input: {
      type: 'object',
      required: ['sampleRateHz', 'windowLength', 'channels', 'frontend', 'hop'],
      additionalProperties: false,
      properties: {
        sampleRateHz: { type: 'number', exclusiveMinimum: 0 },
        windowLength: { type: 'integer', minimum: 1 },
        channels: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 }, uniqueItems: true },
        frontend: {
          type: 'object',
          required: ['kind'],
          additionalProperties: false,
          properties: {
            kind: { enum: ['none', 'spectral'] },
            bins: { type: 'integer', minimum: 1 },
            bandLowHz: { type: 'number', minimum: 0 },
            bandHighHz: { type: 'number', exclusiveMinimum: 0 },
          },
        },
        hop: { type: 'integer', minimum: 1 },
      },
    },
    files: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: {
        gguf: bundleFile,
        onnx: bundleFile,
        onnxInt8: bundleFile,
        golden: bundleFile,
        card: bundleFile,
        training: bundleFile,
      },
    },
    modelMetadata: { type: 'object' },
    tools: { type: 'object', additionalProperties: { type: 'string' } },
    metrics: { type: 'object' },
    created: { type: 'string', format: 'date-time' },
  },
} as const;
