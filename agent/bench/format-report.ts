// Human-readable tables for a BenchReport (the JSON object holds every figure).
import type { Breakdown } from './breakdown.js';
import type { BenchReport, BundleReport, SizeReport, Timing } from './run-bench.js';

const us = (v: number): string =>
  v >= 10_000
    ? `${(v / 1000).toFixed(1)} ms`
    : v >= 1000
      ? `${(v / 1000).toFixed(2)} ms`
      : `${v.toFixed(0)} us`;
const x = (r: number | null): string => (r === null ? '-' : `${r.toFixed(2)}x`);
const mb = (b: number | undefined): string =>
  b === undefined
    ? '-'
    : b < 1024 * 1024
      ? `${(b / 1024).toFixed(0)} KB`
      : `${(b / (1024 * 1024)).toFixed(1)} MB`;

const verdict = (v: boolean | null): string => (v === null ? '-' : v ? 'met' : 'NOT met');

function table(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(header), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

const timingCells = (t: Timing): string[] => [us(t.wall.medianUs), us(t.wall.p90Us), us(t.cpu.medianUs)];

function sizeSection(s: SizeReport): string {
  const hp = s.hyperparameters;
  const rows = [
    ['native int8 runSync', ...timingCells(s.timings.nativeSync), '1.00x'],
    [
      'native int8 run (async)',
      ...timingCells(s.timings.nativeAsync),
      x(s.timings.nativeSync.wall.medianUs / s.timings.nativeAsync.wall.medianUs),
    ],
    [
      'ORT fp32',
      ...timingCells(s.timings.ortFp32),
      x(s.timings.nativeSync.wall.medianUs / s.timings.ortFp32.wall.medianUs),
    ],
    [
      'ORT int8 (dynamic quant)',
      ...timingCells(s.timings.ortInt8),
      x(s.timings.nativeSync.wall.medianUs / s.timings.ortInt8.wall.medianUs),
    ],
  ];
  const out = [
    `== ${s.size}: ${hp.L} layers, d ${hp.d}, ff ${hp.F}, ${hp.N} tokens (T ${hp.T} x C ${hp.C}, P ${hp.P}, H ${hp.H}, K ${hp.K}); ${(s.encoderMacs / 1e6).toFixed(1)} M MACs; ${s.runs} runs`,
    table(['contender', 'median', 'p90', 'cpu median', 'speed vs native'], rows),
    `ORT int8 / native: ${x(s.ratios.ortInt8OverNative)} wall, ${x(s.ratios.ortInt8OverNativeCpu)} cpu  (target >= ${s.target.ortInt8OverNative}x: ${verdict(s.target.met)} wall, ${verdict(s.target.metCpu)} cpu);  ` +
      `ORT fp32 / native: ${x(s.ratios.ortFp32OverNative)} wall, ${x(s.ratios.ortFp32OverNativeCpu)} cpu (never slower: ${verdict(s.target.neverSlowerThanFp32)} wall, ${verdict(s.target.neverSlowerThanFp32Cpu)} cpu);  ORT int8 / native async: ${x(s.asyncRatioOrtInt8)}`,
  ];
  out.push(`native attention (default 'auto': int8 from 64 tokens): ${s.attention}`);
  const a = s.otherAttention;
  out.push(
    a.active
      ? `native int8 with ${a.mode} attention (load option attention: '${a.mode}'): ${us(a.timing.wall.medianUs)} wall, ${us(a.timing.cpu.medianUs)} cpu; ` +
          `ORT int8 / it ${x(a.ortInt8Over)} wall, ${x(a.ortInt8OverCpu)} cpu; vs ORT fp32 top-1 ${(100 * a.top1).toFixed(0)}%, max |dp| ${a.probsMaxAbs.toFixed(4)}`
      : `native ${a.mode} attention: not supported by this addon (the option had no effect)`,
  );
  if (s.multiThread) {
    const m = s.multiThread;
    out.push(
      `${m.threads} threads (informational): native ${us(m.native.wall.medianUs)} wall, ${us(m.native.cpu.medianUs)} cpu; ` +
        `ORT int8 ${us(m.ortInt8.wall.medianUs)} wall, ${us(m.ortInt8.cpu.medianUs)} cpu; ORT int8 / native ${x(m.ortInt8OverNative)}`,
    );
  }
  if (s.isa.length > 0) {
    out.push(
      'per ISA (separate interleaved pass with ORT int8): ' +
        s.isa
          .map((i) => `${i.isa} ${us(i.timing.wall.medianUs)} (ORT int8 / it ${x(i.ortInt8OverIsa)})`)
          .join(', '),
    );
  }
  out.push(
    `load: native ${us(s.load.native.wall.medianUs)} wall, ${us(s.load.native.cpu.medianUs)} cpu (median of ${s.load.native.wall.n}; GGUF ${(s.files.ggufBytes / 1024).toFixed(0)} KB); ` +
      `ORT session create fp32 ${us(s.load.ortFp32SessionCreate.wall.medianUs)}, int8 ${us(s.load.ortInt8SessionCreate.wall.medianUs)}; ` +
      `target <= 2 ms: ${s.target.loadMet ? 'met' : 'NOT met'}`,
    `memory: engine model ${mb(s.memory.engineModelBytes)} (ModelInfo.memoryBytes); RSS added by model/session: native ${mb(s.memory.nativeModelRssBytes)}, ` +
      `ORT fp32 ${mb(s.memory.ortFp32SessionRssBytes)}, ORT int8 ${mb(s.memory.ortInt8SessionRssBytes)}; runtime load: addon ${mb(s.memory.nativeLibraryRssBytes)}, onnxruntime ${mb(s.memory.ortLibraryRssBytes)}` +
      (s.memory.error ? ` (${s.memory.error})` : '') +
      `; engine resident overhead ${mb(s.target.residentOverheadBytes)} (target <= 10 MB: ${s.target.residentMet ? 'met' : 'NOT met'})`,
    `agreement with ORT fp32 on ${s.agreement.windows} windows: native int8 top-1 ${(100 * s.agreement.nativeInt8.top1).toFixed(0)}%, ` +
      `max |dp| ${s.agreement.nativeInt8.probsMaxAbs.toFixed(4)}; ORT int8 top-1 ${(100 * s.agreement.ortInt8.top1).toFixed(0)}%, max |dp| ${s.agreement.ortInt8.probsMaxAbs.toFixed(4)}`,
  );
  return out.join('\n');
}

function bundleSection(b: BundleReport): string {
  if (!b.present || !b.timings || !b.ratios) return `== bundle ${b.name}: skipped (${b.note})`;
  const t = b.timings;
  const rows = [
    ['native int8 runSync (raw window in)', ...timingCells(t.nativeSync)],
    ['native int8 run (async)', ...timingCells(t.nativeAsync)],
    ['ORT fp32 (features in)', ...timingCells(t.ortFp32)],
    ['ORT int8 (dynamic quant of model.onnx)', ...timingCells(t.ortInt8)],
  ];
  if (t.ortInt8Bundle)
    rows.push(["ORT int8 (the bundle's model.int8.onnx)", ...timingCells(t.ortInt8Bundle)]);
  if (t.tsFrontend) rows.push(['TypeScript spectral front end', ...timingCells(t.tsFrontend)]);
  if (t.nativeFrontend) rows.push(['engine front end alone (features())', ...timingCells(t.nativeFrontend)]);
  const r = b.ratios;
  return [
    `== bundle ${b.name} (frontend ${b.frontend}; ${b.runs} runs)`,
    table(['contender', 'median', 'p90', 'cpu median'], rows),
    `ORT int8 / native: ${x(r.ortInt8OverNative)} wall, ${x(r.ortInt8OverNativeCpu)} cpu; ORT fp32 / native: ${x(r.ortFp32OverNative)} wall, ${x(r.ortFp32OverNativeCpu)} cpu` +
      (t.ortInt8Bundle ? `; bundle int8 ONNX / native: ${x(r.ortInt8BundleOverNative)}` : '') +
      (t.tsFrontend
        ? `; with the TS front end added to ORT: int8 ${x(r.ortInt8WithFrontendOverNative)}, fp32 ${x(r.ortFp32WithFrontendOverNative)}`
        : ''),
    `load: native ${us(b.load!.native.wall.medianUs)} wall, ${us(b.load!.native.cpu.medianUs)} cpu (GGUF ${(b.load!.ggufBytes / 1024).toFixed(0)} KB); memory: engine ${mb(b.memory?.engineModelBytes)}, RSS native ${mb(b.memory?.nativeModelRssBytes)}, ORT fp32 ${mb(b.memory?.ortFp32SessionRssBytes)}`,
  ].join('\n');
}

function breakdownSection(b: Breakdown): string {
  const base = b.variants[0];
  const rows = b.variants.map((v) => {
    const dt = base.cpuMedianUs - v.cpuMedianUs;
    const dm = base.encoderMacs - v.encoderMacs;
    return [
      v.name,
      `${v.hyperparameters.L}/${v.hyperparameters.d}/${v.hyperparameters.F}/${v.hyperparameters.N}/${v.hyperparameters.H}`,
      (v.encoderMacs / 1e6).toFixed(1),
      us(v.cpuMedianUs),
      v === base ? '' : us(dt),
      v === base || dm <= 0 || dt <= 0 ? '' : ((dm / dt) * 1e-3).toFixed(1),
      `${(v.geluCount / 1e3).toFixed(0)} k`,
      `${(v.softmaxCount / 1e3).toFixed(0)} k`,
      v.what,
    ];
  });
  return [
    `== where the engine's time goes: variants of ${b.size} (engine CPU time, median of ${b.runs}, interleaved)`,
    table(
      ['variant', 'L/d/F/N/H', 'M MACs', 'cpu', 'saved', 'G MAC/s saved', 'GELU', 'softmax exp', 'change'],
      rows,
    ),
    'A variant that saves far more time than its MACs at the GEMM rate (kernel table) spends it outside the int8 GEMMs.',
  ].join('\n');
}

export function formatReport(r: BenchReport): string {
  const m = r.machine;
  const parts = [
    `vigil bench  ${r.created}`,
    `cpu ${m.cpu} (${m.cores} cores), load average ${m.loadAvgStart.map((v) => v.toFixed(2)).join(' ')} -> ${m.loadAvgEnd.map((v) => v.toFixed(2)).join(' ')}; ` +
      `node ${m.node}, onnxruntime-node ${m.onnxruntime}, engine ${m.engine} (${m.isaSelected}; available ${m.isaAvailable.join(', ')})`,
    `method: ${r.method}`,
    ...r.sizes.map(sizeSection),
    ...r.bundles.map(bundleSection),
  ];
  if (r.breakdown) parts.push(breakdownSection(r.breakdown));
  if (r.gemm) {
    const g = r.gemm;
    if (!g.present) parts.push(`== GEMM kernels: ${g.binary} not built; to run it: ${g.howToRun}`);
    else if (g.error || !g.results) parts.push(`== GEMM kernels: ${g.binary} failed: ${g.error}`);
    else {
      parts.push(
        `== GEMM kernels (${g.binary} --quick; thread CPU time; clock ${((g.clockHz ?? 0) / 1e9).toFixed(2)} GHz)`,
        table(
          ['isa', 'MxNxK', 'GOPS', 'MAC/cycle', 'peak', '% peak'],
          g.results.map((e) => [
            e.isa,
            e.shape,
            e.gops.toFixed(1),
            e.mac_per_cycle.toFixed(2),
            e.peak_mac_per_cycle > 0 ? e.peak_mac_per_cycle.toFixed(1) : '-',
            e.peak_mac_per_cycle > 0
              ? `${((100 * e.mac_per_cycle) / e.peak_mac_per_cycle).toFixed(1)}%`
              : '-',
          ]),
        ),
      );
    }
  }
  return parts.join('\n\n') + '\n';
}
