// The tensors of a vigil-tst model (docs/model-format.md §3-§4): the expected ONNX initializer
// set for given hyperparameters, the check that refuses a graph that differs, and the fp32
// weights keyed by tensor name.
import { ModelError } from './model-error.js';
import type { OnnxModel } from './onnx-reader.js';
import { tstDims, type TstHyperparameters } from './tst-hyperparameters.js';

export type TensorRole = 'linear' | 'vector' | 'pos';

export interface TensorSpec {
  name: string;
  /** ONNX / PyTorch shape, slowest-varying first ([out, in] for a linear weight). */
  shape: number[];
  role: TensorRole;
}

/** Linear layers in graph order, with [out, in]. `encoder` ones are quantized by q8_static. */
export interface LinearSpec {
  name: string;
  out: number;
  in: number;
  encoder: boolean;
}

export function linearLayers(h: TstHyperparameters): LinearSpec[] {
  const d = tstDims(h);
  const list: LinearSpec[] = [{ name: 'patch_embd', out: d.d, in: d.P * d.Cf, encoder: true }];
  for (let i = 0; i < d.L; i++) {
    list.push(
      { name: `blk.${i}.attn_qkv`, out: 3 * d.d, in: d.d, encoder: true },
      { name: `blk.${i}.attn_output`, out: d.d, in: d.d, encoder: true },
      { name: `blk.${i}.ffn_up`, out: d.F, in: d.d, encoder: true },
      { name: `blk.${i}.ffn_down`, out: d.d, in: d.F, encoder: true },
    );
  }
  list.push({ name: 'cls', out: d.K, in: d.d, encoder: false });
  if (h.hasReconstruction) list.push({ name: 'recon', out: d.P * d.Cf, in: d.d, encoder: false });
  return list;
}

/** Every fp32 tensor of the model in GGUF order. */
export function expectedTensors(h: TstHyperparameters): TensorSpec[] {
  const d = tstDims(h);
  const linears = new Map(linearLayers(h).map((l) => [l.name, l]));
  const specs: TensorSpec[] = [];
  const linear = (name: string): void => {
    const l = linears.get(name)!;
    specs.push(
      { name: `${name}.weight`, shape: [l.out, l.in], role: 'linear' },
      { name: `${name}.bias`, shape: [l.out], role: 'vector' },
    );
  };
  const norm = (name: string): void => {
    specs.push(
      { name: `${name}.weight`, shape: [d.d], role: 'vector' },
      { name: `${name}.bias`, shape: [d.d], role: 'vector' },
    );
  };
  specs.push(
    { name: 'norm.mean', shape: [d.Cf], role: 'vector' },
    { name: 'norm.std', shape: [d.Cf], role: 'vector' },
  );
  linear('patch_embd');
  specs.push({ name: 'pos_embd', shape: [d.N, d.d], role: 'pos' });
  for (let i = 0; i < d.L; i++) {
    norm(`blk.${i}.attn_norm`);
    linear(`blk.${i}.attn_qkv`);
    linear(`blk.${i}.attn_output`);
    norm(`blk.${i}.ffn_norm`);
    linear(`blk.${i}.ffn_up`);
    linear(`blk.${i}.ffn_down`);
  }
  norm('output_norm');
  linear('cls');
  if (h.hasReconstruction) linear('recon');
  return specs;
}

// Names that belong to the vigil-tst parameter namespace: an initializer with such a name that
// is not expected is an extra tensor (other initializers are graph constants of the export).
const PARAM_NAME = /^(norm\.(mean|std)|pos_embd|patch_embd\.|blk\.\d+\.|output_norm\.|cls\.|recon\.)/;

/** Drop leading 1s (a batch-like axis) until the rank is `rank`; [1, 32] stays [1, 32] for rank 2. */
function stripLeadingOnes(shape: number[], rank: number): number[] {
  let i = 0;
  while (shape.length - i > rank && shape[i] === 1) i++;
  return shape.slice(i);
}

const fmt = (s: (number | string | null)[]): string =>
  `[${s.map((x) => (x === null ? '?' : String(x))).join(', ')}]`;

/**
 * Check the ONNX graph against §3 and return the fp32 tensors by name. Every difference
 * (missing / extra tensor, wrong shape, wrong input/output) goes into one MODEL_GRAPH_MISMATCH.
 */
