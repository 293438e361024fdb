import { describe, expect, it } from 'vitest';
import { formatReportLine } from '../../agent/demo/report-line.js';

describe('demo report line', () => {
  it('prints asset, label and confidence of a diagnosis', () => {
    const line = formatReportLine(
      'vigil/demo/diagnosis/pump-2',
      Buffer.from(
        JSON.stringify({
          ts: Date.UTC(2026, 0, 1, 12, 0, 1),
          asset: 'pump-2',
          label: 'imbalance',
          confidence: 0.9712,
          model: { backend: 'native' },
          inferenceUs: 84.6,
        }),
      ),
    );
    expect(line).toBe('12:00:01  diagnosis  pump-2        imbalance       0.97  (native, 85 us)');
  });

  it('prints state and score of an anomaly event', () => {
    const line = formatReportLine(
      'vigil/demo/anomaly/motor-3',
      Buffer.from(
        JSON.stringify({
          ts: Date.UTC(2026, 0, 1, 12, 0, 4),
          asset: 'motor-3',
          state: 'open',
          score: 7.123,
          threshold: 3,
        }),
      ),
    );
    expect(line).toBe('12:00:04  anomaly    motor-3       open            score 7.12 (threshold 3.00)');
  });

  it('ignores payloads that are not JSON and topics that are not reports', () => {
    expect(formatReportLine('vigil/demo/diagnosis/x', Buffer.from('{oops'))).toBeUndefined();
    expect(formatReportLine('vigil/demo/health', Buffer.from('{}'))).toBeUndefined();
  });
});
