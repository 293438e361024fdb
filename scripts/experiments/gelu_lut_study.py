#!/usr/bin/env python3
"""GELU-input 8-bit LUT study for vigil's shipped models (fp32 ONNX vs fake-quantized variants).

A small numpy interpreter runs the fp32 model.onnx graph node by node (float32 tensors; Erf via
scipy.special.erf in float64, cast back to float32: exact erf GELU as in the graph:
0.5 * x * (1 + erf(x / sqrt 2))). Hooks replace tensors after they are computed:

  GELU input  = '/blk.{i}/ffn_up/Add_output_0'  (ffn_up output; feeds both Div->Erf and Mul)
  GELU output = '/blk.{i}/Mul_1_output_0'       (input of ffn_down)

Calibration: fp32 run over the calibration windows, per-tensor min / max (per block).
Quantizers (engine rounding: round half away from zero, clamp to [-127, 127]):
  affine : lo = max(min, -5), hi = max, s = (hi - lo) / 254, q = clamp(rha((x - lo)/s) - 127),
           x^ = lo + (q + 127) s      (255 levels covering [lo, hi])
  sym    : s = absmax / 127, x^ = clamp(rha(x / s)) s
  out    : GELU output, sym with absmax of the fp32 GELU output (= the engine's ffn_down input_scale)

Usage (docs/engine.md "What the remaining targets need"; numpy, scipy, python3-onnx):
  npm run build && node scripts/experiments/gelu_lut_holdout.mjs
  OMP_NUM_THREADS=1 /usr/bin/python3 scripts/experiments/gelu_lut_study.py
writes $GELU_LUT_OUT/results.json (default /tmp/gelu_lut). An experiment, not part of the
build or the tests.
"""
from __future__ import annotations

import json
import math
import os
import sys
import time

import numpy as np
import onnx
from onnx import numpy_helper
from scipy.special import erf

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
OUT = os.environ.get('GELU_LUT_OUT', '/tmp/gelu_lut')
sys.dont_write_bytecode = True  # never write __pycache__ anywhere
sys.path.insert(0, os.path.join(ROOT, 'scripts', 'train'))
import frontend  # noqa: E402  (scripts/train/frontend.py)


# ---------------------------------------------------------------- ONNX interpreter
class Graph:
    def __init__(self, path: str):
        m = onnx.load(path)
        self.g = m.graph
        self.init = {t.name: numpy_helper.to_array(t) for t in self.g.initializer}
        self.consts = {}
        self.nodes = []
        for n in self.g.node:
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
            if n.op_type == 'Constant':
                self.consts[n.output[0]] = numpy_helper.to_array(attrs['value'])
            else:
                self.nodes.append((n.op_type, list(n.input), list(n.output), attrs))
        self.outputs = [o.name for o in self.g.output]

    def run(self, x: np.ndarray, hooks=None, record=None):
        hooks = hooks or {}
        env = dict(self.init)
        env.update(self.consts)
        env['x'] = x.astype(np.float32)
        for op, ins, outs, at in self.nodes:
            a = [env[i] if i else None for i in ins]
            if op == 'Shape':
                r = [np.array(a[0].shape, dtype=np.int64)]
            elif op == 'Gather':
                r = [np.take(a[0], a[1], axis=at.get('axis', 0))]
            elif op == 'Sub':
                r = [a[0] - a[1]]
            elif op == 'Add':
                r = [a[0] + a[1]]
            elif op == 'Mul':
                r = [a[0] * a[1]]
            elif op == 'Div':
                if np.issubdtype(a[0].dtype, np.integer) and np.issubdtype(a[1].dtype, np.integer):
                    r = [np.trunc(a[0] / a[1]).astype(a[0].dtype)]
                else:
                    r = [a[0] / a[1]]
            elif op == 'Pow':
                r = [np.power(a[0], a[1]).astype(a[0].dtype)]
            elif op == 'Cast':
                assert at['to'] == 7
                r = [np.asarray(a[0]).astype(np.int64)]
            elif op == 'Unsqueeze':
                axes = a[1] if len(a) > 1 else at['axes']
                v = np.asarray(a[0])
                for ax in sorted(int(t) for t in np.atleast_1d(axes)):
                    v = np.expand_dims(v, ax)
                r = [v]
            elif op == 'Concat':
                r = [np.concatenate([np.atleast_1d(t) for t in a], axis=at['axis'])]
            elif op == 'Reshape':
                shp = [int(s) for s in a[1]]
                shp = [a[0].shape[i] if s == 0 else s for i, s in enumerate(shp)]
                r = [a[0].reshape(shp)]
            elif op == 'Transpose':
                r = [np.transpose(a[0], at['perm'])]
            elif op == 'MatMul':
                r = [np.matmul(a[0], a[1])]
            elif op == 'Gemm':
                b = a[1].T if at.get('transB', 0) else a[1]
                aa = a[0].T if at.get('transA', 0) else a[0]
                r = [at.get('alpha', 1.0) * (aa @ b) + at.get('beta', 1.0) * a[2]]
            elif op == 'LayerNormalization':
                assert at.get('axis', -1) == -1
                v = a[0]
                mu = v.mean(-1, keepdims=True)
                var = ((v - mu) ** 2).mean(-1, keepdims=True)
                r = [((v - mu) / np.sqrt(var + np.float32(at['epsilon']))) * a[1] + a[2]]
            elif op == 'Split':
                sizes = [int(s) for s in a[1]]
                idx = np.cumsum(sizes)[:-1]
                r = np.split(a[0], idx, axis=at['axis'])
            elif op == 'Softmax':
                ax = at.get('axis', -1)
                v = a[0] - a[0].max(axis=ax, keepdims=True)
                e = np.exp(v)
                r = [e / e.sum(axis=ax, keepdims=True)]
            elif op == 'Erf':
                r = [erf(a[0].astype(np.float64)).astype(np.float32)]
            elif op == 'ReduceMean':
                r = [a[0].mean(axis=tuple(at['axes']), keepdims=bool(at.get('keepdims', 1)))]
            else:
                raise NotImplementedError(op)
            for name, val in zip(outs, r):
                if np.issubdtype(np.asarray(val).dtype, np.floating):
                    val = np.asarray(val, dtype=np.float32)
                if record is not None and name in record:
                    record[name].append(val)
                if name in hooks:
                    val = hooks[name](val).astype(np.float32)
                env[name] = val
        return {k: env[k] for k in self.outputs}


