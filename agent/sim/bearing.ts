// Rolling-element bearing geometry and its defect frequencies (per shaft revolution).
// Standard kinematics, stationary outer race, rotating inner race, no slip:
//   FTF  = 1/2 (1 - r)            cage (fundamental train)
//   BPFO = n/2 (1 - r)            ball pass, outer race
//   BPFI = n/2 (1 + r)            ball pass, inner race
//   BSF  = Pd/(2 Bd) (1 - r^2)    ball spin
// with r = Bd/Pd cos(contactAngle). Multiply by the shaft frequency for Hz.

export interface BearingGeometry {
  ballCount: number;
  ballDiameterMm: number;
  pitchDiameterMm: number;
  contactAngleDeg: number;
}

export interface DefectOrders {
  ftf: number;
  bpfo: number;
  bpfi: number;
  bsf: number;
}

export function defectOrders(g: BearingGeometry): DefectOrders {
  const r = (g.ballDiameterMm / g.pitchDiameterMm) * Math.cos((g.contactAngleDeg * Math.PI) / 180);
  return {
    ftf: 0.5 * (1 - r),
    bpfo: (g.ballCount / 2) * (1 - r),
    bpfi: (g.ballCount / 2) * (1 + r),
    bsf: (g.pitchDiameterMm / (2 * g.ballDiameterMm)) * (1 - r * r),
  };
}
