#!/usr/bin/python3
"""Python-side SKAB figures of the pump-skab recipe, and the checks that it is not fitted to the
files it is scored on:

  shipped     the model as trained by train_pump_skab.py defaults (anomaly-free + first 400 rows
              of valve1 and valve2), default scoring: all / valve1 / valve2
  af-only     model trained on anomaly-free.csv alone (no experiment rows at all)
  logo        leave one group out: model trained with the other group's first-400 rows only,
              scored on the held-out group
  tuned-v1    scoring parameters chosen by grid search on valve1 alone (model without valve2
              rows), then applied unchanged to valve2

All of these score without the drift adaptation (SCORING_DEFAULTS has adaptRows 0: the heads are
computed once per file and cached); the shipped scoring with adaptation is what skab_eval.py and
`vigil eval skab` report (docs/anomaly.md section 6).

Usage: /usr/bin/python3 scripts/train/skab_report.py --data /work/shared/data/skab [--cache DIR] [--json OUT]
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_pump_skab as T  # noqa: E402
from skab_data import CHANNELS, TRANSFORM_DEFAULTS, SiteTransform, experiment_files, load_csv, windows_ending  # noqa: E402
from skab_eval import BASELINE_ROWS, fmt  # noqa: E402
from skab_score import SCORING_DEFAULTS, Baseline, confusion, ewma  # noqa: E402

WINDOW = 32


def model_for(data: str, groups: list[str], cache: str, steps: int) -> T.VigilTST:
    cfg = {"name": "pump-skab", "version": "0.1.0", "sampleRateHz": 1, "windowLength": WINDOW, "channels": CHANNELS,
           "frontend": {"kind": "none"}, "patchLength": 4, "embeddingLength": 32, "headCount": 4,
           "feedForwardLength": 64, "blockCount": 2, "labels": ["normal"], "hasReconstruction": True}
    path = os.path.join(cache, f"pump-skab-{'+'.join(groups) or 'af'}-{steps}.pt")
    model = T.VigilTST(cfg)
    if os.path.exists(path):
        model.load_state_dict(torch.load(path))
        return model.eval()
    w = T.build_windows(data, groups, WINDOW, 1200, 100, dict(TRANSFORM_DEFAULTS), None)
    model = T.train(cfg, w, steps, 128, 2e-3, 0.3, 0.15, 0)
    torch.save(model.state_dict(), path)
    return model


def heads_cache(model, paths):
    heads = T.heads_fn(model)
    tfp = TRANSFORM_DEFAULTS
    out = []
    for p in paths:
        x, lab = load_csv(p)
        tf = SiteTransform(tfp["slownessWindow"], tfp["slowThreshold"], tfp["clip"]).fit(x[:BASELINE_ROWS])
        u = tf.apply(windows_ending(x, np.arange(WINDOW - 1, len(x)), WINDOW))
        emb, cerr = heads(u)
        out.append((p, u, emb, cerr, tf.slow, lab[BASELINE_ROWS:]))
    return out


def evaluate(cached, scoring):
    preds, labs = [], []
    nb = BASELINE_ROWS - (WINDOW - 1)
    for (_, u, emb, cerr, slow, lab) in cached:
        bl = Baseline(scoring, slow).fit(u[:nb], emb[:nb], cerr[:nb])
        preds.append(ewma(bl.score(u[nb:], emb[nb:], cerr[nb:]), scoring["ewmaAlpha"]) > 1)
        labs.append(lab)
    return confusion(np.concatenate(preds), np.concatenate(labs))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/work/shared/data/skab")
    ap.add_argument("--cache", default="/tmp/vigil-skab-report")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--json")
    args = ap.parse_args()
    torch.set_num_threads(2)
    os.makedirs(args.cache, exist_ok=True)
    paths = experiment_files(args.data)
    v1 = [p for p in paths if "/valve1/" in p]
    v2 = [p for p in paths if "/valve2/" in p]
    sc = dict(SCORING_DEFAULTS)
    res: dict = {}

    def show(name, m):
        res[name] = {k: m[k] for k in ("f1", "far", "mar", "rows")}
        print(f"{name:38s} {fmt(m)}", flush=True)

    full = model_for(args.data, ["valve1", "valve2"], args.cache, args.steps)
    c1, c2 = heads_cache(full, v1), heads_cache(full, v2)
    show("shipped: all", evaluate(c1 + c2, sc))
    show("shipped: valve1", evaluate(c1, sc))
    show("shipped: valve2", evaluate(c2, sc))
    for comps in (["level"], ["recon"], ["t2"], ["recon", "t2"]):
        show(f"shipped, only {'+'.join(comps)}: all", evaluate(c1 + c2, {**sc, "components": comps}))

    af = model_for(args.data, [], args.cache, args.steps)
    show("af-only model: all", evaluate(heads_cache(af, v1 + v2), sc))

    m1 = model_for(args.data, ["valve1"], args.cache, args.steps)   # never saw a valve2 row
    m2 = model_for(args.data, ["valve2"], args.cache, args.steps)   # never saw a valve1 row
    h1_v1, h1_v2 = heads_cache(m1, v1), heads_cache(m1, v2)
    h2_v1 = heads_cache(m2, v1)
    show("logo: train valve1 -> valve2", evaluate(h1_v2, sc))
    show("logo: train valve2 -> valve1", evaluate(h2_v1, sc))
    pre = [p for p in (h2_v1, h1_v2)]
    show("logo: pooled", confusion_pool(pre, sc))

    best = None
    for lw, q, mg, a in itertools.product((8, 12, 16), (0.95, 0.99, 1.0), (2, 2.5, 3, 3.5, 4), (0.2, 0.3, 0.5, 1.0)):
        s = {**sc, "levelWindow": lw, "quantile": q, "margin": mg, "ewmaAlpha": a}
        m = evaluate(h1_v1, s)
        ok = m["far"] <= 0.10 and m["mar"] <= 0.20
        key = (ok, m["f1"])
        if best is None or key > best[0]:
            best = (key, s, m)
    _, s_best, m_best = best
    print(f"tuned on valve1: levelWindow {s_best['levelWindow']} quantile {s_best['quantile']} "
          f"margin {s_best['margin']} ewmaAlpha {s_best['ewmaAlpha']}")
    show("tuned-v1: valve1 (in-sample)", m_best)
    show("tuned-v1: valve2 (held out)", evaluate(h1_v2, s_best))
    res["tunedOnValve1"] = {k: s_best[k] for k in ("levelWindow", "quantile", "margin", "ewmaAlpha")}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=2)


def confusion_pool(cached_groups, sc):
    tot = None
    for c in cached_groups:
        m = evaluate(c, sc)
        tot = m if tot is None else {k: tot[k] + m[k] for k in ("tp", "fp", "tn", "fn", "rows")}
    tp, fp, tn, fn = tot["tp"], tot["fp"], tot["tn"], tot["fn"]
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"f1": 2 * p * r / (p + r) if p + r else 0.0, "far": fp / (fp + tn), "mar": fn / (fn + tp), "rows": tot["rows"]}


if __name__ == "__main__":
    main()
