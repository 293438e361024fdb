// Compare onnxruntime-node's output for an exported vigil-tst ONNX with the torch reference
// written by vigil_tst.write_reference (<model>.ref.json + <model>.ref.f32).
// Usage: node scripts/train/check_onnx.mjs <model.onnx> [...] [--ref <prefix>]  (exit 1 if max abs
// diff > 1e-4). The reference is <model.onnx>.ref.* unless --ref names another prefix (the training
// script writes DATA/model.onnx.ref.*).
import { readFileSync } from 'node:fs';

// onnxruntime-node's telemetry off before it loads (agent/inference/ort-telemetry.ts says why).
process.env.ORT_DISABLE_TELEMETRY ??= '1';
const { default: ort } = await import('onnxruntime-node');

const TOL = 1e-4;
let failed = false;
const argv = process.argv.slice(2);
const refAt = argv.indexOf('--ref');
const refPrefix = refAt >= 0 ? argv.splice(refAt, 2)[1] : undefined;
for (const path of argv) {
  const ref = refPrefix ?? path;
  const desc = JSON.parse(readFileSync(`${ref}.ref.json`, 'utf8'));
  const buf = readFileSync(`${ref}.ref.f32`);
  const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const get = (name) => {
    const { shape, offset } = desc[name];
    const n = shape.reduce((a, b) => a * b, 1);
    return { shape, data: all.subarray(offset, offset + n) };
  };
  const session = await ort.InferenceSession.create(path);
  const x = get('x');
  const out = await session.run({ x: new ort.Tensor('float32', x.data, x.shape) });
  const names = ['probs', 'embedding', 'patch_error', 'channel_error'];
  if (session.outputNames.join() !== names.join()) {
    console.error(`${path}: outputs ${session.outputNames.join()} != ${names.join()}`);
    failed = true;
  }
  for (const name of names) {
    const ref = get(name);
    const got = out[name];
    if (got.dims.join() !== ref.shape.join()) {
      console.error(`${path}: ${name} shape ${got.dims} != ${ref.shape}`);
      failed = true;
      continue;
    }
    let max = 0;
    for (let i = 0; i < ref.data.length; i++) max = Math.max(max, Math.abs(got.data[i] - ref.data[i]));
    console.log(`${path}: ${name} [${ref.shape}] max abs diff ${max.toExponential(2)}`);
    if (!(max <= TOL)) failed = true;
  }
}
process.exit(failed ? 1 : 0);
