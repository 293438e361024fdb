// Reconnect delays: exponential backoff with jitter (MQTT.js only has a fixed period).
// Attempt k (0-based, counted since the last successful connection) waits
//   base_k = min(maxDelayMs, initialDelayMs * 2^k)
//   delay  = clamp(base_k * (1 + jitter * (2r - 1)), initialDelayMs, maxDelayMs),  r in [0, 1)
// so every delay is >= initialDelayMs (never hammer a broker that just refused us), <= maxDelayMs
// (a broker that comes back is found within the cap), and spread by +-jitter around the exponential
// curve so a fleet that lost the same broker does not come back in lockstep.

export interface BackoffPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
  /** 0..1: relative spread around the exponential curve. */
  jitter: number;
}

export function backoffBaseMs(attempt: number, p: BackoffPolicy): number {
  // 2^k overflows to Infinity for large k; min() then gives the cap, which is what we want.
  return Math.min(p.maxDelayMs, p.initialDelayMs * 2 ** Math.max(0, attempt));
}

/** Delay before reconnect attempt `attempt` (0-based); `random` returns [0, 1) (injected in tests). */
export function backoffDelayMs(
  attempt: number,
  p: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const base = backoffBaseMs(attempt, p);
  const r = Math.min(Math.max(random(), 0), 1);
  const spread = base * (1 + p.jitter * (2 * r - 1));
  return Math.round(Math.min(p.maxDelayMs, Math.max(p.initialDelayMs, spread)));
}
