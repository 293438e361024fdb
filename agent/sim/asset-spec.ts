// Parses the simulator's asset list: "fan-1:healthy,pump-2:bearing_outer:0.8,motor-3:imbalance:0.5:1800"
// = id:fault[:severity[:rpm]] separated by commas. Severity defaults to 0.7 for a fault.
import { FAULT_KINDS, isFaultKind, SimError, type FaultKind } from './faults.js';

export interface SimAsset {
  id: string;
  fault: FaultKind;
  severity: number;
  /** nominal speed; drawn from the asset's seed when absent */
  rpm?: number;
}

const ID = /^[A-Za-z0-9._-]+$/;

export function parseAssetSpec(spec: string): SimAsset[] {
  const parts = spec
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  if (parts.length === 0)
    throw new SimError(
      'SIM_INVALID_SPEC',
      `Expected at least one asset id:fault[:severity[:rpm]] but received "${spec}"`,
    );
  return parts.map((part) => {
    const f = part.split(':');
    if (f.length < 1 || f.length > 4) {
      throw new SimError(
        'SIM_INVALID_SPEC',
        `Expected id:fault[:severity[:rpm]] for an asset but received "${part}"`,
      );
    }
    return checkAsset({
      id: f[0],
      fault: f[1] ?? 'healthy',
      severity: f[2] === undefined ? undefined : Number(f[2]),
      rpm: f[3] === undefined ? undefined : Number(f[3]),
    });
  });
}

/** Validates one asset (also those passed programmatically, e.g. the demo's). */
export function checkAsset(a: { id: string; fault: string; severity?: number; rpm?: number }): SimAsset {
  if (!ID.test(a.id)) {
    throw new SimError(
      'SIM_INVALID_SPEC',
      `Expected an asset id of letters, digits, '.', '_', '-' but received "${a.id}"`,
    );
  }
  if (!isFaultKind(a.fault)) {
    throw new SimError(
      'SIM_INVALID_SPEC',
      `Expected a fault of ${FAULT_KINDS.join('|')} for asset ${a.id} but received "${a.fault}"`,
    );
  }
  if (a.fault === 'healthy' && a.severity !== undefined && a.severity !== 0) {
    throw new SimError(
      'SIM_INVALID_SPEC',
      `Expected no severity (or 0) for healthy asset ${a.id} but received "${a.severity}"`,
    );
  }
  const severity = a.fault === 'healthy' ? 0 : (a.severity ?? 0.7);
  if (!(severity >= 0 && severity <= 1)) {
    throw new SimError(
      'SIM_INVALID_SPEC',
      `Expected severity in [0, 1] for asset ${a.id} but received "${a.severity}"`,
    );
  }
  if (a.rpm !== undefined && !(a.rpm >= 60 && a.rpm <= 30000)) {
    throw new SimError(
      'SIM_INVALID_SPEC',
      `Expected rpm in [60, 30000] for asset ${a.id} but received "${a.rpm}"`,
    );
  }
  return { id: a.id, fault: a.fault, severity, ...(a.rpm === undefined ? {} : { rpm: a.rpm }) };
}
