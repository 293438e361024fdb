"""The SKAB protocol in Python (mirror of `vigil eval skab`): in each file the first 400 rows fit
the SiteTransform and the Baseline, every later row is scored by the window ending at it, and all
scored rows of all files form one binary classification."""
from __future__ import annotations

import os
from typing import Callable

import numpy as np

from skab_data import SiteTransform, load_csv, windows_ending
from skab_score import Baseline, adapted_inputs, confusion, ewma

BASELINE_ROWS = 400
MIN_ROWS = 450

# (u [n, T, C] float32) -> (embedding [n, d], channel_error [n, C])
Heads = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def score_file(x: np.ndarray, heads: Heads, t: int, transform_params: dict, scoring: dict) -> np.ndarray:
    """Smoothed scores of rows BASELINE_ROWS..end (alarm where > 1)."""
    tf = SiteTransform(transform_params["slownessWindow"], transform_params["slowThreshold"],
                       transform_params["clip"]).fit(x[:BASELINE_ROWS])
    ends = np.arange(t - 1, len(x))
    u = tf.apply(windows_ending(x, ends, t))
    emb, cerr = heads(u)
    nb = BASELINE_ROWS - (t - 1)  # windows entirely inside the baseline rows
    bl = Baseline(scoring, tf.slow).fit(u[:nb], emb[:nb], cerr[:nb])
    if bl.p["adaptRows"] > 0:  # drift adaptation: the scored windows' inputs depend on the gate
        u_s = adapted_inputs(x, tf, bl, ends[nb:], t)
        emb_s, cerr_s = heads(u_s)
        s = bl.score(u_s, emb_s, cerr_s)
    else:
        s = bl.score(u[nb:], emb[nb:], cerr[nb:])
    return ewma(s, bl.p["ewmaAlpha"])


def run_protocol(paths: list[str], heads: Heads, t: int, transform_params: dict, scoring: dict,
                 root: str | None = None) -> dict:
    preds, labs, per = [], [], []
    for p in paths:
        x, lab = load_csv(p)
        if lab is None or len(x) < MIN_ROWS:
            continue
        s = score_file(x, heads, t, transform_params, scoring)
        pred, l = s > 1.0, lab[BASELINE_ROWS:]
        preds.append(pred); labs.append(l)
        m = confusion(pred, l)
        per.append({"file": os.path.relpath(p, root) if root else p, "f1": m["f1"], "far": m["far"],
                    "mar": m["mar"], "rows": m["rows"]})
    tot = confusion(np.concatenate(preds), np.concatenate(labs))
    tot["files"] = per
    return tot


def fmt(m: dict) -> str:
    return f"F1 {m['f1']:.3f} FAR {100 * m['far']:.1f}% MAR {100 * m['mar']:.1f}% ({m['rows']} rows)"
