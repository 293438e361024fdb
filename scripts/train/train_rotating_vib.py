#!/usr/bin/python3
"""Train the rotating-vib classifier (vigil-tst, spectral front end) on simulated vibration.

Reproduce (see scripts/train/README.md):
    npm run build:ts
    node scripts/train/gen_sim_data.mjs ...   (three splits, exact commands in the README)
    /usr/bin/python3 scripts/train/train_rotating_vib.py --data /tmp/vigil-train --out models/rotating-vib

Writes OUT/model.onnx, OUT/training.json, OUT/calib.f32 + OUT/calib.json.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import frontend  # noqa: E402
from vigil_tst import VigilTST, export_onnx, write_reference  # noqa: E402

LABELS = ["healthy", "imbalance", "misalignment", "looseness", "bearing_outer", "bearing_inner", "bearing_ball"]

MODEL_CONFIG = {
    "name": "rotating-vib",
    "version": "1.0.0",
    "sampleRateHz": 8192,
    "windowLength": 8192,
    "channels": ["accel"],
    "frontend": {"kind": "spectral", "bins": 512, "bandLowHz": 500.0, "bandHighHz": 4000.0},
    "patchLength": 8,
    "embeddingLength": 64,
    "headCount": 4,
    "feedForwardLength": 256,
    "blockCount": 2,
    "labels": LABELS,
    "layerNormEps": 1e-5,
    "hasReconstruction": True,
}


def load_split(data: str, split: str, cfg: dict):
    """(features [n, T', C'] float32, labels [n], meta) with features cached in <split>.feat.npy."""
    meta = json.load(open(os.path.join(data, f"{split}.json")))
    if meta["labels"] != LABELS:
        raise SystemExit(f"{split}: labels {meta['labels']} != {LABELS}")
    if meta["window"] != cfg["windowLength"] or meta["sampleRate"] != cfg["sampleRateHz"]:
        raise SystemExit(f"{split}: window/sample rate {meta['window']}/{meta['sampleRate']} differ from the model config")
    n, t = meta["count"], meta["window"]
    cache = os.path.join(data, f"{split}.feat.npy")
    raw = np.memmap(os.path.join(data, f"{split}.f32"), dtype="<f4", mode="r", shape=(n, t, 1))
    if os.path.exists(cache) and os.path.getmtime(cache) > os.path.getmtime(os.path.join(data, f"{split}.f32")):
        feats = np.load(cache)
    else:
        t0 = time.time()
        feats = np.empty((n, cfg["frontend"]["bins"], 3), dtype=np.float32)
        for i in range(0, n, 256):
            feats[i:i + 256] = frontend.spectral(np.asarray(raw[i:i + 256]), cfg["sampleRateHz"], cfg["frontend"])
        np.save(cache, feats)
        print(f"{split}: features for {n} windows in {time.time() - t0:.0f} s", flush=True)
    labels = np.array([w["label"] for w in meta["windows"]], dtype=np.int64)
    return feats, labels, meta, raw


def evaluate(model: VigilTST, feats: np.ndarray, labels: np.ndarray, batch: int = 512):
    model.eval()
    preds = []
    with torch.no_grad():
        for i in range(0, len(feats), batch):
            probs = model(torch.from_numpy(feats[i:i + batch]))[0]
            preds.append(probs.argmax(-1).numpy())
    pred = np.concatenate(preds)
    k = len(LABELS)
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (labels, pred), 1)
    return float((pred == labels).mean()), cm, pred


def calib_probs(model: VigilTST, feats: np.ndarray) -> list:
    model.eval()
    with torch.no_grad():
        probs = model(torch.from_numpy(np.ascontiguousarray(feats)))[0].numpy()
    return [[round(float(p), 6) for p in row] for row in probs]


def git_commit() -> str:
    try:
        sha = subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=HERE, text=True).strip()
        dirty = subprocess.call(["git", "diff", "--quiet", "HEAD", "--", "agent/sim", "scripts/train"],
                                cwd=os.path.join(HERE, "../..")) != 0
        return sha + ("-dirty" if dirty else "")
    except Exception as exc:  # a tarball without .git still trains; the record says so
        return f"unknown ({exc})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/tmp/vigil-train")
    ap.add_argument("--out", default=os.path.join(HERE, "../../models/rotating-vib"))
    ap.add_argument("--epochs", type=int, default=16)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--recon-weight", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--samples-per-epoch", type=int, default=0,
                    help="random subset of the training windows per epoch (0 = all); keeps epochs short on shared cores")
    ap.add_argument("--calib-count", type=int, default=252)
    ap.add_argument("--warp", type=float, default=1.15,
                    help="speed augmentation: resample raw windows by a factor in [1/warp, warp] (1 = off)")
    ap.add_argument("--warp-prob", type=float, default=0.5, help="fraction of training windows warped")
    ap.add_argument("--init", default="", help="start from a state_dict saved by an earlier run (DATA/rotating-vib.pt)")
    ap.add_argument("--train-splits", default="train",
                    help="comma-separated training splits in DATA (e.g. train,train_b: more assets, another severity range)")
    ap.add_argument("--noise-prob", type=float, default=0.0,
                    help="fraction of training windows given extra white sensor noise (0 = off)")
    ap.add_argument("--noise-rms", default="0.01:0.12",
                    help="extra noise RMS range lo:hi, m/s^2 at sensor gain 1 (log-uniform)")
    ap.add_argument("--class-weights", default="",
                    help="cross-entropy weight per label, e.g. misalignment=1.5,bearing_ball=1.5 (others 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    cfg = dict(MODEL_CONFIG)

    train_splits = [s for s in args.train_splits.split(",") if s]
    trs = {s: load_split(args.data, s, cfg) for s in train_splits}
    xtr = np.concatenate([v[0] for v in trs.values()]) if len(trs) > 1 else trs[train_splits[0]][0]
    ytr = np.concatenate([v[1] for v in trs.values()])
    raw_parts = [v[3] for v in trs.values()]
    part_of = np.concatenate([np.full(len(v[1]), k) for k, v in enumerate(trs.values())])
    local_of = np.concatenate([np.arange(len(v[1])) for v in trs.values()])
    # windows of one asset are stored back to back: window i continues in window i+1 (same split)
    seeds_tr = np.concatenate([np.array([w["seed"] for w in v[2]["windows"]]) for v in trs.values()])
    has_next = np.zeros(len(seeds_tr), dtype=bool)
    has_next[:-1] = (seeds_tr[:-1] == seeds_tr[1:]) & (part_of[:-1] == part_of[1:])
    class_w = np.ones(len(LABELS), dtype=np.float32)
    for item in filter(None, args.class_weights.split(",")):
        name, _, val = item.partition("=")
        if name not in LABELS:
            raise SystemExit(f"--class-weights: expected a label of {LABELS} but received {name!r}")
        class_w[LABELS.index(name)] = float(val)

    gain_tr = np.concatenate([np.array([w["sensorGain"] for w in v[2]["windows"]]) for v in trs.values()])
    noise_lo, noise_hi = (float(v) for v in args.noise_rms.split(":"))

    def raw_window(i: int) -> np.ndarray:
        return raw_parts[part_of[i]][local_of[i], :, 0]
    t_raw = cfg["windowLength"]
    grid = np.arange(t_raw, dtype=np.float64)

    def batch_features(idx: np.ndarray) -> np.ndarray:
        """Cached features, with a random subset recomputed from speed-warped raw windows: x'(t) =
        x(s t) scales every frequency (shaft orders, bearing lines, resonance) by s, so the model
        sees a continuum of speeds instead of memorizing the speeds of the training seeds.
        Optionally (--noise-prob) another subset gets extra white sensor noise, its RMS drawn
        log-uniform in --noise-rms (m/s^2) and scaled by the window's sensor gain, as the
        simulator's own sensor noise is."""
        f = xtr[idx]
        warp_on = args.warp > 1 and args.warp_prob > 0
        noise_on = args.noise_prob > 0
        if not warp_on and not noise_on:
            return f
        aug = rng.random(len(idx)) < args.warp_prob if warp_on else np.zeros(len(idx), dtype=bool)
        noisy = rng.random(len(idx)) < args.noise_prob if noise_on else np.zeros(len(idx), dtype=bool)
        redo = aug | noisy
        if not redo.any():
            return f
        f = f.copy()
        ii = idx[redo]
        s = np.exp(rng.uniform(-np.log(args.warp), np.log(args.warp), len(ii))) if warp_on else np.ones(len(ii))
        s = np.where(aug[redo], s, 1.0)
        s = np.where(has_next[ii], s, np.minimum(s, 1.0))  # s > 1 reads past the window end
        warped = np.empty((len(ii), t_raw, 1), dtype=np.float32)
        for j, (i, sj) in enumerate(zip(ii, s)):
            src = raw_window(i) if sj <= 1 else np.concatenate([raw_window(i), raw_window(i + 1)])
            warped[j, :, 0] = src[:t_raw] if sj == 1 else np.interp(grid * sj, np.arange(len(src)), src)
        if noise_on:
            nz = noisy[redo]
            rms = np.exp(rng.uniform(np.log(noise_lo), np.log(noise_hi), int(nz.sum()))) * gain_tr[ii[nz]]
            warped[nz, :, 0] += (rms[:, None] * rng.standard_normal((int(nz.sum()), t_raw))).astype(np.float32)
        f[redo] = frontend.spectral(warped, cfg["sampleRateHz"], cfg["frontend"])
        return f

    vals = {s: load_split(args.data, s, cfg) for s in ("val_band", "val_seeds")}

    model = VigilTST(cfg)
    mean = xtr.mean(axis=(0, 1))
    std = xtr.std(axis=(0, 1))
    if args.init:
        model.load_state_dict(torch.load(args.init))
        print(f"continuing from {args.init}", flush=True)
    model.set_norm(mean, std)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    per_epoch = args.samples_per_epoch or len(xtr)
    steps_per_epoch = (per_epoch + args.batch - 1) // args.batch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch,
                                                pct_start=0.1)
    ce = torch.nn.CrossEntropyLoss(weight=torch.from_numpy(class_w), label_smoothing=0.05)
    yt = torch.from_numpy(ytr)
    history = []
    t_start = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = rng.permutation(len(xtr))[:per_epoch]
        tot = {"ce": 0.0, "recon": 0.0, "acc": 0.0}
        t0 = time.time()
        for i in range(steps_per_epoch):
            idx = perm[i * args.batch:(i + 1) * args.batch]
            logits, rec = model.logits_and_recon_loss(torch.from_numpy(batch_features(idx)))
            loss_ce = ce(logits, yt[torch.from_numpy(idx)])
            loss = loss_ce + args.recon_weight * rec
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            tot["ce"] += float(loss_ce) * len(idx)
            tot["recon"] += float(rec) * len(idx)
            tot["acc"] += float((logits.argmax(-1) == yt[torch.from_numpy(idx)]).float().sum())
        row = {"epoch": epoch + 1, **{k: v / per_epoch for k, v in tot.items()}, "sec": round(time.time() - t0, 1)}
        for s, (xv, yv, _, _) in vals.items():
            row[f"{s}_acc"] = evaluate(model, xv, yv)[0]
        history.append(row)
        print(json.dumps(row), flush=True)
        torch.save(model.state_dict(), os.path.join(args.data, "rotating-vib.partial.pt"))  # a crash keeps the epochs

    os.makedirs(args.out, exist_ok=True)
    results = {}
    for s, (xv, yv, mv, _) in vals.items():
        acc, cm, pred = evaluate(model, xv, yv)
        wrong = [{"window": int(i), "label": LABELS[yv[i]], "pred": LABELS[pred[i]], **{k: mv["windows"][i][k] for k in ("seed", "rpm", "severity")}}
                 for i in np.nonzero(pred != yv)[0][:20]]
        results[s] = {"accuracy": acc, "count": int(len(yv)), "confusion": cm.tolist(), "errors": wrong,
                      "rpm": [mv["rpm"], mv["excludeRpm"]], "seedBase": mv["seedBase"]}
        print(f"{s}: accuracy {acc:.4f} ({len(yv)} windows)\n{cm}", flush=True)

    torch.save(model.state_dict(), os.path.join(args.data, "rotating-vib.pt"))  # not shipped
    onnx_path = os.path.join(args.out, "model.onnx")
    export_onnx(model, onnx_path, {"vigil.training.commit": git_commit()})
    # torch reference for scripts/train/check_onnx.mjs (kept in the data dir, not the bundle)
    xs = torch.from_numpy(vals["val_band"][0][:16])
    with torch.no_grad():
        ys = model(xs)
    write_reference(os.path.join(args.data, "model.onnx"), xs, ys)  # check_onnx.mjs --ref DATA/model.onnx

    # Calibration / held-out raw windows for the converter: balanced across classes, from the
    # held-out speed band (unseen seeds and speeds), time-major float32 little-endian.
    xv, yv, mv, raw = vals["val_band"]
    per = args.calib_count // len(LABELS)
    pick = np.concatenate([rng.choice(np.nonzero(yv == k)[0], per, replace=False) for k in range(len(LABELS))])
    pick.sort()
    np.ascontiguousarray(raw[pick], dtype="<f4").tofile(os.path.join(args.out, "calib.f32"))
    json.dump({
        "file": "calib.f32", "dtype": "float32", "byteOrder": "little", "layout": "[count][windowLength][channels]",
        "count": int(len(pick)), "windowLength": cfg["windowLength"], "channels": cfg["channels"],
        "sampleRateHz": cfg["sampleRateHz"], "labelNames": LABELS,
        "labels": [LABELS[int(yv[i])] for i in pick],
        "labelIndex": [int(yv[i]) for i in pick],
        "source": {"split": "val_band", "windows": [mv["windows"][i] for i in pick]},
        # torch fp32 on frontend.py features: what any backend must reproduce from the raw windows
        "torchProbs": calib_probs(model, xv[pick]),
    }, open(os.path.join(args.out, "calib.json"), "w"))

    record = {
        "model": {k: v for k, v in cfg.items()},
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "argv": sys.argv[1:],
        "seed": args.seed,
        "tools": {"torch": torch.__version__, "numpy": np.__version__, "python": sys.version.split()[0]},
        "data": {
            "generator": "scripts/train/gen_sim_data.mjs (agent/sim simulator)",
            **{s: {k: v[2][k] for k in ("seedBase", "assetsPerClass", "windowsPerAsset", "rpm", "excludeRpm", "severity", "count", "warmup")} for s, v in trs.items()},
            **{s: {k: v[2][k] for k in ("seedBase", "assetsPerClass", "windowsPerAsset", "rpm", "excludeRpm", "severity", "count", "warmup")} for s, v in vals.items()},
        },
        "training": {"init": args.init or None, "epochs": args.epochs, "samplesPerEpoch": per_epoch, "batch": args.batch, "optimizer": "AdamW(wd=0.01) + OneCycle",
                     "lr": args.lr, "labelSmoothing": 0.05, "trainSplits": train_splits,
                     "classWeights": {l: float(w) for l, w in zip(LABELS, class_w)},
                     "speedWarp": {"factor": args.warp, "prob": args.warp_prob},
                     "noiseAug": {"prob": args.noise_prob, "rms": [noise_lo, noise_hi]} if args.noise_prob > 0 else None, "reconWeight": args.recon_weight,
                     "threads": args.threads, "seconds": round(time.time() - t_start), "history": history},
        "norm": {"mean": mean.tolist(), "std": std.tolist()},
        "validation": results,
        "onnxBytes": os.path.getsize(onnx_path),
    }
    json.dump(record, open(os.path.join(args.out, "training.json"), "w"), indent=1)
    print(f"wrote {onnx_path} ({record['onnxBytes']} bytes)")


if __name__ == "__main__":
    main()
