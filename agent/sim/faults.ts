// The machine conditions the simulator can produce, in the rotating-vib model's label order.

export const FAULT_KINDS = [
  'healthy',
  'imbalance',
  'misalignment',
  'looseness',
  'bearing_outer',
  'bearing_inner',
  'bearing_ball',
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

export function isFaultKind(value: string): value is FaultKind {
  return (FAULT_KINDS as readonly string[]).includes(value);
}

export class SimError extends Error {
  constructor(
    readonly code: 'SIM_INVALID_OPTION' | 'SIM_INVALID_SPEC',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SimError';
  }
}

/** Throws SIM_INVALID_OPTION naming the field when `value` is not a finite number in [lo, hi]. */
export function checkRange(field: string, value: number, lo: number, hi: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < lo || value > hi) {
    throw new SimError(
      'SIM_INVALID_OPTION',
      `Expected number in [${lo}, ${hi}] for ${field} but received ${String(value)} of type ${typeof value}`,
    );
  }
}
