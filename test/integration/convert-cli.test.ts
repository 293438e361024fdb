// `vigil model convert|inspect|verify|predict` through the compiled CLI (npm test builds dist/
// first; skipped when dist/ is missing): exit codes 0/1/2 and the --json shapes.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWindows } from '../../agent/model/window-file.js';
import { buildTinyOnnx, rng } from '../fixtures/model/tiny-onnx.js';

const CLI = path.resolve('dist/agent/cli/main.js');
const dir = mkdtempSync(path.join(tmpdir(), 'vigil-model-cli-'));
const bundle = path.join(dir, 'bundle');

function vigil(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, VIGIL_LOG_LEVEL: 'error' },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  const r = rng(21);
  const windows = Array.from({ length: 80 }, () =>
    Float32Array.from({ length: 48 }, (_, i) => Math.sin(i * (0.1 + r())) + 0.2 * r()),
  );
  const enc = encodeWindows(windows, { windowLength: 16, channels: 3, channelNames: ['ax', 'ay', 'az'] });
  writeFileSync(path.join(dir, 'model.onnx'), buildTinyOnnx());
  writeFileSync(path.join(dir, 'calib.f32'), enc.data);
  writeFileSync(path.join(dir, 'calib.json'), enc.descriptor);
  writeFileSync(
    path.join(dir, 'in.jsonl'),
    windows
      .slice(0, 5)
      .map((w) => JSON.stringify({ window: Array.from(w), label: 'healthy' }))
      .join('\n') + '\n',
  );
  const header = 'label,' + Array.from({ length: 48 }, (_, i) => `v${i}`).join(',');
  writeFileSync(
    path.join(dir, 'in.csv'),
    [header, ...windows.slice(0, 2).map((w) => 'healthy,' + Array.from(w).join(','))].join('\n') + '\n',
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!existsSync(CLI))('vigil model (compiled CLI)', () => {
  it('convert --json reports the figures and writes the bundle', () => {
    const r = vigil(
      'model',
      'convert',
      '--onnx',
      path.join(dir, 'model.onnx'),
      '--calib',
      path.join(dir, 'calib.json'),
      '--out',
      bundle,
      '--hop',
      '8',
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ accepted: true, figures: { calibrationWindows: 60, heldoutWindows: 20 } });
    expect(j.figures.int8VsFp32Onnx.top1Agreement).toBeGreaterThanOrEqual(0.995);
  });

  it('inspect --json gives architecture, hyperparameters, input spec and digests', () => {
    const r = vigil('model', 'inspect', bundle, '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({
      name: 'tiny',
      architecture: 'vigil-tst',
      quantization: 'q8_static',
      sampleRateHz: 100,
      windowLength: 16,
      hop: 8,
      channels: ['ax', 'ay', 'az'],
      labels: ['healthy', 'imbalance', 'misalignment'],
      hyperparameters: {
        patchLength: 4,
        tokens: 4,
        embeddingLength: 16,
        blockCount: 2,
        headCount: 2,
        feedForwardLength: 32,
        classCount: 3,
      },
      digestsOk: true,
    });
    expect(j.files.gguf.sha256).toMatch(/^[0-9a-f]{64}$/);
    const g = vigil('model', 'inspect', path.join(bundle, 'model.gguf'), '--json');
    expect(JSON.parse(g.stdout)).toMatchObject({ quantization: 'q8_static', windowLength: 16 });
  });

  it('verify exits 0 on the bundle and 1 after a flipped byte', () => {
    expect(vigil('model', 'verify', bundle).code).toBe(0);
    const bad = path.join(dir, 'bad');
    cpSync(bundle, bad, { recursive: true });
    const f = path.join(bad, 'model.gguf');
    const b = readFileSync(f);
    b[100] ^= 0x80;
    writeFileSync(f, b);
    const r = vigil('model', 'verify', bad, '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).checks).toContainEqual(
      expect.objectContaining({ name: 'digest model.gguf', status: 'fail' }),
    );
  });

  it('predict prints one JSON line per window from .jsonl and .csv', () => {
    const r = vigil(
      'model',
      'predict',
      bundle,
      '--input',
      path.join(dir, 'in.jsonl'),
      '--json',
      '--backend',
      'onnx',
    );
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(5);
    expect(Object.keys(lines[0].probs)).toEqual(['healthy', 'imbalance', 'misalignment']);
    expect(lines[0]).toMatchObject({ window: 0, expected: 'healthy', backend: 'onnx' });
    expect(typeof lines[0].anomalyScore).toBe('number');
    const c = vigil(
      'model',
      'predict',
      bundle,
      '--input',
      path.join(dir, 'in.csv'),
      '--json',
      '--backend',
      'onnx',
    );
    expect(c.stdout.trim().split('\n')).toHaveLength(2);
  });

  it('bad flags exit 2 with a message naming the flag', () => {
    const r = vigil('model', 'predict', bundle, '--input', path.join(dir, 'in.jsonl'), '--backend', 'gpu');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--backend: expected one of auto, native, onnx but received "gpu"/);
    expect(
      vigil('model', 'convert', '--onnx', path.join(dir, 'nope.onnx'), '--calib', 'x', '--out', 'y').code,
    ).toBe(2);
    expect(
      vigil(
        'model',
        'convert',
        '--onnx',
        path.join(dir, 'model.onnx'),
        '--calib',
        path.join(dir, 'calib.json'),
        '--out',
        'y',
        '--min-agreement',
        '2',
      ).stderr,
    ).toMatch(/--min-agreement: expected a number in \[0, 1\] but received "2"/);
  });
});
