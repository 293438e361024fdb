#!/usr/bin/python3
"""Expected scores of the shipped pump-skab model on a SKAB fixture file, computed by the NumPy
mirror (skab_score.py) with the weights read back from model.onnx (the contract's initializer
names are the PyTorch state_dict names). test/unit/eval-skab-model.test.ts checks that the
TypeScript scoring through onnxruntime-node gives the same numbers.

Usage: /usr/bin/python3 scripts/train/skab_fixture_scores.py models/pump-skab test/fixtures/skab/valve1/0.csv OUT.json
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from skab_data import SiteTransform, load_csv, windows_ending  # noqa: E402
from skab_eval import BASELINE_ROWS  # noqa: E402
from skab_score import Baseline, adapted_inputs, ewma  # noqa: E402
from train_pump_skab import heads_fn  # noqa: E402
from vigil_tst import VigilTST  # noqa: E402


def main() -> None:
    model_dir, csv_path, out = sys.argv[1:4]
    rec = json.load(open(os.path.join(model_dir, "training.json")))
    model = VigilTST(rec["config"])
    inits = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in onnx.load(os.path.join(model_dir, "model.onnx")).graph.initializer}
    state = model.state_dict()
    model.load_state_dict({k: inits[k] for k in state})
    model.eval()
    tfp, sc = rec["inputTransform"], rec["scoring"]
    t = rec["config"]["windowLength"]
    x, lab = load_csv(csv_path)
    tf = SiteTransform(tfp["slownessWindow"], tfp["slowThreshold"], tfp["clip"]).fit(x[:BASELINE_ROWS])
    u = tf.apply(windows_ending(x, np.arange(t - 1, len(x)), t))
    emb, cerr = heads_fn(model)(u)
    nb = BASELINE_ROWS - (t - 1)
    bl = Baseline(sc, tf.slow).fit(u[:nb], emb[:nb], cerr[:nb])
    u_s = adapted_inputs(x, tf, bl, np.arange(BASELINE_ROWS, len(x)), t)  # = u[nb:] without adaptation
    emb_s, cerr_s = heads_fn(model)(u_s)
    scores = ewma(bl.score(u_s, emb_s, cerr_s), sc["ewmaAlpha"])
    json.dump({
        "file": os.path.basename(os.path.dirname(csv_path)) + "/" + os.path.basename(csv_path),
        "slow": tf.slow.tolist(),
        "center": tf.center.tolist(),
        "scale": tf.scale.tolist(),
        "thresholds": {k: float(v) for k, v in bl.thr.items()},
        "scores": [round(float(s), 6) for s in scores],
    }, open(out, "w"))
    print(f"{out}: {len(scores)} scores, {int((scores > 1).sum())} above 1")


if __name__ == "__main__":
    main()
