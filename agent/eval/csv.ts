// Reader for SKAB-format CSV files: `;`-separated, a header line, `datetime` first, then numeric
// channel columns and optionally the `anomaly` and `changepoint` labels (0/1). Parsing is pure
// (parseSkabCsv takes the text); listCsvFiles is the only I/O.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export class CsvError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export interface SkabTable {
  /** Channel columns (every column but datetime and the labels), in file order. */
  channels: string[];
  /** rows x channels, time-major. */
  values: Float64Array;
  rows: number;
  /** Per-row anomaly label (1 anomalous), when the file has the column. */
  anomaly?: Uint8Array;
  changepoint?: Uint8Array;
}

const LABELS = new Set(['anomaly', 'changepoint']);

export function parseSkabCsv(text: string, source = 'csv'): SkabTable {
  const lines = text.split(/\r?\n/).filter((l) => l.trim().length > 0);
  if (lines.length === 0)
    throw new CsvError(`${source}: expected a header line but the file is empty`, 'EVAL_CSV_INVALID');
  const header = lines[0].split(';').map((h) => h.trim());
  if (header[0] !== 'datetime')
    throw new CsvError(
      `${source}: expected the first column "datetime" but received ${JSON.stringify(header[0])}`,
      'EVAL_CSV_INVALID',
    );
  const chanIdx: number[] = [];
  const channels: string[] = [];
  header.forEach((h, i) => {
    if (i > 0 && !LABELS.has(h)) {
      chanIdx.push(i);
      channels.push(h);
    }
  });
  const aIdx = header.indexOf('anomaly');
  const cIdx = header.indexOf('changepoint');
  const rows = lines.length - 1;
  const values = new Float64Array(rows * channels.length);
  const anomaly = aIdx >= 0 ? new Uint8Array(rows) : undefined;
  const changepoint = cIdx >= 0 ? new Uint8Array(rows) : undefined;
  for (let r = 0; r < rows; r++) {
    const cells = lines[r + 1].split(';');
    if (cells.length !== header.length) {
      throw new CsvError(
        `${source}:${r + 2}: expected ${header.length} fields but received ${cells.length}`,
        'EVAL_CSV_INVALID',
      );
    }
    chanIdx.forEach((ci, k) => {
      const v = Number(cells[ci]);
      if (cells[ci].trim() === '' || !Number.isFinite(v)) {
        throw new CsvError(
          `${source}:${r + 2}: column ${header[ci]}: expected a finite number but received ${JSON.stringify(cells[ci])}`,
          'EVAL_CSV_INVALID',
        );
      }
      values[r * channels.length + k] = v;
    });
    if (anomaly) anomaly[r] = Number(cells[aIdx]) > 0.5 ? 1 : 0;
    if (changepoint) changepoint[r] = Number(cells[cIdx]) > 0.5 ? 1 : 0;
  }
  return { channels, values, rows, anomaly, changepoint };
}

/** Reorder a table's channels to `want` (throws naming the missing channel). */
export function selectChannels(t: SkabTable, want: readonly string[], source = 'csv'): Float64Array {
  const idx = want.map((w) => {
    const i = t.channels.indexOf(w);
    if (i < 0)
      throw new CsvError(
        `${source}: expected a column ${JSON.stringify(w)} but the file has ${JSON.stringify(t.channels)}`,
        'EVAL_CSV_CHANNELS',
      );
    return i;
  });
  const c = t.channels.length;
  const out = new Float64Array(t.rows * want.length);
  for (let r = 0; r < t.rows; r++) idx.forEach((i, k) => (out[r * want.length + k] = t.values[r * c + i]));
  return out;
}

/** Every *.csv under dir, recursively, sorted by directory then numeric-aware file name. */
export function listCsvFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.toLowerCase().endsWith('.csv')) out.push(p);
    }
  };
  walk(dir);
  const coll = new Intl.Collator('en', { numeric: true });
  return out.sort(
    (a, b) =>
      coll.compare(path.dirname(a), path.dirname(b)) || coll.compare(path.basename(a), path.basename(b)),
  );
}
