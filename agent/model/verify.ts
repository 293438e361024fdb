// `vigil model verify`: a bundle's self-test. Checks the manifest, the size and SHA-256 of every
// file, that the GGUF matches the manifest, and the golden vectors on every backend available
// here (native engine against the GGUF set, onnxruntime against the ONNX set).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Backend } from '../inference/backend.js';
import { checkDigests, loadBundle, openBundleBackend, type Bundle } from './bundle.js';
import { compareGolden, type Golden, type GoldenMismatch } from './golden.js';
import type { HeadOutputs } from './outputs-compare.js';
import { readTstGguf } from './tst-gguf.js';

export interface VerifyCheck {
  name: string;
  status: 'pass' | 'fail' | 'skip';
  detail: string;
}

export interface VerifyReport {
  bundle: string;
  ok: boolean;
  checks: VerifyCheck[];
}

export interface VerifyOptions {
  /** Backends to try (default both); one that cannot be opened here is skipped, not failed. */
  backends?: ('native' | 'onnx')[];
  /** Fail (rather than skip) when a backend cannot be opened. */
  requireAll?: boolean;
  open?: (b: Bundle, kind: 'native' | 'onnx') => Promise<Backend>;
}

function fmtMismatch(m: GoldenMismatch): string {
  return m.index < 0
    ? `window ${m.window} ${m.head}: ${m.got} values, expected ${m.want}`
    : `window ${m.window} ${m.head}[${m.index}] = ${m.got}, expected ${m.want}`;
}

export async function verifyBundle(dir: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const checks: VerifyCheck[] = [];
  const report = (): VerifyReport => ({ bundle: dir, ok: checks.every((c) => c.status !== 'fail'), checks });
  let b: Bundle;
  try {
    b = loadBundle(dir);
    checks.push({
      name: 'manifest',
      status: 'pass',
      detail: `${b.manifest.name} ${b.manifest.version} (schema ${b.manifest.schema})`,
    });
  } catch (err) {
    checks.push({ name: 'manifest', status: 'fail', detail: (err as Error).message });
    return report();
  }
  for (const d of checkDigests(b)) {
    checks.push({
      name: `digest ${d.path}`,
      status: d.ok ? 'pass' : 'fail',
      detail: d.ok ? 'size and sha256 match' : d.problem!,
    });
  }
  if (checks.some((c) => c.status === 'fail')) return report();

  const m = b.manifest;
  if (m.files.gguf) {
    try {
      const g = readTstGguf(readFileSync(path.join(dir, m.files.gguf.path)));
      const problems: string[] = [];
      if (g.h.windowLength !== m.input.windowLength)
        problems.push(`window_length ${g.h.windowLength} vs manifest ${m.input.windowLength}`);
      if (g.h.channelNames.join(',') !== m.input.channels.join(','))
        problems.push(`channel_names [${g.h.channelNames}] vs manifest [${m.input.channels}]`);
      if (g.h.labels.join(',') !== m.labels.join(','))
        problems.push(`labels [${g.h.labels}] vs manifest [${m.labels}]`);
      if (g.h.frontend !== m.input.frontend.kind)
        problems.push(`frontend ${g.h.frontend} vs manifest ${m.input.frontend.kind}`);
      if (g.h.sampleRateHz !== Math.fround(m.input.sampleRateHz))
        problems.push(`sample_rate ${g.h.sampleRateHz} vs manifest ${m.input.sampleRateHz}`);
      checks.push(
        problems.length === 0
          ? {
              name: 'gguf',
              status: 'pass',
              detail: `vigil-tst ${g.quantization}, ${g.file.tensors.length} tensors, matches the manifest`,
            }
          : {
              name: 'gguf',
              status: 'fail',
              detail: `GGUF metadata differs from the manifest: ${problems.join('; ')}`,
            },
      );
    } catch (err) {
      checks.push({ name: 'gguf', status: 'fail', detail: (err as Error).message });
    }
  }

  if (!m.files.golden) {
    checks.push({ name: 'golden', status: 'skip', detail: 'the bundle has no golden.json' });
    return report();
  }
  const golden = JSON.parse(readFileSync(path.join(dir, m.files.golden.path), 'utf8')) as Golden;
  if (
    golden.windowLength !== m.input.windowLength ||
    golden.channels !== m.input.channels.length ||
    golden.inputs.some((x) => x.length !== golden.windowLength * golden.channels)
  ) {
    checks.push({
      name: 'golden',
      status: 'fail',
      detail: `golden inputs do not have the manifest's shape ${m.input.windowLength} x ${m.input.channels.length}`,
    });
    return report();
  }
  const open =
    opts.open ??
    (async (bb: Bundle, kind: 'native' | 'onnx') => (await openBundleBackend(bb, { prefer: kind })).backend);
  for (const kind of opts.backends ?? (['native', 'onnx'] as const)) {
    const set = kind === 'native' ? golden.expected.gguf : golden.expected.onnx;
    const tol = kind === 'native' ? golden.tolerance.gguf : golden.tolerance.onnx;
    const name = `golden ${kind}`;
    if (!set || (kind === 'native' && !m.files.gguf) || (kind === 'onnx' && !m.files.onnx)) {
      checks.push({
        name,
        status: 'skip',
        detail: `no ${kind === 'native' ? 'GGUF' : 'ONNX'} golden set or model file`,
      });
      continue;
    }
    let backend: Backend;
    try {
      backend = await open(b, kind);
    } catch (err) {
      checks.push({
        name,
        status: opts.requireAll ? 'fail' : 'skip',
        detail: `backend unavailable here: ${(err as Error).message}`,
      });
      continue;
    }
    try {
      const outs: HeadOutputs[] = [];
      for (const x of golden.inputs) outs.push(await backend.run(Float32Array.from(x)));
      const r = compareGolden(outs, set, tol);
      checks.push(
        r.mismatches.length === 0
          ? {
              name,
              status: 'pass',
              detail: `${golden.inputs.length} windows on ${backend.kind} (${backend.detail}), max |diff| ${r.maxAbsDiff.toExponential(2)} (atol ${tol.atol}, rtol ${tol.rtol})`,
            }
          : {
              name,
              status: 'fail',
              detail: `${r.mismatches.length} values out of tolerance (atol ${tol.atol}, rtol ${tol.rtol}) on ${backend.kind} (${backend.detail}): ${r.mismatches.slice(0, 3).map(fmtMismatch).join('; ')}`,
            },
      );
    } catch (err) {
      checks.push({ name, status: 'fail', detail: `run failed: ${(err as Error).message}` });
    } finally {
      await backend.dispose();
    }
  }
  return report();
}
