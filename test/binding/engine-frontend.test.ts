// The engine's spectral front end (C++, double) against the numpy twin of the training code
// (test/fixtures/frontend/spectral.json, written by scripts/train/frontend.py --fixture).
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AddonModule } from '../../agent/inference/addon-loader.js';
import { buildTinyGguf, TINY_SPEC } from '../fixtures/engine/tiny-gguf.js';
import { realAddon } from './addon-helpers.js';

interface FixtureCase {
  windowLength: number;
  channels: number;
  sampleRateHz: number;
  frontend: { kind: 'spectral'; bins: number; bandLowHz: number; bandHighHz: number };
  x: number[];
  features: number[];
}

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/frontend/spectral.json', import.meta.url), 'utf8'),
) as {
  cases: FixtureCase[];
};

let addon: AddonModule;
beforeAll(async () => {
  addon = await realAddon();
});

describe('spectral front end vs numpy', () => {
  it.each(fixture.cases.map((c, i) => [i, c] as const))('case %i matches within 1e-5', (_, c) => {
    const { bins, bandLowHz, bandHighHz } = c.frontend;
    const model = new addon.Model(
      buildTinyGguf({
        ...TINY_SPEC,
        windowLength: c.windowLength,
        channels: c.channels,
        sampleRateHz: c.sampleRateHz,
        spectral: { bins, bandLowHz, bandHighHz },
        patch: bins / 8,
      }),
    );
    const f = model.features(Float32Array.from(c.x));
    expect(f.length).toBe(c.features.length);
    let worst = 0;
    for (let j = 0; j < f.length; j++) worst = Math.max(worst, Math.abs(f[j] - c.features[j]));
    expect(worst).toBeLessThanOrEqual(1e-5);
  });
});
