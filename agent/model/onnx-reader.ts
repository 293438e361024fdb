// Reads what the converter needs from an ONNX ModelProto: float initializers (float_data or
// raw_data), graph inputs/outputs with their shapes, and metadata_props. No graph execution.
import { ModelError } from './model-error.js';
import { OnnxDataType, modelProtoType } from './onnx-proto.js';

export interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: number;
  /** Values as float32 (FLOAT and DOUBLE tensors); undefined for other element types. */
  data?: Float32Array;
}

export interface OnnxValueInfo {
  name: string;
  elemType: number;
  /** One entry per dimension: a number, or the symbolic name (e.g. "batch"), or null. */
  shape: (number | string | null)[];
}

export interface OnnxModel {
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producerName: string;
  producerVersion: string;
  /** Graph inputs that are not initializers. */
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  initializers: Map<string, OnnxTensor>;
  metadata: Record<string, string>;
  opTypes: string[];
}

interface RawTensor {
  name?: string;
  dims?: number[];
  dataType?: number;
  floatData?: number[];
  doubleData?: number[];
  rawData?: Uint8Array;
  dataLocation?: number;
}

interface RawValueInfo {
  name?: string;
  type?: {
    tensorType?: {
      elemType?: number;
      shape?: { dim?: { dimValue?: number; dimParam?: string }[] };
    };
  };
}

interface RawModel {
  irVersion?: number;
  opsetImport?: { domain?: string; version?: number }[];
  producerName?: string;
  producerVersion?: string;
  graph?: {
    node?: { opType?: string }[];
    initializer?: RawTensor[];
    input?: RawValueInfo[];
    output?: RawValueInfo[];
  };
  metadataProps?: { key?: string; value?: string }[];
}

function tensorData(t: RawTensor, name: string): Float32Array | undefined {
  const count = (t.dims ?? []).reduce((a, b) => a * b, 1);
  if (t.dataLocation === 1) {
    throw new ModelError(
      'MODEL_ONNX_INVALID',
      `Expected initializer ${name} stored inside the model but received external data; re-export without external data`,
    );
  }
  const type = t.dataType ?? 0;
  if (type !== OnnxDataType.FLOAT && type !== OnnxDataType.DOUBLE) return undefined;
  const width = type === OnnxDataType.FLOAT ? 4 : 8;
  let out: Float32Array;
  if (t.rawData && t.rawData.length > 0) {
    if (t.rawData.length !== count * width) {
      throw new ModelError(
        'MODEL_ONNX_INVALID',
        `Expected ${count * width} bytes of raw_data for initializer ${name} (dims [${t.dims?.join(', ')}]) but received ${t.rawData.length}`,
      );
    }
    // Copy: raw_data may sit at any offset of the decode buffer (Float32Array needs alignment).
    const bytes = new Uint8Array(t.rawData);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    out = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      out[i] = width === 4 ? view.getFloat32(i * 4, true) : view.getFloat64(i * 8, true);
    }
  } else {
    const values = type === OnnxDataType.FLOAT ? (t.floatData ?? []) : (t.doubleData ?? []);
    if (values.length !== count) {
      throw new ModelError(
        'MODEL_ONNX_INVALID',
        `Expected ${count} values for initializer ${name} (dims [${t.dims?.join(', ')}]) but received ${values.length}`,
      );
    }
    out = Float32Array.from(values);
  }
  return out;
}

function valueInfo(v: RawValueInfo): OnnxValueInfo {
  const tt = v.type?.tensorType;
  return {
    name: v.name ?? '',
    elemType: tt?.elemType ?? 0,
    shape: (tt?.shape?.dim ?? []).map((d) =>
      d.dimValue !== undefined ? Number(d.dimValue) : d.dimParam !== undefined ? d.dimParam : null,
    ),
  };
}

/** Decode an ONNX file's bytes. Throws MODEL_ONNX_INVALID for anything unreadable. */
export function readOnnx(bytes: Uint8Array): OnnxModel {
  const type = modelProtoType();
  let raw: RawModel;
  try {
    const msg = type.decode(bytes);
    raw = type.toObject(msg, { longs: Number, defaults: false, arrays: true }) as RawModel;
  } catch (err) {
    throw new ModelError(
      'MODEL_ONNX_INVALID',
      `Expected an ONNX ModelProto but decoding failed: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  if (!raw.graph) {
    throw new ModelError('MODEL_ONNX_INVALID', 'Expected an ONNX ModelProto with a graph but received none');
  }
  const initializers = new Map<string, OnnxTensor>();
  for (const t of raw.graph.initializer ?? []) {
    const name = t.name ?? '';
    const dims = (t.dims ?? []).map(Number);
    initializers.set(name, { name, dims, dataType: t.dataType ?? 0, data: tensorData({ ...t, dims }, name) });
  }
  const metadata: Record<string, string> = {};
  for (const p of raw.metadataProps ?? []) if (p.key !== undefined) metadata[p.key] = p.value ?? '';
  const opTypes = [...new Set((raw.graph.node ?? []).map((n) => n.opType ?? ''))].sort();
  return {
    irVersion: Number(raw.irVersion ?? 0),
    opsets: (raw.opsetImport ?? []).map((o) => ({ domain: o.domain ?? '', version: Number(o.version ?? 0) })),
    producerName: raw.producerName ?? '',
    producerVersion: raw.producerVersion ?? '',
    inputs: (raw.graph.input ?? []).filter((i) => !initializers.has(i.name ?? '')).map(valueInfo),
    outputs: (raw.graph.output ?? []).map(valueInfo),
    initializers,
    metadata,
    opTypes,
  };
}
