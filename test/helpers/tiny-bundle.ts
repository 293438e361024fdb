// A small but real model bundle for pipeline tests that do not depend on what the model predicts
// (rejections, health, lifecycle, reconnects): the seeded tiny vigil-tst ONNX of
// test/fixtures/model/tiny-onnx.ts (frontend none, 16 samples x 3 channels at 100 Hz).
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Manifest } from '../../agent/model/manifest-types.js';
import type { TstHyperparameters } from '../../agent/model/tst-hyperparameters.js';
import { buildTinyGguf, TINY_SPEC } from '../fixtures/engine/tiny-gguf.js';
import { buildTinyOnnx, TINY_HP } from '../fixtures/model/tiny-onnx.js';
import { tempDir } from './temp-dir.js';

export function writeTinyBundle(
  dir = tempDir('vigil-tiny-bundle-'),
  over: { hp?: Partial<TstHyperparameters>; manifest?: Partial<Manifest> } = {},
): { dir: string; manifest: Manifest } {
  const hp: TstHyperparameters = { ...TINY_HP, ...over.hp };
  const onnx = buildTinyOnnx(hp);
  writeFileSync(path.join(dir, 'model.onnx'), onnx);
  const manifest: Manifest = {
    schema: 'vigil.bundle/1',
    name: hp.name,
    version: hp.version,
    architecture: 'vigil-tst',
    task: 'classification',
    labels: [...hp.labels],
    normalLabel: hp.labels[0],
    input: {
      sampleRateHz: hp.sampleRateHz,
      windowLength: hp.windowLength,
      channels: [...hp.channelNames],
      frontend: { kind: 'none' },
      hop: hp.windowLength,
    },
    files: {
      onnx: {
        path: 'model.onnx',
        sha256: createHash('sha256').update(onnx).digest('hex'),
        bytes: onnx.byteLength,
      },
    },
    created: new Date(0).toISOString(),
    ...over.manifest,
  };
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return { dir, manifest };
}

/** A bundle with only a tiny int8 GGUF (test/fixtures/engine/tiny-gguf.ts): 16 x 2 channels at 100 Hz. */
export function writeTinyGgufBundle(dir = tempDir('vigil-tiny-gguf-')): {
  dir: string;
  manifest: Manifest;
} {
  const gguf = buildTinyGguf(TINY_SPEC);
  writeFileSync(path.join(dir, 'model.gguf'), gguf);
  const manifest: Manifest = {
    schema: 'vigil.bundle/1',
    name: 'tiny-binding',
    version: '0.0.1',
    architecture: 'vigil-tst',
    task: 'classification',
    labels: Array.from({ length: TINY_SPEC.classes }, (_, k) => `class${k}`),
    normalLabel: 'class0',
    input: {
      sampleRateHz: TINY_SPEC.sampleRateHz,
      windowLength: TINY_SPEC.windowLength,
      channels: Array.from({ length: TINY_SPEC.channels }, (_, c) => `ch${c}`),
      frontend: { kind: 'none' },
      hop: TINY_SPEC.windowLength,
    },
    files: {
      gguf: {
        path: 'model.gguf',
        sha256: createHash('sha256').update(gguf).digest('hex'),
        bytes: gguf.byteLength,
      },
    },
    created: new Date(0).toISOString(),
  };
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return { dir, manifest };
}
