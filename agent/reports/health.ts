// `health` (periodic, not retained): the device, the connection, every model, input and asset.
// agent/health/ gathers the numbers; this file only fixes the message shape.
import type { BackendCounters, BackendKind } from '../inference/backend.js';
import type { ReportContext, ReportKey } from './report-context.js';

export interface SystemHealth {
  /** 1-minute load average divided by the CPU count (0..n, 1 = fully busy). */
  cpuLoad: number;
  loadAvg: [number, number, number];
  cpus: number;
  /** Current CPU use of this process, percent of one core, since the previous health message. */
  processCpuPct: number;
  memory: { totalBytes: number; availableBytes: number; rssBytes: number; heapUsedBytes: number };
  disk: { path: string; totalBytes: number; freeBytes: number } | null;
  /** SoC/CPU temperature where the board reports it. */
  socTempC: number | null;
  /** Raspberry Pi firmware throttling flags (get_throttled), null elsewhere. */
  throttled: {
    raw: string;
    underVoltage: boolean;
    frequencyCapped: boolean;
    throttled: boolean;
    softTempLimit: boolean;
    occurred: boolean;
  } | null;
  /** Event-loop delay p99 over the last interval, ms. */
  eventLoopDelayMs: number;
}

/** A model's backend calls and their sizes (health `models.<id>.batches`). */
export interface BatchCounters {
  /** Most windows per backend call (configured; 1 when the backend cannot batch). */
  max: number;
  /** Backend calls (run or runBatch). */
  calls: number;
  /** Windows those calls carried. */
  windows: number;
  /** Largest batch so far. */
  maxSize: number;
  /** Calls per batch size, e.g. { "1": 40, "3": 2 }. */
  sizes: Record<string, number>;
  /** Batches rerun window by window after one window's input failed. */
  fallbacks: number;
}

export interface ModelHealth {
  backend: BackendKind;
  detail: string;
  inferences: number;
  failures: number;
  latencyUs: { p50: number; p99: number; max: number; count: number };
  queue: { depth: number; maxDepth: number; capacity: number; enqueued: number; dropped: number };
  /** Backend calls and their sizes (docs/backends.md). */
  batches: BatchCounters;
  /** The ORT backend's thread: state, restarts, crashes, mean hop cost. */
  worker?: BackendCounters;
}

export interface InputHealth {
  format: string;
  messages: number;
  samples: number;
  rejected: number;
  rejectedByReason: Record<string, number>;
}

export interface AssetHealth {
  model: string;
  windows: number;
  diagnoses: number;
  label: string | null;
  anomaly: {
    state: 'learning' | 'watching' | 'open' | 'disabled';
    baselineWindows: number;
    score: number | null;
  };
  /** Window assembler counters (gaps, duplicates, out-of-order, resets...). */
  counters: Record<string, number>;
}

export interface HealthMessage extends ReportKey {
  version: string;
  uptimeSec: number;
  system: SystemHealth;
  connection: {
    state: string;
    connects: number;
    reconnects: number;
    publishes: number;
    publishFailures: number;
    publishDropped: number;
    pending: number;
  };
  models: Record<string, ModelHealth>;
  inputs: Record<string, InputHealth>;
  assets: Record<string, AssetHealth>;
  errors: { reported: number; published: number; suppressed: number; byCode: Record<string, number> };
  watchdog: { enabled: boolean; intervalMs: number | null; pings: number; starved: number };
}

export type HealthInput = Omit<HealthMessage, keyof ReportKey>;

export function buildHealth(ctx: ReportContext, h: HealthInput): HealthMessage {
  return { ...ctx.key(), ...h };
}
