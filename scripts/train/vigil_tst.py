"""Reference PyTorch implementation of the vigil-tst network (docs/model-format.md section 2)
and its ONNX export (section 3).

The modules are written out by hand (no nn.TransformerEncoderLayer) so that the state_dict names
ARE the contract's initializer names: norm.mean, patch_embd.weight, pos_embd, blk.{i}.attn_qkv.*,
..., cls.*, recon.*. The converter reads those names from the ONNX file.

Config dict (camelCase like the bundle manifest):
    name, version, sampleRateHz, windowLength, channels (list of raw channel names),
    frontend {kind: none|spectral, bins, bandLowHz, bandHighHz},
    patchLength P, embeddingLength d, headCount H, feedForwardLength F, blockCount L,
    labels (K names), layerNormEps (1e-5), hasReconstruction (True)

Usage:
    from vigil_tst import VigilTST, export_onnx
    model = VigilTST(cfg); model.set_norm(mean, std)   # per feature channel, from training data
    probs, emb, patch_err, chan_err = model(features)  # features [batch, T', C']
    export_onnx(model, "model.onnx")
"""
from __future__ import annotations

import json
import math
import os
import sys
from typing import Any

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import frontend as _frontend  # noqa: E402

OPSET = 17

DEFAULTS = {
    "version": "0.1.0",
    "layerNormEps": 1e-5,
    "hasReconstruction": True,
    "frontend": {"kind": "none"},
}


def resolve_config(cfg: dict) -> dict:
    """Defaults filled in and every constraint of section 2 checked; derived sizes added."""
    c = {**DEFAULTS, **cfg}
    c["frontend"] = {**DEFAULTS["frontend"], **cfg.get("frontend", {})}
    for key in ("name", "sampleRateHz", "windowLength", "channels", "patchLength", "embeddingLength",
                "headCount", "feedForwardLength", "blockCount", "labels"):
        if key not in c:
            raise ValueError(f"config.{key}: expected a value but received nothing")
    t_feat, c_feat = _frontend.feature_shape(int(c["windowLength"]), len(c["channels"]), c["frontend"])
    p, d, h = int(c["patchLength"]), int(c["embeddingLength"]), int(c["headCount"])
    if p <= 0 or t_feat % p:
        raise ValueError(f"config.patchLength: expected a divisor of T'={t_feat} but received {p}")
    if h <= 0 or d % h:
        raise ValueError(f"config.headCount: expected a divisor of embeddingLength={d} but received {h}")
    c["featureLength"] = t_feat
    c["featureChannels"] = c_feat
    c["tokenCount"] = t_feat // p
    return c


class FeatureNorm(nn.Module):
    """u = (f - mean[c]) / std[c]; buffers export as initializers norm.mean / norm.std."""

    def __init__(self, channels: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(channels))
        self.register_buffer("std", torch.ones(channels))

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return (f - self.mean) / self.std


class Block(nn.Module):
    """Pre-norm Transformer block: h += MHA(LN(h)); h += FFN(LN(h)). GELU is the exact erf form."""

    def __init__(self, d: int, heads: int, ffn: int, eps: float):
        super().__init__()
        self.heads = heads
        self.sqrt_dh = math.sqrt(d // heads)  # a Python constant, not traced from shapes
        self.attn_norm = nn.LayerNorm(d, eps=eps)
        self.attn_qkv = nn.Linear(d, 3 * d)
        self.attn_output = nn.Linear(d, d)
        self.ffn_norm = nn.LayerNorm(d, eps=eps)
        self.ffn_up = nn.Linear(d, ffn)
        self.ffn_down = nn.Linear(ffn, d)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        b, n, d = h.shape
        dh = d // self.heads
        qkv = self.attn_qkv(self.attn_norm(h))  # [b, n, 3d]: q | k | v
        q, k, v = qkv.split(d, dim=-1)
        # [b, n, d] -> [b, H, n, dh]; head j owns columns [j*dh, (j+1)*dh)
        q = q.reshape(b, n, self.heads, dh).transpose(1, 2)
        k = k.reshape(b, n, self.heads, dh).transpose(1, 2)
        v = v.reshape(b, n, self.heads, dh).transpose(1, 2)
        att = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) / self.sqrt_dh, dim=-1)
        o = torch.matmul(att, v).transpose(1, 2).reshape(b, n, d)
        h = h + self.attn_output(o)
        up = nn.functional.gelu(self.ffn_up(self.ffn_norm(h)))  # approximate='none' (erf)
        return h + self.ffn_down(up)