# ---------------------------------------------------------------- quantizers
def rha(v):  # round half away from zero (the engine's rounding)
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def fq_sym(absmax):
    s = np.float32(absmax / 127.0)
    inv = np.float32(1.0) / s
    return lambda x: np.clip(rha(x * inv), -127, 127) * s


def fq_affine(lo, hi):
    s = (hi - lo) / 254.0
    return lambda x: (lo + (np.clip(rha((x.astype(np.float64) - lo) / s) - 127, -127, 127) + 127) * s)


def gelu(v):
    v = v.astype(np.float64)
    return 0.5 * v * (1 + erf(v / math.sqrt(2)))


# ---------------------------------------------------------------- metrics (outputs-compare.ts)
def spearman(a, b):
    from scipy.stats import rankdata
    ra, rb = rankdata(a), rankdata(b)
    ra -= ra.mean(); rb -= rb.mean()
    va, vb = (ra ** 2).sum(), (rb ** 2).sum()
    if va == 0 and vb == 0:
        return 1.0
    return float((ra * rb).sum() / math.sqrt(va * vb))


def auc(score, y):
    from scipy.stats import rankdata
    y = np.asarray(y).astype(bool)
    r = rankdata(score)
    n1, n0 = y.sum(), (~y).sum()
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def compare(test, ref, labels=None, task='classification'):
    pt, pr = test['probs'].astype(np.float64), ref['probs'].astype(np.float64)
    d = np.abs(pt - pr)
    et, er = test['embedding'].astype(np.float64), ref['embedding'].astype(np.float64)
    cos = (et * er).sum(1) / np.sqrt((et * et).sum(1) * (er * er).sum(1))
    st = test['patch_error'].astype(np.float64).mean(1)
    sr = ref['patch_error'].astype(np.float64).mean(1)
    rel = np.abs(st - sr) / np.maximum(np.abs(sr), 1e-12)
    out = {
        'windows': int(len(pt)),
        'top1Agreement': float((pt.argmax(1) == pr.argmax(1)).mean()),
        'top1Disagreements': int((pt.argmax(1) != pr.argmax(1)).sum()),
        'maxProbDiff': float(d.max()),
        'meanProbDiff': float(d.mean()),
        'meanPerWindowMaxProbDiff': float(d.max(1).mean()),
        'embeddingCosineMean': float(cos.mean()),
        'embeddingCosineMin': float(cos.min()),
        'anomalyRankCorrelation': spearman(st, sr),
        'anomalyMaxRelDiff': float(rel.max()),
        'anomalyMeanRelDiff': float(rel.mean()),
    }
    if labels is not None and task == 'classification':
        out['accuracy'] = float((pt.argmax(1) == np.asarray(labels)).mean())
    if labels is not None and task == 'anomaly':
        out['anomalyAUC'] = auc(st, labels)
    return out