export function mapOnnxTensors(model: OnnxModel, h: TstHyperparameters): Map<string, Float32Array> {
  const d = tstDims(h);
  const problems: string[] = [];
  const out = new Map<string, Float32Array>();
  const specs = expectedTensors(h);
  const expectedNames = new Set(specs.map((s) => s.name));
  for (const s of specs) {
    const t = model.initializers.get(s.name);
    if (!t) {
      problems.push(`missing tensor ${s.name}: expected shape ${fmt(s.shape)}`);
      continue;
    }
    // A leading batch-like 1 (e.g. pos_embd [1, N, d]) is accepted; everything else must match.
    const got = stripLeadingOnes(t.dims, s.shape.length);
    if (got.length !== s.shape.length || got.some((v, i) => v !== s.shape[i])) {
      problems.push(`shape mismatch for ${s.name}: expected ${fmt(s.shape)} but received ${fmt(t.dims)}`);
      continue;
    }
    if (!t.data) {
      problems.push(
        `wrong element type for ${s.name}: expected float (1) but received data_type ${t.dataType}`,
      );
      continue;
    }
    const bad = t.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      problems.push(`non-finite value in ${s.name} at index ${bad}: ${t.data[bad]}`);
      continue;
    }
    if (s.name === 'norm.std') {
      const z = t.data.findIndex((v) => !(v > 0));
      if (z >= 0) problems.push(`norm.std[${z}] must be > 0 but is ${t.data[z]}`);
    }
    out.set(s.name, t.data);
  }
  const extra = [...model.initializers.keys()].filter((n) => PARAM_NAME.test(n) && !expectedNames.has(n));
  for (const n of extra) {
    const why =
      n.startsWith('recon.') && !h.hasReconstruction
        ? ' (has_reconstruction is false)'
        : ` (the hyperparameters say ${d.L} blocks)`;
    problems.push(
      `extra tensor ${n} ${fmt(model.initializers.get(n)!.dims)}: not part of this vigil-tst model${n.startsWith('blk.') || n.startsWith('recon.') ? why : ''}`,
    );
  }
  if (problems.some((p) => p.startsWith('missing'))) {
    const anon = [...model.initializers.keys()].filter((n) => n.startsWith('onnx::'));
    if (anon.length > 0) {
      problems.push(
        `hint: ${anon.length} initializers have export-generated names (${anon.slice(0, 3).join(', ')}...): export with do_constant_folding=False or keep the parameter names`,
      );
    }
  }

  // Graph input and outputs (§3).
  const inputs = model.inputs;
  if (inputs.length !== 1) {
    problems.push(
      `graph inputs: expected exactly one input "x" but received ${inputs.length} (${inputs.map((i) => i.name).join(', ')})`,
    );
  } else {
    const x = inputs[0];
    const s = x.shape;
    if (x.elemType !== 1)
      problems.push(`input ${x.name}: expected float32 (1) but received elem_type ${x.elemType}`);
    if (
      s.length !== 3 ||
      (typeof s[1] === 'number' && s[1] !== d.Tf) ||
      (typeof s[2] === 'number' && s[2] !== d.Cf)
    ) {
      problems.push(`input ${x.name}: expected shape [batch, ${d.Tf}, ${d.Cf}] but received ${fmt(s)}`);
    }
  }
  const wantOut: [string, number][] = [
    ['probs', d.K],
    ['embedding', d.d],
  ];
  const names = model.outputs.map((o) => o.name);
  // Without the head, the training export still emits zero-valued error outputs: accept both.
  if (h.hasReconstruction || names.length === 4) wantOut.push(['patch_error', d.N], ['channel_error', d.Cf]);
  if (names.length !== wantOut.length || wantOut.some(([n], i) => names[i] !== n)) {
    problems.push(
      `graph outputs: expected [${wantOut.map(([n]) => n).join(', ')}] in this order but received [${names.join(', ')}]`,
    );
  } else {
    wantOut.forEach(([n, size], i) => {
      const s = model.outputs[i].shape;
      if (s.length !== 2 || (typeof s[1] === 'number' && s[1] !== size)) {
        problems.push(`output ${n}: expected shape [batch, ${size}] but received ${fmt(s)}`);
      }
    });
  }
  if (problems.length > 0) {
    throw new ModelError(
      'MODEL_GRAPH_MISMATCH',
      `The ONNX graph does not match vigil-tst (docs/model-format.md §3) for T'=${d.Tf}, C'=${d.Cf}, P=${d.P}, d=${d.d}, L=${d.L}, H=${d.H}, F=${d.F}, K=${d.K}:\n  - ${problems.join('\n  - ')}`,
    );
  }
  return out;
}
