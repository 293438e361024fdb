import { describe, expect, it } from 'vitest';
import { decodePayload } from '../../agent/ingest/codecs/index.js';
import { startSimulator, type SimTimers } from '../../agent/sim/simulator-publisher.js';
import { createVibrationSource } from '../../agent/sim/vibration-source.js';
import '../helpers/quiet-logs.js';

function fakeTime(startMs = 1_763_856_000_000) {
  let now = startMs;
  let fn: (() => void) | undefined;
  const timers: SimTimers = {
    setInterval: (f) => {
      fn = f;
      return 1;
    },
    clearInterval: () => {
      fn = undefined;
    },
  };
  return {
    clock: () => now,
    timers,
    advance(ms: number) {
      now += ms;
      fn?.();
    },
    get armed() {
      return fn !== undefined;
    },
  };
}

const opts = { maxPayloadBytes: 10_000_000, maxSamples: 1_000_000 };

describe('simulator publisher', () => {
  it('publishes complete blocks on the sample grid, per asset topic, continuous with the source', () => {
    const time = fakeTime();
    const sent: { topic: string; payload: Uint8Array }[] = [];
    const sim = startSimulator({
      assets: [
        { id: 'fan-1', fault: 'healthy' },
        { id: 'pump-2', fault: 'bearing_outer', severity: 0.8 },
      ],
      publish: (topic, payload) => void sent.push({ topic, payload }),
      sampleRateHz: 8192,
      blockMs: 250,
      seed: 3,
      clock: time.clock,
      timers: time.timers,
    });
    time.advance(200);
    expect(sent.length).toBe(0); // the first block is not complete yet
    time.advance(60);
    expect(sent.map((s) => s.topic)).toEqual(['sensors/fan-1/vibration', 'sensors/pump-2/vibration']);
    time.advance(1000); // a late timer: every block that fell due, t0 on the grid
    const fan = sent.filter((s) => s.topic === 'sensors/fan-1/vibration');
    expect(fan.length).toBe(5);
    const decoded = fan.map((s) => [...decodePayload('json-block', s.payload, opts).channels.values()][0]);
    decoded.forEach((ch, k) => {
      expect(ch.rateHz).toBe(8192);
      expect(ch.values.length).toBe(2048);
      expect(ch.t0Ms).toBeCloseTo(time.clock() - 1260 + (k * 2048 * 1000) / 8192, 6);
    });
    // the published stream is the asset's source, block after block
    const seed = sim.assets.find((a) => a.id === 'fan-1')!.seed;
    const ref = createVibrationSource({ seed, fault: 'healthy', sampleRateHz: 8192 }).next(5 * 2048);
    const got = decoded.flatMap((ch) => [...ch.values]);
    for (let i = 0; i < ref.length; i += 97) expect(got[i]).toBeCloseTo(ref[i], 5);
    expect(sim.stats()).toMatchObject({ blocks: 5, messages: 10, samples: 5 * 2 * 2048, publishErrors: 0 });
  });

  it('stops after durationSec and resolves done; a throwing publish is counted, not fatal', async () => {
    const time = fakeTime();
    let calls = 0;
    const sim = startSimulator({
      assets: [{ id: 'a', fault: 'imbalance', severity: 0.5 }],
      publish: () => {
        calls++;
        if (calls === 2) throw new Error('broker gone');
      },
      sampleRateHz: 1000,
      blockMs: 100,
      durationSec: 1,
      slowChannels: true,
      clock: time.clock,
      timers: time.timers,
    });
    for (let i = 0; i < 30; i++) time.advance(100);
    await sim.done;
    expect(time.armed).toBe(false);
    const st = sim.stats();
    expect(st.blocks).toBe(10);
    expect(st.samples).toBe(1000);
    expect(st.messages).toBe(10 + 1); // 10 blocks + one slow-channel reading (1 s simulated)
    expect(st.publishErrors).toBe(1);
    await sim.stop();
  });

  it('asset seeds depend on the run seed and the id only', () => {
    const mk = (assets: { id: string; fault: string }[], seed: number) =>
      startSimulator({ assets, publish: () => {}, seed, ...fakeTime() }).assets.map((a) => a.seed);
    const [a1] = mk([{ id: 'a', fault: 'healthy' }], 1);
    const [, a2] = mk(
      [
        { id: 'z', fault: 'healthy' },
        { id: 'a', fault: 'healthy' },
      ],
      1,
    );
    const [a3] = mk([{ id: 'a', fault: 'healthy' }], 2);
    expect(a2).toBe(a1);
    expect(a3).not.toBe(a1);
  });

  it('sparkplug: births first, then DDATA on the device topic', () => {
    const time = fakeTime();
    const topics: string[] = [];
    startSimulator({
      assets: [{ id: 'm1', fault: 'looseness' }],
      publish: (t) => void topics.push(t),
      format: 'sparkplug',
      sampleRateHz: 500,
      blockMs: 100,
      ...time,
    });
    time.advance(100);
    expect(topics).toEqual([
      'spBv1.0/vigil/NBIRTH/sim',
      'spBv1.0/vigil/DBIRTH/sim/m1',
      'spBv1.0/vigil/DDATA/sim/m1',
    ]);
  });

  it('rejects bad options naming the field', () => {
    const base = { publish: () => {}, ...fakeTime() };
    expect(() => startSimulator({ ...base, assets: [{ id: 'a', fault: 'rust' }] })).toThrow(/fault of/);
    expect(() => startSimulator({ ...base, assets: [] })).toThrow(/at least one asset/);
    expect(() =>
      startSimulator({
        ...base,
        assets: [
          { id: 'a', fault: 'healthy' },
          { id: 'a', fault: 'healthy' },
        ],
      }),
    ).toThrow(/unique/);
    expect(() =>
      startSimulator({
        ...base,
        assets: [{ id: 'a', fault: 'healthy' }],
        format: 'text',
        sampleRateHz: 8192,
      }),
    ).toThrow(/sampleRateHz <= 1000 for format text/);
    expect(() => startSimulator({ ...base, assets: [{ id: 'a', fault: 'healthy' }], blockMs: 0 })).toThrow(
      /blockMs/,
    );
    expect(() => startSimulator({ assets: [{ id: 'a', fault: 'healthy' }] })).toThrow(
      /brokerUrl, client or publish/,
    );
  });
});
