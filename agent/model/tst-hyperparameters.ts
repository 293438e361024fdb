// vigil-tst hyperparameters (docs/model-format.md §2, §4): reading them from ONNX
// metadata_props (JSON-encoded values under the GGUF keys), checking their invariants, and
// writing them as GGUF metadata.
import { ModelError } from './model-error.js';
import { gguf, GgufType, type GgufValue } from './gguf.js';

export const ARCH = 'vigil-tst';

export interface TstHyperparameters {
  name: string;
  version: string;
  windowLength: number; // T
  channelCount: number; // C
  sampleRateHz: number;
  channelNames: string[];
  frontend: 'none' | 'spectral';
  frontendBins: number; // B (0 for none)
  bandLowHz: number;
  bandHighHz: number;
  patchLength: number; // P
  embeddingLength: number; // d
  blockCount: number; // L
  headCount: number; // H
  feedForwardLength: number; // F
  layerNormEpsilon: number;
  labels: string[]; // K
  hasReconstruction: boolean;
}

export interface TstDims {
  T: number;
  C: number;
  Tf: number; // T'
  Cf: number; // C'
  P: number;
  N: number;
  d: number;
  H: number;
  F: number;
  L: number;
  K: number;
}

export function tstDims(h: TstHyperparameters): TstDims {
  const spectral = h.frontend === 'spectral';
  const Tf = spectral ? h.frontendBins : h.windowLength;
  const Cf = spectral ? 3 * h.channelCount : h.channelCount;
  return {
    T: h.windowLength,
    C: h.channelCount,
    Tf,
    Cf,
    P: h.patchLength,
    N: Tf / h.patchLength,
    d: h.embeddingLength,
    H: h.headCount,
    F: h.feedForwardLength,
    L: h.blockCount,
    K: h.labels.length,
  };
}

type Kind = 'u32' | 'f32' | 'string' | 'string[]' | 'bool';

const KEYS: {
  key: string;
  field: keyof TstHyperparameters;
  kind: Kind;
  spectralOnly?: boolean;
  optional?: boolean;
}[] = [
  { key: 'general.name', field: 'name', kind: 'string', optional: true },
  { key: 'general.version', field: 'version', kind: 'string', optional: true },
  { key: `${ARCH}.window_length`, field: 'windowLength', kind: 'u32' },
  { key: `${ARCH}.channel_count`, field: 'channelCount', kind: 'u32' },
  { key: `${ARCH}.sample_rate`, field: 'sampleRateHz', kind: 'f32' },
  { key: `${ARCH}.channel_names`, field: 'channelNames', kind: 'string[]' },
  { key: `${ARCH}.frontend`, field: 'frontend', kind: 'string' },
  { key: `${ARCH}.frontend.bins`, field: 'frontendBins', kind: 'u32', spectralOnly: true },
  { key: `${ARCH}.frontend.band_low_hz`, field: 'bandLowHz', kind: 'f32', spectralOnly: true },
  { key: `${ARCH}.frontend.band_high_hz`, field: 'bandHighHz', kind: 'f32', spectralOnly: true },
  { key: `${ARCH}.patch_length`, field: 'patchLength', kind: 'u32' },
  { key: `${ARCH}.embedding_length`, field: 'embeddingLength', kind: 'u32' },
  { key: `${ARCH}.block_count`, field: 'blockCount', kind: 'u32' },
  { key: `${ARCH}.attention.head_count`, field: 'headCount', kind: 'u32' },
  { key: `${ARCH}.feed_forward_length`, field: 'feedForwardLength', kind: 'u32' },
  { key: `${ARCH}.attention.layer_norm_epsilon`, field: 'layerNormEpsilon', kind: 'f32', optional: true },
  { key: `${ARCH}.labels`, field: 'labels', kind: 'string[]' },
  { key: `${ARCH}.has_reconstruction`, field: 'hasReconstruction', kind: 'bool' },
];

function mismatch(message: string): ModelError {
  return new ModelError('MODEL_GRAPH_MISMATCH', message);
}

function parseValue(key: string, raw: string, kind: Kind): unknown {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    // A bare (not JSON-quoted) string is accepted for string keys; anything else is refused.
    if (kind === 'string') return raw;
    throw mismatch(`metadata ${key}: expected a JSON-encoded ${kind} but received ${JSON.stringify(raw)}`);
  }
  const ok =
    (kind === 'u32' && typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 2 ** 32) ||
    (kind === 'f32' && typeof v === 'number' && Number.isFinite(v)) ||
    (kind === 'string' && typeof v === 'string') ||
    (kind === 'bool' && typeof v === 'boolean') ||
    (kind === 'string[]' && Array.isArray(v) && v.every((s) => typeof s === 'string'));
  if (!ok) throw mismatch(`metadata ${key}: expected a JSON-encoded ${kind} but received ${raw}`);
  return v;
}

