// Backend selection (agent/inference/open-backend.ts) with fake addons: auto prefers native,
// falls back to onnxruntime with the reason, refuses a GGUF whose shape contradicts the manifest,
// and names every reason when nothing can run.
import { describe, expect, it } from 'vitest';
import type { AddonModule } from '../../agent/inference/native-backend.js';
import { openBackend } from '../../agent/inference/open-backend.js';
import type { Manifest } from '../../agent/model/manifest-types.js';
import { writeTinyBundle } from '../helpers/tiny-bundle.js';

const onnxBundle = writeTinyBundle();
const withGguf: Manifest = {
  ...onnxBundle.manifest,
  files: { ...onnxBundle.manifest.files, gguf: { path: 'model.gguf', sha256: '0'.repeat(64), bytes: 1 } },
};

/** An addon whose Model answers probs [1, 0, 0]; with `batch`, also Model.runBatch (probs [x[0]]), its call sizes in batchSizes. */
function fakeAddon(opts: {
  inputShape?: [number, number];
  throws?: Error;
  batch?: boolean;
}): AddonModule & { batchSizes: number[] } {
  const batchSizes: number[] = [];
  const outputs = (probs: number[]) => ({
    probs: new Float32Array(probs),
    embedding: new Float32Array(0),
    patchError: new Float32Array(0),
    channelError: new Float32Array(0),
    inferenceUs: 1,
  });
  class Model {
    disposed = false;
    info = { isa: 'avx2', inputShape: opts.inputShape ?? [16, 3] };
    constructor() {
      if (opts.throws) throw opts.throws;
    }
    async run() {
      return outputs([1, 0, 0]);
    }
    dispose() {
      this.disposed = true;
    }
  }
  if (opts.batch)
    (Model.prototype as unknown as { runBatch: unknown }).runBatch = async (xs: Float32Array[]) => {
      batchSizes.push(xs.length);
      return xs.map((x) => outputs([x[0]!]));
    };
  return { Model, batchSizes } as unknown as AddonModule & { batchSizes: number[] };
}

const base = { modelId: 'tiny', bundleDir: onnxBundle.dir };

describe('openBackend', () => {
  it('auto: native when the bundle has a GGUF and the addon loads', async () => {
    const r = await openBackend({
      ...base,
      manifest: withGguf,
      config: { backend: 'auto', threads: 1 },
      addon: fakeAddon({}),
    });
    expect(r.backend.kind).toBe('native');
    expect(r.backend.detail).toBe('avx2');
    expect(r.reason).toMatch(/native engine/);
  });

  it('auto: onnxruntime, with the reason, when the addon is unavailable', async () => {
    const r = await openBackend({
      ...base,
      manifest: withGguf,
      config: { backend: 'auto', threads: 1 },
      addon: null,
      addonUnavailableReason: 'not built',
    });
    expect(r.backend.kind).toBe('onnx');
    expect(r.reason).toMatch(/native: the native addon is unavailable: not built/);
    await r.backend.dispose();
  });

  it('auto: onnxruntime when the GGUF fails to load; native forced: the load error itself', async () => {
    const bad = Object.assign(new Error('bad magic'), { code: 'MODEL_FORMAT' });
    const r = await openBackend({
      ...base,
      manifest: withGguf,
      config: { backend: 'auto', threads: 1 },
      addon: fakeAddon({ throws: bad }),
    });
    expect(r.backend.kind).toBe('onnx');
    await r.backend.dispose();
    await expect(
      openBackend({
        ...base,
        manifest: withGguf,
        config: { backend: 'native', threads: 1 },
        addon: fakeAddon({ throws: bad }),
      }),
    ).rejects.toMatchObject({
      code: 'MODEL_FORMAT',
    });
  });

  it('a GGUF whose input shape contradicts the manifest is refused', async () => {
    await expect(
      openBackend({
        ...base,
        manifest: withGguf,
        config: { backend: 'native', threads: 1 },
        addon: fakeAddon({ inputShape: [32, 3] }),
      }),
    ).rejects.toMatchObject({
      code: 'MODEL_MISMATCH',
      message: expect.stringMatching(/expected input shape \[16, 3\].*\[32, 3\]/),
    });
  });

  it('nothing can run: one BACKEND_UNAVAILABLE naming each reason', async () => {
    const noOnnx: Manifest = { ...withGguf, files: { gguf: withGguf.files.gguf } };
    await expect(
      openBackend({
        ...base,
        manifest: noOnnx,
        config: { backend: 'auto', threads: 1 },
        addon: null,
        addonUnavailableReason: 'SIGILL in probe',
      }),
    ).rejects.toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
      message: expect.stringMatching(/native: .*SIGILL in probe.*onnx: .*no ONNX file/),
    });
  });

  it('onnx: the ONNX backend runs a window and checks its length', async () => {
    const r = await openBackend({
      ...base,
      manifest: onnxBundle.manifest,
      config: { backend: 'onnx', threads: 1 },
      addon: null,
    });
    const out = await r.backend.run(new Float32Array(16 * 3).fill(0.1));
    expect(out.probs).toHaveLength(3);
    expect(out.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(out.channelError).toHaveLength(3);
    await expect(r.backend.run(new Float32Array(5))).rejects.toMatchObject({ code: 'ENGINE_SHAPE_MISMATCH' });
    await r.backend.dispose();
  });

  it('onnx runs in a worker thread by default, on the JS thread with onnxThread main', async () => {
    for (const [onnxThread, state] of [
      [undefined, 'ready'],
      ['worker', 'ready'],
      ['main', 'inline'],
    ] as const) {
      const r = await openBackend({
        ...base,
        manifest: onnxBundle.manifest,
        config: { backend: 'onnx', threads: 1 },
        addon: null,
        onnxThread,
      });
      expect(r.backend.counters?.().state).toBe(state);
      const [a, b] = await r.backend.runBatch!([
        new Float32Array(48).fill(0.1),
        new Float32Array(48).fill(0.2),
      ]);
      expect(a!.probs).toHaveLength(3);
      expect(Array.from(a!.probs)).not.toEqual(Array.from(b!.probs));
      await r.backend.dispose();
    }
  });

  it('native: runBatch when the addon has Model.runBatch, none when it does not', async () => {
    const plain = await openBackend({
      ...base,
      manifest: withGguf,
      config: { backend: 'native', threads: 1 },
      addon: fakeAddon({}),
    });
    expect(plain.backend.runBatch).toBeUndefined();
    const addon = fakeAddon({ batch: true });
    const batched = await openBackend({
      ...base,
      manifest: withGguf,
      config: { backend: 'native', threads: 1 },
      addon,
    });
    const out = await batched.backend.runBatch!([new Float32Array([0.5]), new Float32Array([0.25])]);
    expect(addon.batchSizes).toEqual([2]);
    expect(out.map((o) => o.probs[0])).toEqual([0.5, 0.25]);
    await plain.backend.dispose();
    await batched.backend.dispose();
  });
});
