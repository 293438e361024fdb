// The onnxruntime int8 peer: a TypeScript twin of onnxruntime.quantization.quantize_dynamic
// (Python ORT is not available on the build machines). Every MatMul whose B input is a constant
// weight (an initializer, or Transpose(perm [1, 0]) of one, which ORT's pre-processing folds)
// becomes what quantize_dynamic emits:
//
//   A -> DynamicQuantizeLinear -> (A_q uint8, A_scale, A_zp)
//   MatMulInteger(A_q, W_q int8, A_zp, W_zp) -> int32 -> Cast(float) -> Mul(A_scale * W_scale)
//
// Weights are symmetric int8 in [-127, 127] with zero point 0, per tensor (ORT's default) or
// per output column (per_channel=True), rounded half to even like numpy. Everything else
// (LayerNorm, QK^T, softmax, PV, GELU, bias adds) stays fp32, exactly the peer the engine brief
// measured. At session creation ORT fuses the pattern into DynamicQuantizeMatMul.
import { ModelError } from '../model/model-error.js';
import { modelProtoType, OnnxAttributeType, OnnxDataType } from '../model/onnx-proto.js';
import { readOnnx } from '../model/onnx-reader.js';

export interface DynamicQuantOptions {
  /** One scale per output column instead of one per weight tensor (ORT: per_channel=True). */
  perChannel?: boolean;
}

export interface DynamicQuantResult {
  bytes: Uint8Array;
  /** The weight initializers that were quantized, in graph order. */
  quantizedWeights: string[];
  /** MatMuls left in fp32 (B not constant: attention's QK^T and PV). */
  fp32MatMuls: number;
}

interface RawAttr {
  name?: string;
  type?: number;
  i?: number;
  ints?: number[];
  [k: string]: unknown;
}
interface RawNode {
  input?: string[];
  output?: string[];
  name?: string;
  opType?: string;
  domain?: string;
  attribute?: RawAttr[];
}
interface RawTensor {
  name?: string;
  dims?: number[];
  dataType?: number;
  [k: string]: unknown;
}
interface RawModel {
  graph?: { node?: RawNode[]; initializer?: RawTensor[]; output?: { name?: string }[]; [k: string]: unknown };
  [k: string]: unknown;
}

const Q_MAX = 127;

/** numpy's np.round: half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Symmetric int8 quantization of a MatMul weight W[K][N] (row-major): scale = max|w| / 127 over
 * the whole tensor, or over each column n when perChannel. A zero tensor/column gets scale 1.
 */
export function quantizeMatMulWeight(
  w: Float32Array,
  k: number,
  n: number,
  perChannel: boolean,
): { q: Int8Array; scale: Float32Array } {
  if (w.length !== k * n)
    throw new RangeError(
      `quantizeMatMulWeight: expected ${k}x${n} = ${k * n} values but received ${w.length}`,
    );
  const groups = perChannel ? n : 1;
  const absMax = new Float64Array(groups);
  for (let r = 0; r < k; r++) {
    for (let c = 0; c < n; c++) {
      const g = perChannel ? c : 0;
      absMax[g] = Math.max(absMax[g], Math.abs(w[r * n + c]));
    }
  }
  const scale = Float32Array.from(absMax, (m) => (m > 0 ? Math.fround(m / Q_MAX) : 1));
  const q = new Int8Array(k * n);
  for (let r = 0; r < k; r++) {
    for (let c = 0; c < n; c++) {
      const v = roundHalfEven(w[r * n + c] / scale[perChannel ? c : 0]);
      q[r * n + c] = Math.max(-Q_MAX, Math.min(Q_MAX, v));
    }
  }
  return { q, scale };
}

function permOf(node: RawNode): number[] | undefined {
  return node.attribute?.find((a) => a.name === 'perm')?.ints?.map(Number);
}

