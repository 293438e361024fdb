#!/usr/bin/python3
"""Train the pump-skab anomaly model (vigil-tst, frontend none) on normal SKAB operation.

Data: anomaly-free/anomaly-free.csv (all rows: no anomaly there) and, with --baseline-groups, the
first 400 rows of each experiment file in those groups (the commissioning part of the protocol;
never their labels, never a later row). Each training window is transformed exactly as on site:
a SiteTransform is fitted on a 400-row "commissioning" segment and applied to windows from that
segment and up to --horizon rows after it, so the model learns what site-standardized normal
operation looks like, drift after commissioning included.

Task: denoising reconstruction (input u + noise, some patches zeroed; target the clean u). At
inference the reconstruction heads measure how far a window is from normal dynamics; the
classifier head has the single class "normal".

Usage:
    /usr/bin/python3 scripts/train/train_pump_skab.py --data /work/shared/data/skab --out models/pump-skab
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from skab_data import CHANNELS, TRANSFORM_DEFAULTS, SiteTransform, experiment_files, load_csv, windows_ending  # noqa: E402
from skab_eval import BASELINE_ROWS, fmt, run_protocol  # noqa: E402
from skab_score import SCORING_DEFAULTS  # noqa: E402
from vigil_tst import VigilTST, export_onnx  # noqa: E402


def build_windows(data: str, groups: list[str], t: int, horizon: int, stride: int, tfp: dict,
                  rng: np.random.Generator) -> np.ndarray:
    """Site-transformed normal windows [n, T, C] float32."""
    out = []
    x, _ = load_csv(os.path.join(data, "anomaly-free", "anomaly-free.csv"))
    for b in range(0, len(x) - BASELINE_ROWS - t, stride):
        tf = SiteTransform(tfp["slownessWindow"], tfp["slowThreshold"], tfp["clip"]).fit(x[b:b + BASELINE_ROWS])
        last = min(len(x) - 1, b + BASELINE_ROWS + horizon)
        ends = np.arange(b + t - 1, last + 1, 2)
        out.append(tf.apply(windows_ending(x, ends, t)))
    for p in experiment_files(data):
        if os.path.basename(os.path.dirname(p)) not in groups:
            continue
        x, _ = load_csv(p)
        x = x[:BASELINE_ROWS]  # the commissioning part only
        tf = SiteTransform(tfp["slownessWindow"], tfp["slowThreshold"], tfp["clip"]).fit(x)
        out.append(tf.apply(windows_ending(x, np.arange(t - 1, len(x)), t)))
    return np.concatenate(out)


def heads_fn(model: VigilTST):
    def heads(u: np.ndarray):
        with torch.no_grad():
            _, emb, _, cerr = model(torch.from_numpy(np.ascontiguousarray(u)))
        return emb.numpy().astype(np.float64), cerr.numpy().astype(np.float64)
    return heads


def train(cfg: dict, w: np.ndarray, steps: int, batch: int, lr: float, noise: float, mask: float,
          seed: int) -> VigilTST:
    torch.manual_seed(seed)
    model = VigilTST(cfg)
    model.set_norm(np.zeros(len(CHANNELS)), np.ones(len(CHANNELS)))  # site transform does the scaling
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    data = torch.from_numpy(w)
    g = torch.Generator().manual_seed(seed)
    p = cfg["patchLength"]
    n_tok = cfg["windowLength"] // p
    model.train()
    for step in range(steps):
        xb = data[torch.randint(len(data), (batch,), generator=g)]
        noisy = xb + noise * torch.randn(xb.shape, generator=g)
        keep = (torch.rand(batch, n_tok, 1, generator=g) >= mask).float()
        noisy = (noisy.reshape(batch, n_tok, -1) * keep).reshape(xb.shape)
        z, _ = model.encode(noisy)
        target = xb.reshape(batch, n_tok, -1)
        loss = ((model.recon(z) - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 500 == 0 or step == steps - 1:
            print(f"step {step} loss {loss.item():.4f}", flush=True)
    return model.eval()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/work/shared/data/skab")
    ap.add_argument("--out", default="models/pump-skab")
    ap.add_argument("--baseline-groups", default="valve1,valve2",
                    help="experiment groups whose first 400 rows join the training data ('' for none)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--noise", type=float, default=0.3)
    ap.add_argument("--mask", type=float, default=0.15)
    ap.add_argument("--window", type=int, default=32)
    ap.add_argument("--patch", type=int, default=4)
    ap.add_argument("--d", type=int, default=32)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--horizon", type=int, default=1200)
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("--report", help="skab_report.py --json output to record under figures.checks")
    ap.add_argument("--weights", help="state_dict of a model trained by this recipe (same arguments): skip training")
    args = ap.parse_args()
    torch.set_num_threads(2)
    rng = np.random.default_rng(args.seed)
    groups = [g for g in args.baseline_groups.split(",") if g]
    tfp = dict(TRANSFORM_DEFAULTS)
    cfg = {"name": "pump-skab", "version": "0.1.0", "sampleRateHz": 1, "windowLength": args.window,
           "channels": CHANNELS, "frontend": {"kind": "none"}, "patchLength": args.patch,
           "embeddingLength": args.d, "headCount": 4, "feedForwardLength": 2 * args.d,
           "blockCount": args.layers, "labels": ["normal"], "hasReconstruction": True}
    t0 = time.time()
    w = build_windows(args.data, groups, args.window, args.horizon, 100, tfp, rng)
    print(f"{len(w)} training windows", flush=True)
    if args.weights:
        model = VigilTST(cfg)
        model.load_state_dict(torch.load(args.weights))
        model.eval()
    else:
        model = train(cfg, w, args.steps, args.batch, args.lr, args.noise, args.mask, args.seed)
    train_sec = time.time() - t0

    paths = experiment_files(args.data)
    # Drift adaptation on (docs/anomaly.md "Drift"): the defaults keep it off for other models.
    scoring = {**SCORING_DEFAULTS, "adaptRows": 100, "adaptGate": 0.7, "adaptHoldRows": 60}
    figures = {}
    for name, sel in (("all", paths), ("valve1", [p for p in paths if "/valve1/" in p]),
                      ("valve2", [p for p in paths if "/valve2/" in p])):
        if sel:
            r = run_protocol(sel, heads_fn(model), args.window, tfp, scoring, args.data)
            figures[name] = {k: r[k] for k in ("f1", "far", "mar", "precision", "recall", "tp", "fp", "tn", "fn", "rows")}
            print(f"{name}: {fmt(r)}")
    if args.no_export:
        return
    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, "model.onnx")
    export_onnx(model, onnx_path, {"vigil.input_transform": {"kind": "site-standardize", **tfp},
                                   "vigil.scoring": scoring})
    try:
        commit = subprocess.check_output(["git", "rev-parse", "HEAD"], text=True).strip()
        dirty = bool(subprocess.check_output(["git", "status", "--porcelain", "scripts/train"], text=True).strip())
    except Exception:  # not a git checkout: the record says so
        commit, dirty = "unknown", True
    src = os.path.dirname(os.path.abspath(__file__))
    code_hash = hashlib.sha256(b"".join(open(os.path.join(src, f), "rb").read() for f in
                                        ("train_pump_skab.py", "skab_data.py", "skab_score.py", "skab_eval.py", "vigil_tst.py"))).hexdigest()
    record = {
        "model": "pump-skab",
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "seed": args.seed,
        "code": {"commit": commit, "dirty": dirty, "sha256": code_hash,
                 "torch": torch.__version__, "numpy": np.__version__},
        "data": {"source": "SKAB (waico/SKAB, doi:10.34740/KAGGLE/DSV/1693952, GPL-3.0)",
                 "files": ["anomaly-free/anomaly-free.csv (all rows)"] +
                          [f"{g}/*.csv (first {BASELINE_ROWS} rows only, labels unused)" for g in groups],
                 "windows": int(len(w))},
        "config": cfg,
        "training": {"task": "denoising reconstruction", "steps": args.steps, "batch": args.batch, "lr": args.lr,
                     "noise": args.noise, "patchMask": args.mask, "horizonRows": args.horizon, "seconds": round(train_sec, 1),
                     **({"weightsFrom": os.path.basename(args.weights)} if args.weights else {})},
        "inputTransform": {"kind": "site-standardize", **tfp, "baselineRows": BASELINE_ROWS,
                           "note": "applied in TypeScript before the backend (docs/anomaly.md); model norm is identity"},
        "scoring": scoring,
        "figures": {"protocol": "SKAB outlier protocol, first 400 rows of each file = baseline", "python": figures,
                    **({"checks": json.load(open(args.report))} if args.report else {})},
    }
    with open(os.path.join(args.out, "training.json"), "w") as f:
        json.dump(record, f, indent=2)
        f.write("\n")
    print(f"wrote {onnx_path} and training.json")


if __name__ == "__main__":
    main()
