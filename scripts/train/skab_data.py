"""SKAB data access and the on-site input transform shared by training and scoring.

The transform is the Python mirror of agent/diagnosis/baseline.ts (fit) and
agent/diagnosis/anomaly-score.ts (apply): both must compute exactly this, see docs/anomaly.md.

    fit(rows [N][C]) on the commissioning rows (the first N=400 of a SKAB file):
        center[c] = mean(rows[:, c]);  scale[c] = max(std_pop(rows[:, c]), 1e-6 * max(1, |center[c]|))
        slowness[c] = var_pop(S-row moving means of rows[:, c]) / var_pop(rows[:, c])   (0 if var is 0)
        slow[c] = slowness[c] >= slowThreshold
    apply(window [T][C]):
        ref = mean of the window's own column if slow[c] else center[c]
        u[t][c] = clamp((x[t][c] - ref) / scale[c], -clip, clip)

A slow channel (temperatures: the mean of S rows varies almost as much as the rows themselves) has
a level that drifts on the scale of the baseline, so its level carries no evidence: the model sees
it centred per window (shape only) and the level statistic ignores it.
"""
from __future__ import annotations

import glob
import os

import numpy as np

CHANNELS = [
    "Accelerometer1RMS", "Accelerometer2RMS", "Current", "Pressure",
    "Temperature", "Thermocouple", "Voltage", "Volume Flow RateRMS",
]

# Defaults shared with agent/diagnosis (DEFAULT_SCORING); training.json records the values used.
TRANSFORM_DEFAULTS = {"slownessWindow": 32, "slowThreshold": 0.4, "clip": 10.0}


def load_csv(path: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(x [rows, 8] float64 in CHANNELS order, anomaly labels [rows] or None)."""
    with open(path) as f:
        header = f.readline().strip().split(";")
        cols = [header.index(c) for c in CHANNELS]
        lab = header.index("anomaly") if "anomaly" in header else None
        xs, ys = [], []
        for line in f:
            parts = line.strip().split(";")
            if len(parts) < len(header):
                continue
            xs.append([float(parts[i]) for i in cols])
            if lab is not None:
                ys.append(float(parts[lab]))
    x = np.asarray(xs, dtype=np.float64)
    return x, (np.asarray(ys) > 0.5 if lab is not None else None)


def experiment_files(root: str) -> list[str]:
    """Every CSV under root with an anomaly column, sorted group/number."""
    out = []
    for p in glob.glob(os.path.join(root, "**", "*.csv"), recursive=True):
        with open(p) as f:
            if "anomaly" in f.readline():
                out.append(p)

    def key(p: str):
        rel = os.path.relpath(p, root)
        d, b = os.path.split(rel)
        stem = os.path.splitext(b)[0]
        return (d, int(stem) if stem.isdigit() else 0, stem)

    return sorted(out, key=key)


def moving_means(col: np.ndarray, w: int) -> np.ndarray:
    c = np.concatenate([[0.0], np.cumsum(col)])
    return (c[w:] - c[:-w]) / w


class SiteTransform:
    def __init__(self, slowness_window: int = 32, slow_threshold: float = 0.4, clip: float = 10.0):
        self.sw, self.thr, self.clip = slowness_window, slow_threshold, clip

    def fit(self, rows: np.ndarray) -> "SiteTransform":
        rows = np.asarray(rows, dtype=np.float64)
        self.center = rows.mean(0)
        std = rows.std(0)
        self.scale = np.maximum(std, 1e-6 * np.maximum(1.0, np.abs(self.center)))
        var = rows.var(0)
        mm = np.stack([moving_means(rows[:, c], self.sw) for c in range(rows.shape[1])], 1)
        self.slowness = np.where(var > 0, mm.var(0) / np.where(var > 0, var, 1.0), 0.0)
        self.slow = self.slowness >= self.thr
        return self

    def apply(self, windows: np.ndarray) -> np.ndarray:
        """windows [..., T, C] raw -> u float32."""
        return self.apply_with(windows, self.center)

    def apply_with(self, windows: np.ndarray, center: np.ndarray) -> np.ndarray:
        """apply() with another reference for the non-slow channels (the drift-adapted one)."""
        w = np.asarray(windows, dtype=np.float64)
        ref = np.where(self.slow, w.mean(-2, keepdims=True), center)
        return np.clip((w - ref) / self.scale, -self.clip, self.clip).astype(np.float32)


def windows_ending(x: np.ndarray, ends: np.ndarray, t: int) -> np.ndarray:
    """[len(ends), T, C]: the window of T rows ending at each row index in ends (ends >= T-1)."""
    idx = np.asarray(ends)[:, None] + np.arange(-t + 1, 1)[None, :]
    return x[idx]
