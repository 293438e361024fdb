"""Spectral front end of docs/model-format.md section 1, in numpy (float64 math, float32 out).

This is the training-side twin of agent/inference/frontend.ts; test/unit/frontend.test.ts pins
the two against a fixture written by `frontend.py --fixture` (max abs diff <= 1e-5).
"""
from __future__ import annotations

import math

import numpy as np

EPS = 1e-6


def feature_shape(window_length: int, channels: int, frontend: dict) -> tuple[int, int]:
    """(T', C') of the front end's output."""
    kind = frontend.get("kind", "none")
    if kind == "none":
        return window_length, channels
    if kind == "spectral":
        return int(frontend["bins"]), 3 * channels
    raise ValueError(f"frontend.kind: expected 'none' or 'spectral' but received {kind!r}")


def _check(window_length: int, sample_rate_hz: float, frontend: dict) -> None:
    t = window_length
    if t <= 0 or t & (t - 1):
        raise ValueError(f"windowLength: expected a power of two but received {t}")
    b = int(frontend["bins"])
    if b <= 0 or (t // 2) % b:
        raise ValueError(f"frontend.bins: expected a divisor of windowLength/2={t // 2} but received {b}")
    lo, hi = float(frontend["bandLowHz"]), float(frontend["bandHighHz"])
    if not 0 <= lo < hi:
        raise ValueError(f"frontend band: expected 0 <= bandLowHz < bandHighHz but received {lo}..{hi}")


def spectral(x: np.ndarray, sample_rate_hz: float, frontend: dict) -> np.ndarray:
    """x: [T, C] or [batch, T, C] raw windows. Returns [.., B, 3C] float32."""
    single = x.ndim == 2
    xb = np.asarray(x, dtype=np.float64)
    if single:
        xb = xb[None]
    nb, t, c = xb.shape
    _check(t, sample_rate_hz, frontend)
    b = int(frontend["bins"])
    fs = float(sample_rate_hz)
    n = np.arange(t, dtype=np.float64)
    w = 0.5 - 0.5 * np.cos(2.0 * math.pi * n / t)
    wsum = w.sum()
    k_lo = int(math.ceil(float(frontend["bandLowHz"]) * t / fs))
    k_hi = min(t // 2 - 1, int(math.floor(float(frontend["bandHighHz"]) * t / fs)))
    g = (t // 2) // b

    s = xb - xb.mean(axis=1, keepdims=True)  # [nb, t, c]
    s = np.moveaxis(s, 1, 2)  # [nb, c, t]
    sw = np.fft.fft(s * w, axis=-1)
    mag = 2.0 * np.abs(sw) / wsum  # [nb, c, t]
    spec = np.log(mag[..., :b] + EPS)
    band = np.log(mag[..., : t // 2].reshape(nb, c, b, g).mean(axis=-1) + EPS)

    y = np.fft.fft(s, axis=-1)
    z = np.zeros_like(y)
    if k_lo <= k_hi:
        z[..., k_lo : k_hi + 1] = 2.0 * y[..., k_lo : k_hi + 1]
    e = np.abs(np.fft.ifft(z, axis=-1))
    e = e - e.mean(axis=-1, keepdims=True)
    env = np.log(2.0 * np.abs(np.fft.fft(e * w, axis=-1))[..., :b] / wsum + EPS)

    feats = np.stack([spec, env, band], axis=2)  # [nb, c, 3, b]
    feats = feats - feats.mean(axis=-1, keepdims=True)
    out = feats.reshape(nb, 3 * c, b).transpose(0, 2, 1)  # [nb, b, 3c]
    out = out.astype(np.float32)
    return out[0] if single else out


def apply(x: np.ndarray, sample_rate_hz: float, frontend: dict) -> np.ndarray:
    """The front end selected by frontend['kind'] ('none' passes x through as float32)."""
    kind = frontend.get("kind", "none")
    if kind == "none":
        return np.asarray(x, dtype=np.float32)
    if kind == "spectral":
        return spectral(x, sample_rate_hz, frontend)
    raise ValueError(f"frontend.kind: expected 'none' or 'spectral' but received {kind!r}")


def write_fixture(path: str) -> None:
    """Fixed raw windows and their spectral features, pinned against agent/inference/frontend.ts
    by test/unit/frontend.test.ts. Inputs are float32 values written exactly."""
    import json

    rng = np.random.default_rng(20261123)
    cases = []
    specs = [
        # a bearing-like case: tones, impacts ringing 2 kHz, noise; two channels
        (1024, 2, 8192.0, {"kind": "spectral", "bins": 64, "bandLowHz": 500.0, "bandHighHz": 3000.0}),
        # odd band edges (ceil/floor), band reaching past Nyquist, one channel
        (256, 1, 1000.0, {"kind": "spectral", "bins": 32, "bandLowHz": 33.3, "bandHighHz": 900.0}),
        # the rotating-vib model's front end at full size
        (8192, 1, 8192.0, {"kind": "spectral", "bins": 512, "bandLowHz": 500.0, "bandHighHz": 4000.0}),
    ]
    for t, c, fs, fe in specs:
        n = np.arange(t) / fs
        x = np.zeros((t, c))
        for ch in range(c):
            x[:, ch] = 0.7 * np.sin(2 * np.pi * 29.5 * n + ch) + 0.2 * np.sin(2 * np.pi * 59 * n)
            period = int(fs / 97)
            for k in range(0, t, period):
                m = np.arange(t - k)
                x[k:, ch] += 1.5 * np.exp(-m / (0.002 * fs)) * np.sin(2 * np.pi * min(2000.0, fs * 0.3) * m / fs)
            x[:, ch] += 0.05 * rng.standard_normal(t) + 3.0  # DC offset the front end removes
        x32 = x.astype(np.float32)
        f = spectral(x32, fs, fe)
        cases.append({
            "windowLength": t, "channels": c, "sampleRateHz": fs, "frontend": fe,
            "x": [float(v) for v in x32.ravel()],
            "features": [float(v) for v in f.ravel()],
            "featureShape": list(f.shape),
        })
    with open(path, "w") as fh:
        json.dump({"generator": "scripts/train/frontend.py --fixture", "cases": cases}, fh)


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--fixture":
        write_fixture(sys.argv[2])
    else:
        raise SystemExit("usage: frontend.py --fixture OUT.json")
