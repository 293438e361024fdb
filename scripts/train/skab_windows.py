#!/usr/bin/python3
"""Calibration and held-out window files for converting pump-skab (agent/model/window-file.ts
binary format: <name>.json descriptor + <name>.f32). The windows are what the backend receives on
site: SITE-TRANSFORMED windows (skab_data.SiteTransform fitted on each file's first 400 rows),
not raw readings.

  calib    normal windows: anomaly-free.csv segments after a 400-row commissioning segment, and
           the first 400 rows of each experiment file (the training distribution)
  heldout  windows ending at scored rows (>= 400) of the experiment files, normal and anomalous
           (labels kept as 0/1 for reference), the distribution the int8 model must rank like fp32

Usage: /usr/bin/python3 scripts/train/skab_windows.py --data /work/shared/data/skab --out models/pump-skab
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from skab_data import CHANNELS, TRANSFORM_DEFAULTS, SiteTransform, experiment_files, load_csv, windows_ending  # noqa: E402

T = 32
N0 = 400


def tf_for(rows):
    p = TRANSFORM_DEFAULTS
    return SiteTransform(p["slownessWindow"], p["slowThreshold"], p["clip"]).fit(rows)


def write(out_dir: str, name: str, w: np.ndarray, labels: list | None) -> None:
    desc = {"count": int(len(w)), "windowLength": T, "channels": CHANNELS, "file": f"{name}.f32",
            "note": "site-transformed windows (docs/anomaly.md section 1), not raw readings"}
    if labels is not None:
        desc["labels"] = labels
    w.astype("<f4").tofile(os.path.join(out_dir, f"{name}.f32"))
    with open(os.path.join(out_dir, f"{name}.json"), "w") as f:
        json.dump(desc, f)
    print(f"{name}: {len(w)} windows")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/work/shared/data/skab")
    ap.add_argument("--out", default="models/pump-skab")
    ap.add_argument("--count", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    calib = []
    x, _ = load_csv(os.path.join(a.data, "anomaly-free", "anomaly-free.csv"))
    for b in range(0, len(x) - N0 - 1200, 1000):
        tf = tf_for(x[b:b + N0])
        calib.append(tf.apply(windows_ending(x, rng.integers(b + T - 1, b + N0 + 1200, 12), T)))
    held, labs = [], []
    for p in experiment_files(a.data):
        x, lab = load_csv(p)
        tf = tf_for(x[:N0])
        calib.append(tf.apply(windows_ending(x, rng.integers(T - 1, N0, 8), T)))
        ends = rng.integers(N0, len(x), 16)
        held.append(tf.apply(windows_ending(x, ends, T)))
        labs += [int(v) for v in lab[ends]]
    calib = np.concatenate(calib)
    calib = calib[rng.permutation(len(calib))[: a.count]]
    write(a.out, "calib", calib, None)
    write(a.out, "heldout", np.concatenate(held), labs)


if __name__ == "__main__":
    main()