class VigilTST(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        c = resolve_config(cfg)
        self.cfg = c
        d, p, cf, n = c["embeddingLength"], c["patchLength"], c["featureChannels"], c["tokenCount"]
        eps = float(c["layerNormEps"])
        self.patch = p
        self.norm = FeatureNorm(cf)
        self.patch_embd = nn.Linear(p * cf, d)
        self.pos_embd = nn.Parameter(torch.randn(n, d) * 0.02)
        self.blk = nn.ModuleList(
            [Block(d, c["headCount"], c["feedForwardLength"], eps) for _ in range(c["blockCount"])]
        )
        self.output_norm = nn.LayerNorm(d, eps=eps)
        self.cls = nn.Linear(d, len(c["labels"]))
        self.has_recon = bool(c["hasReconstruction"])
        if self.has_recon:
            self.recon = nn.Linear(d, p * cf)

    def set_norm(self, mean: Any, std: Any) -> None:
        """Per-feature-channel normalization from training features ([C'] each; std floored)."""
        m = torch.as_tensor(mean, dtype=torch.float32)
        s = torch.as_tensor(std, dtype=torch.float32).clamp_min(1e-6)
        if m.shape != self.norm.mean.shape or s.shape != self.norm.std.shape:
            raise ValueError(f"norm: expected shape {tuple(self.norm.mean.shape)} but received {tuple(m.shape)}/{tuple(s.shape)}")
        self.norm.mean.copy_(m)
        self.norm.std.copy_(s)

    def encode(self, f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """f [b, T', C'] -> (z [b, N, d], patches p [b, N, P*C'])."""
        b, t, cf = f.shape
        u = self.norm(f)
        p = u.reshape(b, t // self.patch, self.patch * cf)  # time-major inside a patch
        h = self.patch_embd(p) + self.pos_embd
        for blk in self.blk:
            h = blk(h)
        return self.output_norm(h), p

    def forward(self, f: torch.Tensor):
        """Returns (probs [b,K], embedding [b,d], patch_error [b,N], channel_error [b,C'])."""
        z, p = self.encode(f)
        emb = z.mean(dim=1)
        probs = torch.softmax(self.cls(emb), dim=-1)
        b, n, pc = p.shape
        cf = pc // self.patch
        if self.has_recon:
            err = (self.recon(z) - p) ** 2
            patch_error = err.mean(dim=-1)
            channel_error = err.reshape(b, n * self.patch, cf).mean(dim=1)
        else:
            # Without the head the outputs keep their shapes and are zero; the agent reads
            # has_reconstruction from the metadata and reports them as empty.
            patch_error = torch.zeros_like(p[:, :, 0])
            channel_error = torch.zeros_like(p[:, 0, :cf])
        return probs, emb, patch_error, channel_error

    def logits_and_recon_loss(self, f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Training helper: class logits and the mean reconstruction MSE (0 without the head)."""
        z, p = self.encode(f)
        logits = self.cls(z.mean(dim=1))
        if self.has_recon:
            return logits, ((self.recon(z) - p) ** 2).mean()
        return logits, torch.zeros((), device=f.device)


def gguf_metadata(cfg: dict, quantization: str = "f32") -> dict:
    """The section 4 metadata keys and values for a resolved config."""
    c = resolve_config(cfg)
    fe = c["frontend"]
    meta: dict[str, Any] = {
        "general.architecture": "vigil-tst",
        "general.name": c["name"],
        "general.version": c["version"],
        "vigil-tst.window_length": int(c["windowLength"]),
        "vigil-tst.channel_count": len(c["channels"]),
        "vigil-tst.sample_rate": float(c["sampleRateHz"]),
        "vigil-tst.channel_names": list(c["channels"]),
        "vigil-tst.frontend": fe["kind"],
    }
    if fe["kind"] == "spectral":
        meta["vigil-tst.frontend.bins"] = int(fe["bins"])
        meta["vigil-tst.frontend.band_low_hz"] = float(fe["bandLowHz"])
        meta["vigil-tst.frontend.band_high_hz"] = float(fe["bandHighHz"])
    meta.update({
        "vigil-tst.patch_length": int(c["patchLength"]),
        "vigil-tst.embedding_length": int(c["embeddingLength"]),
        "vigil-tst.block_count": int(c["blockCount"]),
        "vigil-tst.attention.head_count": int(c["headCount"]),
        "vigil-tst.feed_forward_length": int(c["feedForwardLength"]),
        "vigil-tst.attention.layer_norm_epsilon": float(c["layerNormEps"]),
        "vigil-tst.labels": list(c["labels"]),
        "vigil-tst.has_reconstruction": bool(c["hasReconstruction"]),
        "vigil-tst.quantization": quantization,
    })
    return meta


def export_onnx(model: VigilTST, path: str, meta: dict | None = None) -> None:
    """fp32 ONNX of section 3: input x [batch, T', C'], outputs probs, embedding, patch_error,
    channel_error, dynamic batch, opset 17, initializers under the contract's names and
    metadata_props = gguf_metadata(model.cfg) (+ `meta` extra keys), values JSON-encoded."""
    import onnx

    model = model.eval()
    c = model.cfg
    dummy = torch.zeros(2, c["featureLength"], c["featureChannels"])
    outputs = ["probs", "embedding", "patch_error", "channel_error"]
    with torch.no_grad():
        torch.onnx.export(
            model, (dummy,), path,
            input_names=["x"], output_names=outputs,
            dynamic_axes={"x": {0: "batch"}, **{o: {0: "batch"} for o in outputs}},
            opset_version=OPSET,
            # Folding would fuse the Linear weights' Transpose into anonymous initializers
            # (onnx::MatMul_123); unfolded, the contract's names survive as initializers.
            do_constant_folding=False,
        )
    m = onnx.load(path)
    props = gguf_metadata(c)
    props.update(meta or {})
    del m.metadata_props[:]
    for k, v in props.items():
        e = m.metadata_props.add()
        e.key = k
        e.value = json.dumps(v)
    m.producer_name = "vigil scripts/train/vigil_tst.py"
    _materialize_shared_initializers(m)
    check_initializers(m, model)
    onnx.checker.check_model(m)
    onnx.save(m, path)


def _materialize_shared_initializers(m) -> None:
    """torch.onnx deduplicates initializers with equal values (e.g. every LayerNorm at its init,
    weight=1 bias=0) and routes the duplicates through Identity nodes. Give each parameter its own
    named initializer again so the converter finds every contract name."""
    from onnx import numpy_helper

    inits = {i.name: i for i in m.graph.initializer}
    keep = []
    for node in m.graph.node:
        if node.op_type == "Identity" and len(node.input) == 1 and node.input[0] in inits:
            arr = numpy_helper.to_array(inits[node.input[0]])
            m.graph.initializer.append(numpy_helper.from_array(arr.copy(), node.output[0]))
        else:
            keep.append(node)
    del m.graph.node[:]
    m.graph.node.extend(keep)


def load_onnx_weights(model: VigilTST, path: str) -> VigilTST:
    """Loads an exported model's initializers back into a VigilTST of the same config (the
    contract names are the state_dict names)."""
    import onnx
    from onnx import numpy_helper

    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer}
    state = {k: torch.from_numpy(inits[k].copy()) for k in model.state_dict()}
    model.load_state_dict(state)
    return model


def config_from_onnx(path: str) -> dict:
    """The VigilTST config recorded in an exported model's metadata_props."""
    import onnx

    meta = {p.key: json.loads(p.value) for p in onnx.load(path).metadata_props}
    cfg = {
        "name": meta["general.name"], "version": meta["general.version"],
        "sampleRateHz": meta["vigil-tst.sample_rate"], "windowLength": meta["vigil-tst.window_length"],
        "channels": meta["vigil-tst.channel_names"], "frontend": {"kind": meta["vigil-tst.frontend"]},
        "patchLength": meta["vigil-tst.patch_length"], "embeddingLength": meta["vigil-tst.embedding_length"],
        "headCount": meta["vigil-tst.attention.head_count"], "feedForwardLength": meta["vigil-tst.feed_forward_length"],
        "blockCount": meta["vigil-tst.block_count"], "labels": meta["vigil-tst.labels"],
        "layerNormEps": meta["vigil-tst.attention.layer_norm_epsilon"],
        "hasReconstruction": meta["vigil-tst.has_reconstruction"],
    }
    if cfg["frontend"]["kind"] == "spectral":
        cfg["frontend"].update({"bins": meta["vigil-tst.frontend.bins"], "bandLowHz": meta["vigil-tst.frontend.band_low_hz"],
                                "bandHighHz": meta["vigil-tst.frontend.band_high_hz"]})
    return cfg


def expected_initializers(model: VigilTST) -> dict[str, tuple[int, ...]]:
    c = model.cfg
    d, f, pc, n = c["embeddingLength"], c["feedForwardLength"], c["patchLength"] * c["featureChannels"], c["tokenCount"]
    e: dict[str, tuple[int, ...]] = {
        "norm.mean": (c["featureChannels"],), "norm.std": (c["featureChannels"],),
        "patch_embd.weight": (d, pc), "patch_embd.bias": (d,), "pos_embd": (n, d),
        "output_norm.weight": (d,), "output_norm.bias": (d,),
        "cls.weight": (len(c["labels"]), d), "cls.bias": (len(c["labels"]),),
    }
    for i in range(c["blockCount"]):
        e.update({
            f"blk.{i}.attn_norm.weight": (d,), f"blk.{i}.attn_norm.bias": (d,),
            f"blk.{i}.attn_qkv.weight": (3 * d, d), f"blk.{i}.attn_qkv.bias": (3 * d,),
            f"blk.{i}.attn_output.weight": (d, d), f"blk.{i}.attn_output.bias": (d,),
            f"blk.{i}.ffn_norm.weight": (d,), f"blk.{i}.ffn_norm.bias": (d,),
            f"blk.{i}.ffn_up.weight": (f, d), f"blk.{i}.ffn_up.bias": (f,),
            f"blk.{i}.ffn_down.weight": (d, f), f"blk.{i}.ffn_down.bias": (d,),
        })
    if model.has_recon:
        e.update({"recon.weight": (pc, d), "recon.bias": (pc,)})
    return e


def check_initializers(m, model: VigilTST) -> None:
    """Every contract initializer present with its shape (raises otherwise)."""
    have = {i.name: tuple(i.dims) for i in m.graph.initializer}
    for name, shape in expected_initializers(model).items():
        if name not in have:
            raise RuntimeError(f"failed to export initializer {name}: missing (have {sorted(have)[:8]}...)")
        if have[name] != shape:
            raise RuntimeError(f"failed to export initializer {name}: expected shape {shape} but got {have[name]}")


def numpy_forward(state: dict, cfg: dict, f):
    """Section 2 written out in numpy (float64) straight from the contract, independent of the
    torch modules: state maps initializer names to arrays. Returns the four outputs for f
    [b, T', C']. Used by the self-test to show torch == contract."""
    import numpy as np
    from scipy.special import erf

    c = resolve_config(cfg)
    w = {k: np.asarray(v, dtype=np.float64) for k, v in state.items()}
    d, h_n, p_len, eps = c["embeddingLength"], c["headCount"], c["patchLength"], float(c["layerNormEps"])
    dh = d // h_n

    def ln(x, name):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * w[name + ".weight"] + w[name + ".bias"]

    def lin(x, name):
        return x @ w[name + ".weight"].T + w[name + ".bias"]

    def softmax(x):
        e = np.exp(x - x.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    f = np.asarray(f, dtype=np.float64)
    b, t, cf = f.shape
    n = t // p_len
    u = (f - w["norm.mean"]) / w["norm.std"]
    p = u.reshape(b, n, p_len * cf)
    h = lin(p, "patch_embd") + w["pos_embd"]
    for i in range(c["blockCount"]):
        qkv = lin(ln(h, f"blk.{i}.attn_norm"), f"blk.{i}.attn_qkv")
        heads = []
        for j in range(h_n):
            q = qkv[..., j * dh:(j + 1) * dh]
            k = qkv[..., d + j * dh:d + (j + 1) * dh]
            v = qkv[..., 2 * d + j * dh:2 * d + (j + 1) * dh]
            heads.append(softmax(q @ k.transpose(0, 2, 1) / np.sqrt(dh)) @ v)
        h = h + lin(np.concatenate(heads, -1), f"blk.{i}.attn_output")
        a = lin(ln(h, f"blk.{i}.ffn_norm"), f"blk.{i}.ffn_up")
        h = h + lin(0.5 * a * (1 + erf(a / np.sqrt(2))), f"blk.{i}.ffn_down")
    z = ln(h, "output_norm")
    emb = z.mean(1)
    probs = softmax(lin(emb, "cls"))
    if c["hasReconstruction"]:
        err = (lin(z, "recon") - p) ** 2
        return probs, emb, err.mean(-1), err.reshape(b, n * p_len, cf).mean(1)
    return probs, emb, np.zeros((b, n)), np.zeros((b, cf))


def _selftest() -> None:
    """python3 vigil_tst.py --selftest OUT.onnx: random model, export, write inputs/outputs
    (raw float32 + JSON) so scripts/train/check_onnx.mjs can compare onnxruntime with torch."""
    import numpy as np

    out = sys.argv[2] if len(sys.argv) > 2 else "/tmp/vigil_tst_selftest.onnx"
    torch.manual_seed(0)
    for kind in ("spectral", "none"):
        if kind == "spectral":
            cfg = {"name": "selftest", "sampleRateHz": 8192, "windowLength": 1024, "channels": ["a", "b"],
                   "frontend": {"kind": "spectral", "bins": 64, "bandLowHz": 500, "bandHighHz": 3000},
                   "patchLength": 8, "embeddingLength": 32, "headCount": 4, "feedForwardLength": 64,
                   "blockCount": 2, "labels": ["x", "y", "z"]}
        else:
            cfg = {"name": "selftest-none", "sampleRateHz": 1, "windowLength": 64, "channels": ["a", "b", "c"],
                   "frontend": {"kind": "none"}, "patchLength": 4, "embeddingLength": 16, "headCount": 2,
                   "feedForwardLength": 32, "blockCount": 1, "labels": ["p", "q"], "hasReconstruction": False}
        model = VigilTST(cfg)
        model.set_norm(torch.randn(model.cfg["featureChannels"]) * 0.1, torch.rand(model.cfg["featureChannels"]) + 0.5)
        path = out.replace(".onnx", f".{kind}.onnx")
        export_onnx(model, path)
        x = torch.randn(3, model.cfg["featureLength"], model.cfg["featureChannels"])
        with torch.no_grad():
            ys = model(x)
        write_reference(path, x, ys)
        state = {k: v.numpy() for k, v in model.state_dict().items()}
        ref = numpy_forward(state, cfg, x.numpy())
        diff = max(float(np.abs(a.numpy() - r).max()) for a, r in zip(ys, ref))
        print(path, f"torch vs numpy contract max abs diff {diff:.2e}")
        if diff > 1e-5:
            raise SystemExit(f"selftest failed: torch forward differs from the contract by {diff}")


def write_reference(onnx_path: str, x: torch.Tensor, ys) -> None:
    """<onnx>.ref.json + <onnx>.ref.f32: input x and torch's four outputs, for check_onnx.mjs."""
    import numpy as np

    tensors = {"x": x}
    tensors.update(zip(("probs", "embedding", "patch_error", "channel_error"), ys))
    desc, blobs, off = {}, [], 0
    for name, t in tensors.items():
        a = np.ascontiguousarray(t.detach().numpy(), dtype="<f4")
        desc[name] = {"shape": list(a.shape), "offset": off}
        off += a.size
        blobs.append(a.ravel())
    np.concatenate(blobs).tofile(onnx_path + ".ref.f32")
    with open(onnx_path + ".ref.json", "w") as fh:
        json.dump(desc, fh)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--selftest":
        _selftest()
