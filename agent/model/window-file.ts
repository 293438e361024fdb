// Window files: raw model input windows (windowLength x channels float32, time-major) used for
// calibration, held-out verification, golden vectors and `vigil model predict`.
//
// Formats:
//  - binary + descriptor: `<name>.json` = {count, windowLength, channels: number | string[],
//    labels?: (string | number)[], file?: string} and `<name>.f32` (or `.bin`, or `file`):
//    count * windowLength * channels float32 little-endian, window after window, time-major.
//    Either file may be named on the command line.
//  - `.jsonl`: one window per line, either a bare array (flat time-major, or [T][C] nested) or
//    {"window": <array>, "label"?: string | number}.
//  - `.csv`: with a header naming every model channel, a sample stream (one row per time step)
//    cut into consecutive windows of windowLength rows (a `label` column, if any, gives each
//    window the label of its first row); otherwise one window per row, T*C numbers time-major,
//    optionally after a first column named `label`.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname, join, basename } from 'node:path';
import { ModelError } from './model-error.js';

export interface WindowSet {
  windowLength: number;
  channels: number;
  channelNames?: string[];
  /** One Float32Array of windowLength * channels per window. */
  windows: Float32Array[];
  /** Per-window label (string or class index) when the file has them. */
  labels?: (string | number)[];
  source: string;
}

export interface WindowShape {
  windowLength: number;
  channels: number;
  channelNames?: string[];
}

function bad(path: string, message: string): ModelError {
  return new ModelError('MODEL_CALIB_INVALID', `${path}: ${message}`);
}

interface Descriptor {
  count: number;
  windowLength: number;
  channels: number | string[];
  labels?: (string | number)[];
  file?: string;
}

function readBinary(descPath: string, expect?: WindowShape): WindowSet {
  let desc: Descriptor;
  try {
    desc = JSON.parse(readFileSync(descPath, 'utf8')) as Descriptor;
  } catch (err) {
    throw bad(
      descPath,
      `expected a JSON window descriptor {count, windowLength, channels} but reading failed: ${(err as Error).message}`,
    );
  }
  const channels = Array.isArray(desc.channels) ? desc.channels.length : desc.channels;
  for (const [k, v] of [
    ['count', desc.count],
    ['windowLength', desc.windowLength],
    ['channels', channels],
  ] as const) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
      throw bad(descPath, `${k}: expected a positive integer but received ${JSON.stringify(v)}`);
  }
  const stem = descPath.slice(0, -extname(descPath).length);
  const candidates = desc.file ? [join(dirname(descPath), desc.file)] : [`${stem}.f32`, `${stem}.bin`];
  const dataPath = candidates.find((p) => existsSync(p));
  if (!dataPath)
    throw bad(descPath, `expected the window data at ${candidates.join(' or ')} but none exists`);
  const raw = readFileSync(dataPath);
  const per = desc.windowLength * channels;
  if (raw.length !== desc.count * per * 4) {
    throw bad(
      dataPath,
      `expected ${desc.count} x ${desc.windowLength} x ${channels} float32 = ${desc.count * per * 4} bytes but received ${raw.length}`,
    );
  }
  const all = new Float32Array(desc.count * per);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let i = 0; i < all.length; i++) all[i] = view.getFloat32(i * 4, true);
  const windows = Array.from({ length: desc.count }, (_, w) => all.slice(w * per, (w + 1) * per));
  if (desc.labels !== undefined && (!Array.isArray(desc.labels) || desc.labels.length !== desc.count)) {
    throw bad(
      descPath,
      `labels: expected ${desc.count} labels but received ${Array.isArray(desc.labels) ? desc.labels.length : typeof desc.labels}`,
    );
  }
  const set: WindowSet = {
    windowLength: desc.windowLength,
    channels,
    channelNames: Array.isArray(desc.channels) ? desc.channels : undefined,
    windows,
    labels: desc.labels,
    source: dataPath,
  };
  return checkShape(set, expect);
}

function checkShape(set: WindowSet, expect?: WindowShape): WindowSet {
  if (!expect) return set;
  if (set.windowLength !== expect.windowLength || set.channels !== expect.channels) {
    throw bad(
      set.source,
      `expected windows of ${expect.windowLength} x ${expect.channels} (the model's windowLength x channels) but received ${set.windowLength} x ${set.channels}`,
    );
  }
  if (
    set.channelNames &&
    expect.channelNames &&
    set.channelNames.join(',') !== expect.channelNames.join(',')
  ) {
    throw bad(
      set.source,
      `expected channels [${expect.channelNames.join(', ')}] but received [${set.channelNames.join(', ')}]`,
    );
  }
  return set;
}

function flatWindow(v: unknown, where: string, shape: WindowShape): Float32Array {
  const n = shape.windowLength * shape.channels;
  let flat: unknown[];
  if (Array.isArray(v) && v.length > 0 && Array.isArray(v[0])) {
    if (v.length !== shape.windowLength || v.some((r) => !Array.isArray(r) || r.length !== shape.channels)) {
      throw bad(where, `expected a [${shape.windowLength}][${shape.channels}] nested array`);
    }
    flat = (v as unknown[][]).flat();
  } else if (Array.isArray(v)) {
    flat = v;
  } else {
    throw bad(where, `expected an array of ${n} numbers but received ${typeof v}`);
  }
  if (flat.length !== n)
    throw bad(
      where,
      `expected ${n} values (${shape.windowLength} x ${shape.channels}) but received ${flat.length}`,
    );
  const out = new Float32Array(n);
  flat.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isFinite(x))
      throw bad(where, `value ${i}: expected a finite number but received ${JSON.stringify(x)}`);
    out[i] = x;
  });
  return out;
}

