// `diagnosis/<assetId>`: the debounced label of one asset with the window it came from.
import type { BackendKind } from '../inference/backend.js';
import type { ReportContext, ReportKey } from './report-context.js';

export interface WindowSpan {
  start: number; // ms epoch, data time of the first sample
  end: number; // ms epoch, data time just after the last sample
  samples: number;
}

export interface DiagnosisMessage extends ReportKey {
  asset: string;
  label: string;
  confidence: number;
  top: { label: string; p: number }[];
  window: WindowSpan;
  model: { id: string; version: string; backend: BackendKind };
  inferenceUs: number;
  /** true: periodic repeat of an unchanged label; false: a new (debounced) label. */
  heartbeat: boolean;
  /** The label before this change (null at the first diagnosis of this boot; absent on heartbeats). */
  previous?: string | null;
}

export interface DiagnosisInput {
  asset: string;
  label: string;
  /** Class probabilities and their labels (same order); the top 3 are reported. */
  probs: ArrayLike<number>;
  labels: readonly string[];
  window: WindowSpan;
  model: { id: string; version: string; backend: BackendKind };
  inferenceUs: number;
  heartbeat: boolean;
  previous?: string | null;
}

export const TOP_K = 3;

/** Probabilities rounded to 4 decimals: the contract carries no false precision. */
export function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

export function topK(
  probs: ArrayLike<number>,
  labels: readonly string[],
  k = TOP_K,
): { label: string; p: number }[] {
  const idx = Array.from({ length: probs.length }, (_, i) => i);
  idx.sort((a, b) => probs[b] - probs[a] || a - b);
  return idx.slice(0, k).map((i) => ({ label: labels[i] ?? `class_${i}`, p: round4(probs[i]) }));
}

export function buildDiagnosis(ctx: ReportContext, d: DiagnosisInput): DiagnosisMessage {
  const li = d.labels.indexOf(d.label);
  const confidence = li >= 0 ? d.probs[li] : 0;
  const m: DiagnosisMessage = {
    ...ctx.key(),
    asset: d.asset,
    label: d.label,
    confidence: round4(confidence),
    top: topK(d.probs, d.labels),
    window: { ...d.window },
    model: { ...d.model },
    inferenceUs: Math.round(d.inferenceUs),
    heartbeat: d.heartbeat,
  };
  if (!d.heartbeat && d.previous !== undefined) m.previous = d.previous;
  return m;
}
