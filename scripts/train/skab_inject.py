#!/usr/bin/python3
"""Generality checks of the pump-skab recipe on data with no SKAB fault in it.

1. False alarms on normal operation at another operating point: anomaly-free.csv (flow ~125
   instead of ~32), commissioning on rows [b, b+400), the next 600 rows scored; every alarm is
   false. (The model saw these rows in training; the scoring statistics did not.)
2. Synthetic faults: the same segments with, from row b+400+100 on, one channel shifted by k
   baseline standard deviations (a step, like a rotor imbalance raising vibration RMS or a leak
   dropping pressure), or its noise scaled up (k x std added as white noise). Reported: the
   fraction of faulty rows detected per channel and kind, the FAR on the rows before the step, and
   in how many segments an alarm comes within 60 rows of the onset (detection as an event).
   The faulty-row fraction includes drift alarms that would have come without the fault: compare
   it with the FAR of item 1.

Usage: /usr/bin/python3 scripts/train/skab_inject.py [--model-dir models/pump-skab]
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from skab_data import CHANNELS, SiteTransform, load_csv, windows_ending  # noqa: E402
from skab_score import Baseline, adapted_inputs, ewma  # noqa: E402
from train_pump_skab import heads_fn  # noqa: E402
from vigil_tst import VigilTST  # noqa: E402

N0, SCORED, ONSET = 400, 600, 100


def load_model(d: str):
    rec = json.load(open(os.path.join(d, "training.json")))
    m = VigilTST(rec["config"])
    inits = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in onnx.load(os.path.join(d, "model.onnx")).graph.initializer}
    m.load_state_dict({k: inits[k] for k in m.state_dict()})
    return m.eval(), rec


def scores(x, heads, rec):
    t, tfp, sc = rec["config"]["windowLength"], rec["inputTransform"], rec["scoring"]
    tf = SiteTransform(tfp["slownessWindow"], tfp["slowThreshold"], tfp["clip"]).fit(x[:N0])
    u = tf.apply(windows_ending(x, np.arange(t - 1, len(x)), t))
    emb, cerr = heads(u)
    nb = N0 - (t - 1)
    bl = Baseline(sc, tf.slow).fit(u[:nb], emb[:nb], cerr[:nb])
    u_s = adapted_inputs(x, tf, bl, np.arange(N0, len(x)), t)  # drift adaptation (if adaptRows > 0)
    emb_s, cerr_s = heads(u_s)
    return ewma(bl.score(u_s, emb_s, cerr_s), sc["ewmaAlpha"]) > 1, tf


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/work/shared/data/skab")
    ap.add_argument("--model-dir", default="models/pump-skab")
    ap.add_argument("--k", type=float, default=3.0)
    ap.add_argument("--stride", type=int, default=1400, help="rows between commissioning segments")
    ap.add_argument("--no-adapt", action="store_true", help="score without the drift adaptation (adaptRows 0)")
    a = ap.parse_args()
    torch.set_num_threads(2)
    model, rec = load_model(a.model_dir)
    if a.no_adapt:
        rec["scoring"]["adaptRows"] = 0
    heads = heads_fn(model)
    x, _ = load_csv(os.path.join(a.data, "anomaly-free", "anomaly-free.csv"))
    starts = list(range(0, len(x) - N0 - SCORED, a.stride))
    fa = [scores(x[b:b + N0 + SCORED], heads, rec)[0] for b in starts]
    far = float(np.mean(np.concatenate(fa)))
    print(f"anomaly-free.csv: {len(starts)} commissionings, FAR {100 * far:.1f}% over {sum(map(len, fa))} normal rows")
    rng = np.random.default_rng(0)
    print(f"synthetic faults of {a.k} baseline std from scored row {ONSET}: detected fraction of faulty rows (FAR before onset) segments alarmed within 60 rows")
    for c, name in enumerate(CHANNELS):
        row = []
        for kind in ("step+", "step-", "noise"):
            det, pre = [], []
            for b in starts:
                seg = x[b:b + N0 + SCORED].copy()
                sd = seg[:N0, c].std()
                if kind == "noise":
                    seg[N0 + ONSET:, c] += a.k * sd * rng.standard_normal(SCORED - ONSET)
                else:
                    seg[N0 + ONSET:, c] += (a.k if kind == "step+" else -a.k) * sd
                p, _ = scores(seg, heads, rec)
                det.append(p[ONSET:]); pre.append(p[:ONSET])
            within = sum(bool(d[:60].any()) for d in det)
            row.append(f"{kind} {100 * np.mean(np.concatenate(det)):5.1f}% ({100 * np.mean(np.concatenate(pre)):.1f}%) {within}/{len(det)}")
        print(f"  {name:22s} " + "  ".join(row), flush=True)


if __name__ == "__main__":
    main()