function bytesOf(a: Int8Array | Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Rewrite an fp32 ONNX model the way quantize_dynamic does (see the file comment). */
export function quantizeDynamicOnnx(
  onnxBytes: Uint8Array,
  opts: DynamicQuantOptions = {},
): DynamicQuantResult {
  const perChannel = opts.perChannel ?? false;
  const parsed = readOnnx(onnxBytes); // float initializer data, decoded once
  const type = modelProtoType();
  const raw = type.toObject(type.decode(onnxBytes), { longs: Number, arrays: true }) as RawModel;
  const graph = raw.graph;
  if (!graph)
    throw new ModelError('MODEL_ONNX_INVALID', 'Expected an ONNX ModelProto with a graph but received none');
  const nodes = graph.node ?? [];
  const inits = graph.initializer ?? [];

  // Constant 2-D weights reachable as a MatMul B input: name -> [K, N] row-major data.
  const weightOf = new Map<string, { source: string; k: number; n: number; data: () => Float32Array }>();
  for (const t of parsed.initializers.values()) {
    if (t.data && t.dims.length === 2) {
      const [k, n] = t.dims;
      weightOf.set(t.name, { source: t.name, k, n, data: () => t.data! });
    }
  }
  for (const nd of nodes) {
    if (nd.opType !== 'Transpose' || (nd.domain ?? '') !== '') continue;
    const src = parsed.initializers.get(nd.input?.[0] ?? '');
    const perm = permOf(nd);
    if (!src?.data || src.dims.length !== 2 || (perm && !(perm[0] === 1 && perm[1] === 0))) continue;
    const [rows, cols] = src.dims;
    const srcData = src.data;
    weightOf.set(nd.output![0], {
      source: src.name,
      k: cols,
      n: rows,
      data: () => {
        const out = new Float32Array(rows * cols);
        for (let r = 0; r < rows; r++)
          for (let c = 0; c < cols; c++) out[c * rows + r] = srcData[r * cols + c];
        return out;
      },
    });
  }

  const newInits: RawTensor[] = [];
  const out: RawNode[] = [];
  const quantizedActivation = new Map<string, [string, string, string]>();
  const quantizedWeight = new Map<string, [string, string, string]>();
  const quantizedWeights: string[] = [];
  let fp32MatMuls = 0;
  for (const nd of nodes) {
    const w =
      nd.opType === 'MatMul' && (nd.domain ?? '') === '' ? weightOf.get(nd.input?.[1] ?? '') : undefined;
    if (!w) {
      if (nd.opType === 'MatMul') fp32MatMuls++;
      out.push(nd);
      continue;
    }
    const a = nd.input![0];
    const y = nd.output![0];
    let wq = quantizedWeight.get(w.source + (w.source === nd.input![1] ? '' : '^T'));
    if (!wq) {
      const base = w.source === nd.input![1] ? w.source : `${w.source}_transposed`;
      const { q, scale } = quantizeMatMulWeight(w.data(), w.k, w.n, perChannel);
      const vecDims = perChannel ? [w.n] : [];
      newInits.push(
        { name: `${base}_quantized`, dims: [w.k, w.n], dataType: OnnxDataType.INT8, rawData: bytesOf(q) },
        { name: `${base}_scale`, dims: vecDims, dataType: OnnxDataType.FLOAT, rawData: bytesOf(scale) },
        {
          name: `${base}_zero_point`,
          dims: vecDims,
          dataType: OnnxDataType.INT8,
          rawData: new Uint8Array(perChannel ? w.n : 1),
        },
      );
      wq = [`${base}_quantized`, `${base}_scale`, `${base}_zero_point`];
      quantizedWeight.set(w.source + (w.source === nd.input![1] ? '' : '^T'), wq);
      quantizedWeights.push(w.source);
    }
    let aq = quantizedActivation.get(a);
    if (!aq) {
      aq = [`${a}_quantized`, `${a}_scale`, `${a}_zero_point`];
      out.push({ opType: 'DynamicQuantizeLinear', name: `${a}_QuantizeLinear`, input: [a], output: aq });
      quantizedActivation.set(a, aq);
    }
    const base = nd.name || y;
    out.push(
      {
        opType: 'MatMulInteger',
        name: `${base}_quant`,
        input: [aq[0], wq[0], aq[2], wq[2]],
        output: [`${y}_output_quantized`],
      },
      {
        opType: 'Cast',
        name: `${base}_output_quantized_cast`,
        input: [`${y}_output_quantized`],
        output: [`${y}_output_quantized_cast_output`],
        attribute: [{ name: 'to', type: OnnxAttributeType.INT, i: OnnxDataType.FLOAT }],
      },
      {
        opType: 'Mul',
        name: `${base}_scales_mul`,
        input: [aq[1], wq[1]],
        output: [`${y}_scales_mul_output`],
      },
      {
        opType: 'Mul',
        name: `${base}_output_scale_mul`,
        input: [`${y}_output_quantized_cast_output`, `${y}_scales_mul_output`],
        output: [y],
      },
    );
  }

  // Drop what only fed the quantized MatMuls: the weight Transposes, then unused initializers.
  const used = (list: RawNode[]): Set<string> => {
    const s = new Set<string>((graph.output ?? []).map((o) => o.name ?? ''));
    for (const nd of list) for (const i of nd.input ?? []) s.add(i);
    return s;
  };
  let live = used(out);
  const kept = out.filter(
    (nd) => !(nd.opType === 'Transpose' && weightOf.has(nd.output?.[0] ?? '') && !live.has(nd.output![0])),
  );
  live = used(kept);
  graph.node = kept;
  graph.initializer = [...inits.filter((t) => live.has(t.name ?? '')), ...newInits];
  const bytes = type.encode(type.fromObject(raw)).finish();
  return { bytes, quantizedWeights, fp32MatMuls };
}
