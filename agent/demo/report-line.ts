// One human line per published diagnosis or anomaly event, for the demo's terminal.
//   12:00:01  diagnosis  pump-2        imbalance       0.97  (native/avx512_vnni, 85 us)
//   12:00:04  anomaly    motor-3       open            score 7.1 > 3.0

export function formatReportLine(topic: string, payload: Buffer): string | undefined {
  const kind = topic.split('/').at(-2);
  let msg: Record<string, unknown>;
  try {
    msg = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined; // not one of ours: the demo only prints reports it can read
  }
  const time = typeof msg.ts === 'number' ? new Date(msg.ts).toISOString().slice(11, 19) : '--:--:--';
  const asset = String(msg.asset ?? topic.split('/').at(-1)).padEnd(13);
  if (kind === 'diagnosis') {
    const model = (msg.model ?? {}) as { backend?: string };
    const conf = typeof msg.confidence === 'number' ? msg.confidence.toFixed(2) : '?';
    const us = typeof msg.inferenceUs === 'number' ? `, ${Math.round(msg.inferenceUs)} us` : '';
    const hb = msg.heartbeat ? '  heartbeat' : '';
    return `${time}  diagnosis  ${asset} ${String(msg.label).padEnd(15)} ${conf}  (${model.backend ?? '?'}${us})${hb}`;
  }
  if (kind === 'anomaly') {
    const score = typeof msg.score === 'number' ? msg.score.toFixed(2) : '?';
    const thr = typeof msg.threshold === 'number' ? msg.threshold.toFixed(2) : '?';
    return `${time}  anomaly    ${asset} ${String(msg.state).padEnd(15)} score ${score} (threshold ${thr})`;
  }
  return undefined;
}
