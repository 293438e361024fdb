// `errors`: rejected payloads (and later, rejected commands), rate-limited by a token bucket
// (errors.maxPerSec). What the bucket refuses is counted: each published error carries
// `suppressed`, the number refused since the previous published one, and the totals go to health.
import type { ReportContext, ReportKey } from './report-context.js';
import { TokenBucket } from './token-bucket.js';

export interface ErrorMessage extends ReportKey {
  code: string;
  message: string;
  topic?: string;
  asset?: string;
  /** Errors not published (rate limit) since the previous published error. */
  suppressed: number;
}

export interface ErrorInput {
  code: string;
  message: string;
  topic?: string;
  asset?: string;
}

/** Messages are cut to this many characters: an error must not carry a large payload back. */
export const MAX_ERROR_MESSAGE_CHARS = 500;

export function buildError(ctx: ReportContext, e: ErrorInput, suppressed: number): ErrorMessage {
  const m: ErrorMessage = {
    ...ctx.key(),
    code: e.code,
    message:
      e.message.length > MAX_ERROR_MESSAGE_CHARS
        ? e.message.slice(0, MAX_ERROR_MESSAGE_CHARS - 1) + '…'
        : e.message,
    suppressed,
  };
  if (e.topic !== undefined) m.topic = e.topic;
  if (e.asset !== undefined) m.asset = e.asset;
  return m;
}

export interface ErrorReporterCounters {
  reported: number;
  published: number;
  suppressed: number;
  byCode: Record<string, number>;
}

/** Decides which errors get published; the caller publishes what report() returns. */
export class ErrorReporter {
  private readonly bucket: TokenBucket;
  private pendingSuppressed = 0;
  private readonly c: ErrorReporterCounters = { reported: 0, published: 0, suppressed: 0, byCode: {} };

  constructor(
    private readonly ctx: ReportContext,
    maxPerSec: number,
    now: () => number = Date.now,
  ) {
    this.bucket = new TokenBucket(maxPerSec, Math.max(1, Math.ceil(maxPerSec)), now);
  }

  /** The message to publish, or null when rate-limited (then counted as suppressed). */
  report(e: ErrorInput): ErrorMessage | null {
    this.c.reported++;
    this.c.byCode[e.code] = (this.c.byCode[e.code] ?? 0) + 1;
    if (!this.bucket.take()) {
      this.pendingSuppressed++;
      this.c.suppressed++;
      return null;
    }
    const m = buildError(this.ctx, e, this.pendingSuppressed);
    this.pendingSuppressed = 0;
    this.c.published++;
    return m;
  }

  counters(): ErrorReporterCounters {
    return { ...this.c, byCode: { ...this.c.byCode } };
  }
}
