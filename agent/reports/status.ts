// `status` (retained, QoS 1): the device's liveness. `offline` is also the MQTT Will, so a crash
// or a lost connection shows the same state as a clean stop.
import type { BackendKind } from '../inference/backend.js';
import type { ReportContext, ReportKey } from './report-context.js';

export type AgentState = 'online' | 'offline' | 'stopping';

export interface StatusModel {
  id: string;
  version: string;
  backend: BackendKind;
  /** e.g. "avx512_vnni" (native) or "cpu" (onnx) */
  detail: string;
}

export interface StatusMessage extends ReportKey {
  state: AgentState;
  version: string;
  startedAt: number;
  models: StatusModel[];
  assets: string[];
  /** For offline: true when this is the Will (connection lost) rather than a clean stop. */
  will?: boolean;
}

export interface StatusInput {
  state: AgentState;
  version: string;
  startedAt: number;
  models: StatusModel[];
  assets: string[];
  will?: boolean;
}

export function buildStatus(ctx: ReportContext, s: StatusInput): StatusMessage {
  const m: StatusMessage = {
    ...ctx.key(),
    state: s.state,
    version: s.version,
    startedAt: s.startedAt,
    models: s.models.map((x) => ({ ...x })),
    assets: [...s.assets],
  };
  if (s.will !== undefined) m.will = s.will;
  return m;
}
