// The topics the agent publishes under its prefix (default vigil/<deviceId>), docs/mqtt.md.

export interface ReportTopics {
  status: string;
  health: string;
  errors: string;
  diagnosis(assetId: string): string;
  anomaly(assetId: string): string;
}

export function reportTopics(prefix: string): ReportTopics {
  const p = prefix.replace(/\/+$/, '');
  return {
    status: `${p}/status`,
    health: `${p}/health`,
    errors: `${p}/errors`,
    diagnosis: (assetId) => `${p}/diagnosis/${assetId}`,
    anomaly: (assetId) => `${p}/anomaly/${assetId}`,
  };
}
