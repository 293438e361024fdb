// Every published report is keyed by (deviceId, bootId, seq): bootId is random per process start,
// seq counts up from 1 across all reports of that boot, so a consumer can deduplicate redelivered
// messages and see gaps. `v` is the contract version of docs/mqtt.md (bumped on breaking change).
import { randomUUID } from 'node:crypto';

export const CONTRACT_VERSION = 1;

export interface ReportKey {
  v: typeof CONTRACT_VERSION;
  ts: number; // ms since the Unix epoch, agent clock, when the report was built
  deviceId: string;
  bootId: string;
  seq: number;
}

export class ReportContext {
  private seq = 0;
  constructor(
    readonly deviceId: string,
    readonly bootId: string = randomUUID(),
    private readonly now: () => number = Date.now,
  ) {}

  /** A fresh key: takes the next sequence number. */
  key(): ReportKey {
    return {
      v: CONTRACT_VERSION,
      ts: this.now(),
      deviceId: this.deviceId,
      bootId: this.bootId,
      seq: ++this.seq,
    };
  }

  get lastSeq(): number {
    return this.seq;
  }
}