/**
 * Read the hyperparameters from ONNX metadata_props. Every problem is collected and reported
 * in one MODEL_GRAPH_MISMATCH error.
 */
export function hyperparametersFromOnnxMetadata(
  meta: Record<string, string>,
  overrides: { name?: string; version?: string } = {},
): TstHyperparameters {
  const problems: string[] = [];
  const arch = meta['general.architecture'];
  if (arch !== undefined) {
    const a = parseValue('general.architecture', arch, 'string');
    if (a !== ARCH)
      problems.push(`metadata general.architecture: expected "${ARCH}" but received ${JSON.stringify(a)}`);
  }
  const quant = meta[`${ARCH}.quantization`];
  if (quant !== undefined && parseValue(`${ARCH}.quantization`, quant, 'string') !== 'f32') {
    problems.push(
      `metadata ${ARCH}.quantization: expected "f32" (the converter quantizes) but received ${quant}`,
    );
  }
  const out: Record<string, unknown> = {
    name: 'model',
    version: '0.0.0',
    layerNormEpsilon: 1e-5,
    frontendBins: 0,
    bandLowHz: 0,
    bandHighHz: 0,
  };
  let frontend: unknown = 'none';
  try {
    if (meta[`${ARCH}.frontend`] !== undefined)
      frontend = parseValue(`${ARCH}.frontend`, meta[`${ARCH}.frontend`], 'string');
  } catch (err) {
    problems.push((err as Error).message);
  }
  for (const k of KEYS) {
    if (k.spectralOnly && frontend !== 'spectral') continue;
    const raw = meta[k.key];
    if (raw === undefined) {
      if (!k.optional) problems.push(`metadata ${k.key}: missing (expected a JSON-encoded ${k.kind})`);
      continue;
    }
    try {
      out[k.field] = parseValue(k.key, raw, k.kind);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (overrides.name) out.name = overrides.name;
  if (overrides.version) out.version = overrides.version;
  if (problems.length === 0) {
    problems.push(...checkHyperparameters(out as unknown as TstHyperparameters));
  }
  if (problems.length > 0) {
    throw mismatch(
      `The ONNX model is not a vigil-tst model this converter accepts:\n  - ${problems.join('\n  - ')}`,
    );
  }
  return out as unknown as TstHyperparameters;
}

/** The invariants of §1-§2; returns one message per violation. */
export function checkHyperparameters(h: TstHyperparameters): string[] {
  const p: string[] = [];
  const pos = (field: keyof TstHyperparameters): void => {
    const v = h[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
      p.push(`${field}: expected a positive integer but received ${String(v)}`);
  };
  for (const f of [
    'windowLength',
    'channelCount',
    'patchLength',
    'embeddingLength',
    'blockCount',
    'headCount',
    'feedForwardLength',
  ] as const)
    pos(f);
  if (!(h.sampleRateHz > 0)) p.push(`sampleRateHz: expected > 0 but received ${h.sampleRateHz}`);
  if (h.frontend !== 'none' && h.frontend !== 'spectral')
    p.push(`frontend: expected "none" or "spectral" but received ${JSON.stringify(h.frontend)}`);
  if (h.channelNames.length !== h.channelCount) {
    p.push(
      `channel_names: expected ${h.channelCount} names (channel_count) but received ${h.channelNames.length}`,
    );
  }
  if (h.labels.length < 1) p.push('labels: expected at least one class label but received none');
  if (new Set(h.labels).size !== h.labels.length)
    p.push(`labels: expected unique labels but received ${JSON.stringify(h.labels)}`);
  if (!(h.layerNormEpsilon > 0))
    p.push(`layer_norm_epsilon: expected > 0 but received ${h.layerNormEpsilon}`);
  if (h.frontend === 'spectral') {
    const T = h.windowLength;
    if (T & (T - 1)) p.push(`window_length: the spectral front end needs a power of two but received ${T}`);
    if (!(h.frontendBins > 0) || (T / 2) % h.frontendBins !== 0) {
      p.push(
        `frontend.bins: expected a divisor of window_length/2 = ${T / 2} but received ${h.frontendBins}`,
      );
    }
    if (!(h.bandLowHz >= 0 && h.bandLowHz < h.bandHighHz)) {
      p.push(
        `frontend.band_low_hz/band_high_hz: expected 0 <= low < high but received ${h.bandLowHz}, ${h.bandHighHz}`,
      );
    }
  }
  if (p.length === 0) {
    const d = tstDims(h);
    if (d.Tf % d.P !== 0)
      p.push(`patch_length: expected a divisor of the feature length ${d.Tf} but received ${d.P}`);
    if (d.d % d.H !== 0)
      p.push(`attention.head_count: expected a divisor of embedding_length ${d.d} but received ${d.H}`);
  }
  return p;
}

/** GGUF metadata for these hyperparameters (§4), in a stable order. */
export function ggufMetadata(
  h: TstHyperparameters,
  quantization: 'f32' | 'q8_static',
): Map<string, GgufValue> {
  const m = new Map<string, GgufValue>();
  m.set('general.architecture', gguf.str(ARCH));
  m.set('general.name', gguf.str(h.name));
  m.set('general.version', gguf.str(h.version));
  m.set('general.alignment', gguf.u32(32));
  m.set(`${ARCH}.window_length`, gguf.u32(h.windowLength));
  m.set(`${ARCH}.channel_count`, gguf.u32(h.channelCount));
  m.set(`${ARCH}.sample_rate`, gguf.f32(h.sampleRateHz));
  m.set(`${ARCH}.channel_names`, gguf.strs(h.channelNames));
  m.set(`${ARCH}.frontend`, gguf.str(h.frontend));
  if (h.frontend === 'spectral') {
    m.set(`${ARCH}.frontend.bins`, gguf.u32(h.frontendBins));
    m.set(`${ARCH}.frontend.band_low_hz`, gguf.f32(h.bandLowHz));
    m.set(`${ARCH}.frontend.band_high_hz`, gguf.f32(h.bandHighHz));
  }
  m.set(`${ARCH}.patch_length`, gguf.u32(h.patchLength));
  m.set(`${ARCH}.embedding_length`, gguf.u32(h.embeddingLength));
  m.set(`${ARCH}.block_count`, gguf.u32(h.blockCount));
  m.set(`${ARCH}.attention.head_count`, gguf.u32(h.headCount));
  m.set(`${ARCH}.feed_forward_length`, gguf.u32(h.feedForwardLength));
  m.set(`${ARCH}.attention.layer_norm_epsilon`, gguf.f32(h.layerNormEpsilon));
  m.set(`${ARCH}.labels`, gguf.strs(h.labels));
  m.set(`${ARCH}.has_reconstruction`, gguf.bool(h.hasReconstruction));
  m.set(`${ARCH}.quantization`, gguf.str(quantization));
  return m;
}

/** Read the hyperparameters back from GGUF metadata (inspect, reference runs). */
export function hyperparametersFromGguf(meta: Map<string, GgufValue>): {
  h: TstHyperparameters;
  quantization: string;
} {
  const problems: string[] = [];
  const get = (key: string, kind: Kind, optional = false): unknown => {
    const v = meta.get(key);
    if (!v) {
      if (!optional) problems.push(`metadata ${key}: missing`);
      return undefined;
    }
    const isArr = v.type === GgufType.ARRAY;
    const ok =
      (kind === 'string' && v.type === GgufType.STRING) ||
      (kind === 'u32' && v.type === GgufType.U32) ||
      (kind === 'f32' && v.type === GgufType.F32) ||
      (kind === 'bool' && v.type === GgufType.BOOL) ||
      (kind === 'string[]' && isArr && v.itemType === GgufType.STRING);
    if (!ok) {
      problems.push(
        `metadata ${key}: expected ${kind} but received ${GgufType[v.type]}${isArr ? ` of ${GgufType[v.itemType]}` : ''}`,
      );
      return undefined;
    }
    return v.value;
  };
  const arch = get('general.architecture', 'string');
  if (arch !== undefined && arch !== ARCH)
    problems.push(`general.architecture: expected "${ARCH}" but received ${JSON.stringify(arch)}`);
  const out: Record<string, unknown> = {
    name: '',
    version: '',
    layerNormEpsilon: 1e-5,
    frontendBins: 0,
    bandLowHz: 0,
    bandHighHz: 0,
  };
  const frontend = get(`${ARCH}.frontend`, 'string');
  for (const k of KEYS) {
    if (k.spectralOnly && frontend !== 'spectral') continue;
    const v = get(k.key, k.kind, k.optional);
    if (v !== undefined) out[k.field] = v;
  }
  const quantization = (get(`${ARCH}.quantization`, 'string', true) as string | undefined) ?? 'f32';
  if (problems.length === 0) problems.push(...checkHyperparameters(out as unknown as TstHyperparameters));
  if (problems.length > 0)
    throw new ModelError('MODEL_FORMAT', `Invalid vigil-tst GGUF metadata:\n  - ${problems.join('\n  - ')}`);
  return { h: out as unknown as TstHyperparameters, quantization };
}
