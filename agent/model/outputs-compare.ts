// Figures that compare two engines' outputs window by window (int8 vs fp32 at conversion,
// backends at verify): top-1 agreement, max |prob diff|, embedding cosine, and the rank
// correlation of the anomaly score (mean per-patch reconstruction error).

export interface HeadOutputs {
  probs: Float32Array;
  embedding: Float32Array;
  patchError: Float32Array;
  channelError: Float32Array;
}

export interface AgreementFigures {
  windows: number;
  /** Fraction of windows whose argmax class is the same. */
  top1Agreement: number;
  maxProbDiff: number;
  embeddingCosineMean: number;
  embeddingCosineMin: number;
  /** Spearman correlation of the anomaly scores; null without a reconstruction head. */
  anomalyRankCorrelation: number | null;
  /** max |a - b| / max(|b|, 1e-12) of the anomaly scores; null without the head. */
  anomalyMaxRelDiff: number | null;
}

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/** The anomaly score of one window: the mean of the per-patch reconstruction errors. */
export function anomalyScore(o: Pick<HeadOutputs, 'patchError'>): number {
  if (o.patchError.length === 0) return 0;
  let s = 0;
  for (const v of o.patchError) s += v;
  return s / o.patchError.length;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa === 0 && bb === 0 ? 1 : ab / Math.sqrt(aa * bb || Number.MIN_VALUE);
}

/** Ranks with ties averaged (1-based). */
export function ranks(x: number[]): number[] {
  const idx = x.map((v, i) => [v, i] as const).sort((p, q) => p[0] - q[0]);
  const r = new Array<number>(x.length);
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1][0] === idx[i][0]) j++;
    for (let k = i; k <= j; k++) r[idx[k][1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

/** Spearman rank correlation (Pearson on average ranks); 1 when both are constant. */
export function spearman(a: number[], b: number[]): number {
  const ra = ranks(a);
  const rb = ranks(b);
  const n = a.length;
  const ma = ra.reduce((s, v) => s + v, 0) / n;
  const mb = rb.reduce((s, v) => s + v, 0) / n;
  let cov = 0;
  let va = 0;
  let vb = 0;
  for (let i = 0; i < n; i++) {
    cov += (ra[i] - ma) * (rb[i] - mb);
    va += (ra[i] - ma) ** 2;
    vb += (rb[i] - mb) ** 2;
  }
  if (va === 0 && vb === 0) return 1;
  if (va === 0 || vb === 0) return 0;
  return cov / Math.sqrt(va * vb);
}

/** Compare `test` against `reference` over the same windows. */
export function compareOutputs(test: HeadOutputs[], reference: HeadOutputs[]): AgreementFigures {
  if (test.length !== reference.length || test.length === 0) {
    throw new RangeError(
      `compareOutputs: expected two equal non-empty lists but received ${test.length} and ${reference.length}`,
    );
  }
  let agree = 0;
  let maxProbDiff = 0;
  let cosSum = 0;
  let cosMin = Infinity;
  for (let w = 0; w < test.length; w++) {
    const a = test[w];
    const b = reference[w];
    if (argmax(a.probs) === argmax(b.probs)) agree++;
    for (let k = 0; k < b.probs.length; k++)
      maxProbDiff = Math.max(maxProbDiff, Math.abs(a.probs[k] - b.probs[k]));
    const c = cosine(a.embedding, b.embedding);
    cosSum += c;
    cosMin = Math.min(cosMin, c);
  }
  const hasHead = reference[0].patchError.length > 0;
  let rank: number | null = null;
  let rel: number | null = null;
  if (hasHead) {
    const sa = test.map(anomalyScore);
    const sb = reference.map(anomalyScore);
    rank = spearman(sa, sb);
    rel = Math.max(...sa.map((v, i) => Math.abs(v - sb[i]) / Math.max(Math.abs(sb[i]), 1e-12)));
  }
  return {
    windows: test.length,
    top1Agreement: agree / test.length,
    maxProbDiff,
    embeddingCosineMean: cosSum / test.length,
    embeddingCosineMin: cosMin,
    anomalyRankCorrelation: rank,
    anomalyMaxRelDiff: rel,
  };
}

export function formatFigures(f: AgreementFigures): string {
  const parts = [
    `top-1 agreement ${(100 * f.top1Agreement).toFixed(2)}% over ${f.windows} windows`,
    `max |prob diff| ${f.maxProbDiff.toExponential(2)}`,
    `embedding cosine mean ${f.embeddingCosineMean.toFixed(5)} min ${f.embeddingCosineMin.toFixed(5)}`,
  ];
  if (f.anomalyRankCorrelation !== null) {
    parts.push(
      `anomaly-score rank correlation ${f.anomalyRankCorrelation.toFixed(4)} (max rel diff ${f.anomalyMaxRelDiff!.toExponential(2)})`,
    );
  }
  return parts.join(', ');
}