# ---------------------------------------------------------------- data
def read_windows(desc_path):
    d = json.load(open(desc_path))
    f = d.get('file')
    f32 = os.path.join(os.path.dirname(desc_path), f) if f else desc_path[:-5] + '.f32'
    x = np.fromfile(f32, dtype='<f4').reshape(d['count'], d['windowLength'], len(d['channels']))
    labels = d.get('labelIndex', d.get('labels'))
    return x, d, labels


def features(model, x):
    man = json.load(open(f'{ROOT}/models/{model}/manifest.json'))
    fe = man['input']['frontend']
    if fe.get('kind', 'none') == 'none':
        return x.astype(np.float32)
    out = [frontend.apply(x[i:i + 128], man['input']['sampleRateHz'], fe) for i in range(0, len(x), 128)]
    return np.concatenate(out)


def run_all(g, X, hooks=None, record=None, batch=256):
    outs = [g.run(X[i:i + batch], hooks, record) for i in range(0, len(X), batch)]
    return {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}


# ---------------------------------------------------------------- main
def study(model, calib_desc, held_desc):
    t0 = time.time()
    man = json.load(open(f'{ROOT}/models/{model}/manifest.json'))
    g = Graph(f'{ROOT}/models/{model}/model.onnx')
    nblk = sum(1 for k in g.init if k.endswith('ffn_up.weight'))
    gin = [f'/blk.{i}/ffn_up/Add_output_0' for i in range(nblk)]
    gout = [f'/blk.{i}/Mul_1_output_0' for i in range(nblk)]
    lnout = [f'/blk.{i}/ffn_norm/LayerNormalization_output_0' for i in range(nblk)]
    # inputs of the five encoder linears (engine-like W8A8 emulation): name -> weight initializer
    lin_in = {'/Reshape_output_0': 'patch_embd.weight'}
    for i in range(nblk):
        lin_in[f'/blk.{i}/attn_norm/LayerNormalization_output_0'] = f'blk.{i}.attn_qkv.weight'
        lin_in[f'/blk.{i}/Reshape_3_output_0'] = f'blk.{i}.attn_output.weight'
        lin_in[lnout[i]] = f'blk.{i}.ffn_up.weight'
        lin_in[gout[i]] = f'blk.{i}.ffn_down.weight'

    # golden check of the interpreter + front end against onnxruntime-node's stored outputs
    gold = json.load(open(f'{ROOT}/models/{model}/golden.json'))
    gx = np.array(gold['inputs'], dtype=np.float32).reshape(len(gold['inputs']), gold['windowLength'], gold['channels'])
    go = g.run(features(model, gx))
    gerr = {}
    for k_ours, k_g in [('probs', 'probs'), ('embedding', 'embedding'), ('patch_error', 'patchError'), ('channel_error', 'channelError')]:
        e = np.array([o[k_g] for o in gold['expected']['onnx']], dtype=np.float64)
        gerr[k_ours] = float(np.max(np.abs(go[k_ours] - e) / (1e-4 + np.abs(e))))

    xc, _, _ = read_windows(calib_desc)
    xh, hd, hl = read_windows(held_desc)
    Xc, Xh = features(model, xc), features(model, xh)

    rec = {n: [] for n in set(gin + gout + lnout) | set(lin_in)}
    run_all(g, Xc, record=rec)
    stats = {}
    for n in rec:
        v = np.concatenate([t.ravel() for t in rec[n]])
        stats[n] = {'min': float(v.min()), 'max': float(v.max()), 'absmax': float(np.abs(v).max()),
                    'p0.1': float(np.percentile(v, 0.1)), 'p99.9': float(np.percentile(v, 99.9))}
    del rec
    # cross-check with the engine's calibrated input scales (manifest): ffn_up <- LN out, ffn_down <- GELU out
    scales = man['metrics']['conversion']['inputScales']
    scale_check = {}
    for i in range(nblk):
        scale_check[f'blk.{i}.ffn_up'] = {'ours': stats[lnout[i]]['absmax'] / 127, 'manifest': scales[f'blk.{i}.ffn_up']}
        scale_check[f'blk.{i}.ffn_down'] = {'ours': stats[gout[i]]['absmax'] / 127, 'manifest': scales[f'blk.{i}.ffn_down']}

    def hk_in(kind):
        h = {}
        for n in gin:
            s = stats[n]
            if kind == 'affine':
                h[n] = fq_affine(max(s['min'], -5.0), s['max'])
            elif kind == 'affine_nolo':  # lo = calibrated min without the -5 floor
                h[n] = fq_affine(s['min'], s['max'])
            else:
                h[n] = fq_sym(s['absmax'])
        return h

    def hk_out():
        return {n: fq_sym(stats[n]['absmax']) for n in gout}

    task = man['task']
    ref = run_all(g, Xh)
    configs = {
        'in_affine': hk_in('affine'),
        'in_sym': hk_in('sym'),
        'out_sym (engine today)': hk_out(),
        'in_affine + out_sym': {**hk_in('affine'), **hk_out()},
        'in_sym + out_sym': {**hk_in('sym'), **hk_out()},
        'in_affine_noFloor': hk_in('affine_nolo'),
    }
    res = {'fp32 (interpreter) vs labels': compare(ref, ref, hl, task)}
    for name, h in configs.items():
        res[name] = compare(run_all(g, Xh, hooks=h), ref, hl, task)

    # held-out GELU-input range vs the calibrated one
    rec2 = {n: [] for n in gin}
    run_all(g, Xh, record=rec2)
    heldrange = {}
    for n in gin:
        v = np.concatenate([t.ravel() for t in rec2[n]])
        heldrange[n] = {'min': float(v.min()), 'max': float(v.max()),
                        'fracAboveCalibMax': float((v > stats[n]['max']).mean()),
                        'fracBelowLo': float((v < max(stats[n]['min'], -5.0)).mean())}
    del rec2

    # engine-like W8A8 emulation of all five encoder linears (per-output-channel int8 weights,
    # static per-tensor symmetric activations, float attention/LN/softmax), then + GELU LUT
    w_saved = {w: g.init[w].copy() for w in lin_in.values()}
    for w in lin_in.values():
        W = g.init[w].astype(np.float64)
        sw = np.abs(W).max(axis=1, keepdims=True) / 127.0
        sw[sw == 0] = 1.0
        g.init[w] = (np.clip(rha(W / sw), -127, 127) * sw).astype(np.float32)
    act = {n: fq_sym(stats[n]['absmax']) for n in lin_in}
    res['W8A8 linears (engine-like, float attn)'] = compare(run_all(g, Xh, hooks=act), ref, hl, task)
    res['W8A8 + in_affine LUT'] = compare(run_all(g, Xh, hooks={**act, **hk_in('affine')}), ref, hl, task)
    res['W8A8 + in_sym LUT'] = compare(run_all(g, Xh, hooks={**act, **hk_in('sym')}), ref, hl, task)
    g.init.update(w_saved)

    # LUT step sizes / max abs GELU error per step (on the held-out GELU inputs: table error only)
    lut = {}
    for i, n in enumerate(gin):
        s = stats[n]
        lo, hi = max(s['min'], -5.0), s['max']
        lut[f'blk.{i}'] = {'calibMin': s['min'], 'calibMax': s['max'], 'lo': lo, 'hi': hi,
                           'affineStep': (hi - lo) / 254, 'symStep': s['absmax'] / 127,
                           'outScale(ffn_down input)': stats[gout[i]]['absmax'] / 127}
    return {
        'model': model, 'task': task, 'calibration': calib_desc, 'calibrationWindows': int(len(xc)),
        'heldout': held_desc, 'heldoutWindows': int(len(xh)),
        'goldenMaxRelErr_vs_onnxruntime': gerr, 'scaleCheck': scale_check, 'gelu': lut, 'heldoutGeluInputRange': heldrange,
        'results': res, 'seconds': round(time.time() - t0, 1),
    }


if __name__ == '__main__':
    out = [
        study('rotating-vib', f'{ROOT}/models/rotating-vib/calib.json', f'{OUT}/rv_holdout.json'),
        study('pump-skab', f'{ROOT}/models/pump-skab/calib.json', f'{ROOT}/models/pump-skab/heldout.json'),
    ]
    os.makedirs(OUT, exist_ok=True)
    json.dump(out, open(f'{OUT}/results.json', 'w'), indent=1)
    print(json.dumps(out, indent=1))
