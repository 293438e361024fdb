"""NumPy mirror of the agent's anomaly scoring (agent/diagnosis/baseline.ts, anomaly-score.ts)
and of `vigil eval skab`: used to choose the scoring parameters and to report the Python-side
figures. The TypeScript is the product; this file must compute the same numbers (docs/anomaly.md).

Per window (after SiteTransform): heads from the model (embedding e [d], channel_error r [C]) and
the level statistic m[c] = mean of u over the last levelWindow rows. The baseline (windows inside
the commissioning rows) gives, per component, its mean/spread; the window's score is
    level = max_c over non-slow channels of ((m[c] - mu_m[c]) / sd_m[c])^2
    recon = max_c of max(0, (r[c] - mu_r[c]) / sd_r[c])^2
    t2    = (e - mu_e)^T ((1-l) S + l tr(S)/d I)^-1 (e - mu_e)
each divided by its threshold (quantile q of the component over the baseline windows) * margin;
the window score is the max of the enabled components, smoothed by a causal EWMA (alpha), and the
row is anomalous when the smoothed score exceeds 1.

Drift adaptation (agent/diagnosis/baseline-adaptation.ts, docs/anomaly.md): with adaptRows > 0 the
site transform's reference of the non-slow channels follows slow drift, gated by the smoothed
level score; adapted_inputs() computes the model inputs of the scored windows exactly as the
agent's SiteAdapter does (the gate needs no model output, so the inputs come first, then one
batched model call).
"""
from __future__ import annotations

import numpy as np

SCORING_DEFAULTS = {
    "levelWindow": 12,
    "quantile": 0.99,
    "margin": 3,
    "ewmaAlpha": 0.3,
    "shrinkage": 0.1,
    "sdFloor": 0.05,
    "components": ["level", "recon", "t2"],
    "adaptRows": 0,
    "adaptGate": 0.7,
    "adaptHoldRows": 60,
}


def quantile(v: np.ndarray, q: float) -> float:
    """Linear interpolation between order statistics (numpy's default, 'type 7')."""
    return float(np.quantile(np.asarray(v, dtype=np.float64), q))


class Baseline:
    def __init__(self, params: dict, slow: np.ndarray):
        self.p = {**SCORING_DEFAULTS, **params}
        self.slow = np.asarray(slow, bool)

    def level_stat(self, u: np.ndarray) -> np.ndarray:
        return u[..., -self.p["levelWindow"]:, :].astype(np.float64).mean(-2)

    def fit(self, u: np.ndarray, emb: np.ndarray, cerr: np.ndarray) -> "Baseline":
        """u [n, T, C], emb [n, d], cerr [n, C]: the baseline windows."""
        p = self.p
        m = self.level_stat(u)
        self.mu_m, self.sd_m = m.mean(0), np.maximum(m.std(0), p["sdFloor"])
        cerr = np.asarray(cerr, np.float64)
        self.mu_r, self.sd_r = cerr.mean(0), np.maximum(cerr.std(0), 1e-6 + 1e-3 * np.abs(cerr.mean(0)))
        e = np.asarray(emb, np.float64)
        self.mu_e = e.mean(0)
        s = np.cov(e.T, bias=True)
        d = s.shape[0]
        lam = p["shrinkage"]
        self.prec = np.linalg.inv((1 - lam) * s + lam * np.trace(s) / d * np.eye(d))
        comps = self.components(u, emb, cerr)
        self.thr = {k: max(quantile(v, p["quantile"]) * p["margin"], 1e-12) for k, v in comps.items()}
        return self

    def components(self, u, emb, cerr) -> dict:
        m = self.level_stat(u)
        zl = ((m - self.mu_m) / self.sd_m) ** 2 * (~self.slow)
        zr = np.maximum(0.0, (np.asarray(cerr, np.float64) - self.mu_r) / self.sd_r) ** 2
        de = np.asarray(emb, np.float64) - self.mu_e
        t2 = np.einsum("nd,de,ne->n", de, self.prec, de)
        return {"level": zl.max(-1), "recon": zr.max(-1), "t2": t2}

    def level_score(self, u: np.ndarray) -> np.ndarray:
        """The level component over its threshold (no model output needed)."""
        zl = ((self.level_stat(u) - self.mu_m) / self.sd_m) ** 2 * (~self.slow)
        return zl.max(-1) / self.thr["level"]

    def score(self, u, emb, cerr) -> np.ndarray:
        comps = self.components(u, emb, cerr)
        return np.max([comps[k] / self.thr[k] for k in self.p["components"]], axis=0)


def adaptation_weights(tf) -> np.ndarray:
    """sqrt(clamp((slowness - 2/W) / (slowThreshold - 2/W), 0, 1)); 0 for slow channels."""
    floor = 2.0 / tf.sw
    w = np.sqrt(np.clip((tf.slowness - floor) / (tf.thr - floor), 0.0, 1.0))
    return np.where(tf.slow, 0.0, w)


def adapted_inputs(x: np.ndarray, tf, bl: "Baseline", ends: np.ndarray, t: int, hop: int = 1) -> np.ndarray:
    """Model inputs [n, T, C] of the windows ending at `ends` (consecutive, hop rows apart), with
    the gated drift adaptation of the reference (SiteAdapter). Without adaptation: tf.apply."""
    from skab_data import windows_ending
    p = bl.p
    if p["adaptRows"] <= 0:
        return tf.apply(windows_ending(x, ends, t))
    center = tf.center.astype(np.float64).copy()
    w = adaptation_weights(tf)
    rate = 1.0 - np.exp(-hop / p["adaptRows"])
    gate, frozen, quiet = None, False, 0
    out = np.empty((len(ends), t, x.shape[1]), np.float32)
    for i, end in enumerate(ends):
        win = x[end - t + 1:end + 1]
        u = tf.apply_with(win, center)
        out[i] = u
        lv = float(bl.level_score(u[None])[0])
        gate = lv if gate is None else p["ewmaAlpha"] * lv + (1 - p["ewmaAlpha"]) * gate
        if gate > 1:
            frozen = True
        quiet = quiet + hop if gate < p["adaptGate"] else 0
        if frozen and quiet >= p["adaptHoldRows"]:
            frozen = False
        if not frozen and gate < p["adaptGate"]:
            fresh = min(hop, t)
            center = center + w * rate * (win[t - fresh:].mean(0) - center)
    return out


def ewma(s: np.ndarray, alpha: float) -> np.ndarray:
    out = np.empty_like(s, dtype=np.float64)
    acc = float(s[0])
    for i, v in enumerate(s):
        acc = alpha * float(v) + (1 - alpha) * acc
        out[i] = acc
    return out


def confusion(pred: np.ndarray, lab: np.ndarray) -> dict:
    pred, lab = np.asarray(pred, bool), np.asarray(lab, bool)
    tp = int((pred & lab).sum()); fp = int((pred & ~lab).sum())
    fn = int((~pred & lab).sum()); tn = int((~pred & ~lab).sum())
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"f1": f1, "far": fp / (fp + tn) if fp + tn else 0.0, "mar": fn / (fn + tp) if fn + tp else 0.0,
            "precision": prec, "recall": rec, "tp": tp, "fp": fp, "tn": tn, "fn": fn, "rows": len(lab)}
