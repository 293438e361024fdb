// Model.runBatch(): N windows in one libuv work item. Every window's outputs equal run()'s for
// that window (bit for bit: same engine, same arena, same kernels), a bad element rejects the
// whole call naming its index, and dispose() during a batch lets the batch finish.
// Small models only: this file also runs under qemu (scripts/test-arm.sh).
import { beforeAll, describe, expect, it } from 'vitest';
import type { AddonModule } from '../../agent/inference/addon-loader.js';
import { TINY_SPEC, tinyWindow, type TinyGgufSpec } from '../fixtures/engine/tiny-gguf.js';
import { NativeBackend } from '../../agent/inference/native-backend.js';
import { expectSameOutputs } from '../helpers/outputs.js';
import { runtimeHarness } from '../helpers/runtime-harness.js';
import { realAddon, rejected, writeModel } from './addon-helpers.js';

const SPECTRAL: TinyGgufSpec = {
  ...TINY_SPEC,
  windowLength: 64,
  channels: 1,
  sampleRateHz: 64,
  spectral: { bins: 16, bandLowHz: 4, bandHighHz: 24 },
  seed: 5,
};

let addon: AddonModule;

beforeAll(async () => {
  addon = await realAddon();
});

describe('Model.runBatch', () => {
  for (const [name, spec] of [
    ['int8 raw', TINY_SPEC],
    ['fp32 raw', { ...TINY_SPEC, int8: false, seed: 3 }],
    ['int8 spectral', SPECTRAL],
  ] as const) {
    it(`equals N run() calls (${name})`, async () => {
      const model = new addon.Model(writeModel(`batch-${name.replace(' ', '-')}.gguf`, spec));
      const xs = Array.from({ length: 7 }, (_, i) => tinyWindow(spec, 100 + i));
      const batch = await model.runBatch(xs);
      expect(batch).toHaveLength(xs.length);
      for (let i = 0; i < xs.length; i++) expectSameOutputs(batch[i]!, await model.run(xs[i]!));
      // distinct windows give distinct outputs: the batch is not one result repeated
      expect(Array.from(batch[0]!.embedding)).not.toEqual(Array.from(batch[1]!.embedding));
      model.dispose();
    });
  }

  it('an empty batch resolves to []; the inputs are copied (caller may reuse them)', async () => {
    const model = new addon.Model(writeModel('batch-copy.gguf', TINY_SPEC));
    expect(await model.runBatch([])).toEqual([]);
    const x = tinyWindow(TINY_SPEC, 7);
    const want = await model.run(x);
    const p = model.runBatch([x, x]);
    x.fill(0); // after the call, before the batch ran
    const got = await p;
    expectSameOutputs(got[0]!, want);
    expectSameOutputs(got[1]!, want);
    model.dispose();
  });

  it('a bad element rejects the whole batch with its code and index', async () => {
    const model = new addon.Model(writeModel('batch-bad.gguf', TINY_SPEC));
    const ok = tinyWindow(TINY_SPEC, 1);
    const len = ok.length;

    const shape = await rejected(model.runBatch([ok, ok, new Float32Array(len + 1)]));
    expect(shape).toMatchObject({ code: 'ENGINE_INPUT_SHAPE', index: 2 });
    expect(shape.message).toMatch(/batch input 2 of 3/);
    expect(shape.message).toContain(String(len));

    const nan = new Float32Array(ok);
    nan[3] = Number.NaN;
    const nonFinite = await rejected(model.runBatch([ok, nan]));
    expect(nonFinite).toMatchObject({ code: 'ENGINE_INPUT_NONFINITE', index: 1 });
    expect(nonFinite.message).toMatch(/batch input 1 of 2/);

    const type = await rejected(model.runBatch([new Float64Array(len) as unknown as Float32Array]));
    expect(type).toMatchObject({ code: 'ENGINE_INPUT_TYPE', index: 0 });
    expect(type).toBeInstanceOf(TypeError);
    expect(type.message).toMatch(/batch input 0 of 1.*Float64Array/);

    const notArray = await rejected(model.runBatch(ok as unknown as Float32Array[]));
    expect(notArray).toMatchObject({ code: 'ENGINE_INVALID_ARGUMENT' });
    expect(notArray.message).toMatch(/expected an Array of Float32Array/);

    const tooMany = await rejected(model.runBatch(new Array<Float32Array>(1025).fill(ok)));
    expect(tooMany).toMatchObject({ code: 'ENGINE_INVALID_ARGUMENT' });
    expect(tooMany.message).toMatch(/1025 inputs: expected at most 1024/);

    // the model is still usable after every rejection
    expect((await model.runBatch([ok])).length).toBe(1);
    model.dispose();
  });

  it('dispose() during a batch: the batch finishes, later calls reject ENGINE_DISPOSED', async () => {
    const model = new addon.Model(writeModel('batch-dispose.gguf', TINY_SPEC));
    const xs = Array.from({ length: 16 }, (_, i) => tinyWindow(TINY_SPEC, 40 + i));
    const want = xs.map((x) => model.runSync(x));
    const inFlight = model.runBatch(xs);
    const queued = model.run(xs[0]!); // behind the batch in the model's FIFO
    model.dispose();
    const got = await inFlight;
    expect(got).toHaveLength(xs.length);
    for (let i = 0; i < xs.length; i++) expectSameOutputs(got[i]!, want[i]!);
    expectSameOutputs(await queued, want[0]!);
    expect(await rejected(model.runBatch(xs))).toMatchObject({ code: 'ENGINE_DISPOSED' });
  });

  it('runs and batches on one model keep FIFO order', async () => {
    const model = new addon.Model(writeModel('batch-order.gguf', TINY_SPEC));
    const xs = Array.from({ length: 4 }, (_, i) => tinyWindow(TINY_SPEC, 60 + i));
    const order: string[] = [];
    await Promise.all([
      model.run(xs[0]!).then(() => order.push('run0')),
      model.runBatch(xs).then(() => order.push('batch')),
      model.run(xs[1]!).then(() => order.push('run1')),
    ]);
    expect(order).toEqual(['run0', 'batch', 'run1']);
    model.dispose();
  });

  it('through the pipeline: queued windows of a model go out as batches, each result bit-equal to runSync', async () => {
    const model = new addon.Model(writeModel('batch-runtime.gguf', TINY_SPEC));
    const backend = new NativeBackend(model);
    const { rt, results, errors, push } = runtimeHarness(backend, { batchMax: 8 });
    const xs = Array.from({ length: 12 }, (_, i) => tinyWindow(TINY_SPEC, 200 + i));
    xs.forEach((x, i) => push(i, x));
    await rt.queue.drain();
    expect(rt.health().batches).toMatchObject({
      max: 8,
      calls: 3,
      windows: 12,
      maxSize: 8,
      sizes: { 1: 1, 8: 1, 3: 1 },
    });
    expect(errors.size).toBe(0);
    for (let i = 0; i < xs.length; i++) expectSameOutputs(results.get(i)!, model.runSync(xs[i]!));
    await backend.dispose();
  });
});