function readJsonl(path: string, shape: WindowShape): WindowSet {
  const windows: Float32Array[] = [];
  const labels: (string | number)[] = [];
  let anyLabel = false;
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch (err) {
        throw bad(`${path}:${i + 1}`, `expected JSON but parsing failed: ${(err as Error).message}`);
      }
      const obj =
        !Array.isArray(v) && typeof v === 'object' && v !== null
          ? (v as { window?: unknown; label?: string | number })
          : undefined;
      windows.push(flatWindow(obj ? obj.window : v, `${path}:${i + 1}`, shape));
      if (obj?.label !== undefined) anyLabel = true;
      labels.push(obj?.label ?? '');
    });
  if (windows.length === 0) throw bad(path, 'expected at least one window but the file has none');
  return { ...shape, windows, labels: anyLabel ? labels : undefined, source: path };
}

function readCsv(path: string, shape: WindowShape): WindowSet {
  const rows = readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '')
    .map((l) => l.split(',').map((s) => s.trim()));
  if (rows.length === 0) throw bad(path, 'expected at least one row but the file is empty');
  const isHeader = rows[0].some((c) => c !== '' && Number.isNaN(Number(c)));
  const header = isHeader ? rows.shift()! : undefined;
  const num = (s: string, where: string): number => {
    const v = Number(s);
    if (s === '' || !Number.isFinite(v))
      throw bad(where, `expected a number but received ${JSON.stringify(s)}`);
    return v;
  };
  const labelCol = header ? header.indexOf('label') : -1;
  const names = shape.channelNames;
  if (header && names && names.every((n) => header.includes(n))) {
    // Sample stream: one row per time step.
    const cols = names.map((n) => header.indexOf(n));
    const T = shape.windowLength;
    const count = Math.floor(rows.length / T);
    if (count === 0)
      throw bad(path, `expected at least ${T} sample rows (one window) but received ${rows.length}`);
    const windows: Float32Array[] = [];
    const labels: string[] = [];
    for (let w = 0; w < count; w++) {
      const x = new Float32Array(T * cols.length);
      for (let t = 0; t < T; t++) {
        const r = rows[w * T + t];
        cols.forEach(
          (c, ch) => (x[t * cols.length + ch] = num(r[c], `${path}:${w * T + t + 2} column ${header[c]}`)),
        );
      }
      windows.push(x);
      if (labelCol >= 0) labels.push(rows[w * T][labelCol]);
    }
    return { ...shape, windows, labels: labelCol >= 0 ? labels : undefined, source: path };
  }
  const windows: Float32Array[] = [];
  const labels: string[] = [];
  rows.forEach((r, i) => {
    const line = i + 1 + (header ? 1 : 0);
    const values = labelCol === 0 ? r.slice(1) : r;
    if (labelCol === 0) labels.push(r[0]);
    windows.push(
      flatWindow(
        values.map((s, j) => num(s, `${path}:${line} column ${j + 1}`)),
        `${path}:${line}`,
        shape,
      ),
    );
  });
  return { ...shape, windows, labels: labelCol === 0 ? labels : undefined, source: path };
}

/**
 * Read windows in any supported format. `shape` (the model's) is required for .jsonl / .csv
 * and checked against a binary descriptor.
 */
export function readWindows(path: string, shape?: WindowShape): WindowSet {
  if (!existsSync(path)) throw bad(path, 'no such file');
  const ext = extname(path).toLowerCase();
  if (ext === '.json') return readBinary(path, shape);
  if (ext === '.f32' || ext === '.bin') {
    const desc = join(dirname(path), `${basename(path, extname(path))}.json`);
    if (!existsSync(desc)) throw bad(path, `expected the descriptor ${desc} beside the binary windows`);
    return readBinary(desc, shape);
  }
  if (!shape) throw bad(path, 'the window shape is needed to read this format');
  if (ext === '.jsonl' || ext === '.ndjson') return readJsonl(path, shape);
  if (ext === '.csv') return readCsv(path, shape);
  throw bad(
    path,
    `expected a .json descriptor, .f32/.bin, .jsonl or .csv file but received ${ext || 'no extension'}`,
  );
}

/** Write windows as `<stem>.f32` + `<stem>.json` (the binary format above). */
export function encodeWindows(
  windows: Float32Array[],
  shape: WindowShape,
  labels?: (string | number)[],
): { data: Uint8Array; descriptor: string } {
  const per = shape.windowLength * shape.channels;
  const data = new Uint8Array(windows.length * per * 4);
  const view = new DataView(data.buffer);
  windows.forEach((w, i) => {
    if (w.length !== per)
      throw new RangeError(`encodeWindows: window ${i} has ${w.length} values, expected ${per}`);
    for (let j = 0; j < per; j++) view.setFloat32((i * per + j) * 4, w[j], true);
  });
  const desc: Descriptor = {
    count: windows.length,
    windowLength: shape.windowLength,
    channels: shape.channelNames ?? shape.channels,
  };
  if (labels) desc.labels = labels;
  return { data, descriptor: JSON.stringify(desc) + '\n' };
}
