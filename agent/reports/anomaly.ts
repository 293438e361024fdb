// `anomaly/<assetId>`: events, not per-window scores. One event is open -> update* -> close;
// every message of an event carries `event`, the seq of its `open` message.
import type { ReportContext, ReportKey } from './report-context.js';

export type AnomalyState = 'open' | 'update' | 'close';

export interface AnomalyMessage extends ReportKey {
  asset: string;
  state: AnomalyState;
  event: number;
  score: number;
  threshold: number;
  /** ms epoch (data time) of the window that opened the event. */
  since: number;
  peakScore: number;
  /** Data time of the window this message is about. */
  windowEnd: number;
  /** Channels ranked by their share of the score (sums to ~1). */
  channels: { name: string; contribution: number }[];
}

export interface AnomalyInput {
  asset: string;
  state: AnomalyState;
  /** seq of the open message; omit for state 'open' (the new message's own seq is used). */
  event?: number;
  score: number;
  threshold: number;
  since: number;
  peakScore: number;
  windowEnd: number;
  channels: { name: string; contribution: number }[];
}

const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

export function buildAnomaly(ctx: ReportContext, a: AnomalyInput): AnomalyMessage {
  const key = ctx.key();
  if (a.state !== 'open' && a.event === undefined) {
    throw Object.assign(
      new Error(
        `failed to build anomaly ${a.state} for ${a.asset}: expected the event (seq of its open) but received undefined`,
      ),
      {
        code: 'REPORT_INVALID',
      },
    );
  }
  return {
    ...key,
    asset: a.asset,
    state: a.state,
    event: a.state === 'open' ? key.seq : (a.event as number),
    score: r4(a.score),
    threshold: r4(a.threshold),
    since: a.since,
    peakScore: r4(a.peakScore),
    windowEnd: a.windowEnd,
    channels: [...a.channels]
      .sort((x, y) => y.contribution - x.contribution)
      .map((c) => ({ name: c.name, contribution: r4(c.contribution) })),
  };
}
