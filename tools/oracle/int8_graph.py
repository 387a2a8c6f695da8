"""The IR graph `tte info --dump-graph DIR` writes (graph.json + constants.npz, src/ir/serialize.h), read
back, and its int8 forward recomputed exactly in the graph's own arithmetic, independently of tte.

  g = load_graph("dump/")                      # clear errors for missing files, fields and unknown ops
  x = load_input(g, "x.npy")                   # int8 CHW, from the NHWC (TFLite) or CHW (.pkl) .npy tte grad takes
  fwd = int8_forward(g, x)                     # fwd.act[v]: int8 CHW; fwd.inside[v]: clamp masks

Arithmetic (tests/support/grad_simulation.cc and docs/gradients.md state the same definitions in C++):
  requant "reference-fp32": t = float32(acc) + float32(bias); y = rint(float32(t * eff_c)) + z_y with
      eff_c = float32(s_x s_w,c / s_y); add, average pool likewise in float32.
  requant "tflite-integer": TFLite's QuantizeMultiplier / MultiplyByQuantizedMultiplier (double rounding) in
      int64 numpy, its ADD (left shift 20), AVERAGE_POOL (in-image count, rounding half away from zero) and
      TFLite Micro's MEAN.
Every op that clamps records the inclusive mask act_min <= pre-clamp value <= act_max. Accumulators are
computed with float64 convolutions of integer tensors, which are exact (every partial sum is an integer far
below 2**53), then handled as int64.
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

CONV_OPS = ("conv2d", "depthwise_conv2d", "fully_connected")
KNOWN_OPS = CONV_OPS + ("add", "avg_pool2d", "mean", "pad", "reshape", "softmax")


class OracleError(Exception):
    """A problem with the inputs (missing file, bad field, unknown op): reported as one line, no traceback."""


class Graph:
    def __init__(self, j, consts, where):
        self.where = where
        try:
            self.requant = j["requant"]
            self.input = int(j["input"])
            self.output = int(j["output"])
            self.input_spec = j["input_spec"]
            self.values = j["values"]
            self.nodes = j["nodes"]
        except KeyError as e:
            raise OracleError(f"{where}/graph.json: missing field {e}")
        if self.requant not in ("reference-fp32", "tflite-integer"):
            raise OracleError(f"{where}/graph.json: unknown requant mode '{self.requant}'")
        self.consts = {}
        for i, v in enumerate(self.values):
            if "const" not in v:
                continue
            key = v["const"]
            if key not in consts:
                raise OracleError(f"{where}/constants.npz: constant {key} of value {i} ('{v['name']}') is missing")
            a = consts[key]
            if list(a.shape) != list(v["shape"]):
                raise OracleError(f"{where}/constants.npz: {key} has shape {list(a.shape)}, graph.json says {v['shape']}")
            self.consts[i] = a
        for k, n in enumerate(self.nodes):
            if n.get("op") not in KNOWN_OPS:
                raise OracleError(f"{where}/graph.json: node {k} ('{n.get('name')}'): op '{n.get('op')}' is not known "
                                  f"to the oracle (it knows {', '.join(KNOWN_OPS)})")

    def scale(self, v, c=0):
        s = self.values[v]["scale"]
        return float(s[c if len(s) > 1 else 0])

    def zero(self, v):
        return int(self.values[v]["zero"][0])

    def shape(self, v):
        return [int(d) for d in self.values[v]["shape"]]

    def producers(self):
        p = [-1] * len(self.values)
        for k, n in enumerate(self.nodes):
            for o in n["outputs"]:
                p[o] = k
        return p

    def head_node(self):
        """The classifier: the conv / fully connected node producing the output through reshapes and a softmax."""
        p = self.producers()
        v = self.output
        while v >= 0 and p[v] >= 0:
            n = self.nodes[p[v]]
            if n["op"] in ("conv2d", "fully_connected"):
                return p[v]
            if n["op"] not in ("reshape", "softmax"):
                break
            v = n["inputs"][0]
        raise OracleError(f"{self.where}/graph.json: no classifier (a conv2d / fully_connected node giving the output "
                          "through reshapes and a softmax): the fp32 head has nothing to replace")

    def layers(self):
        """Node index -> i of conv{i}: the conv / depthwise / fully connected nodes before the classifier, in order."""
        head = self.head_node()
        out, i = {}, 0
        for k in range(head):
            if self.nodes[k]["op"] in CONV_OPS:
                out[k] = i
                i += 1
        return out


def load_graph(d):
    for f in ("graph.json", "constants.npz"):
        if not os.path.isfile(os.path.join(d, f)):
            raise OracleError(f"{d}/{f}: no such file (write it with `tte info --model M --dump-graph {d}`)")
    try:
        with open(os.path.join(d, "graph.json")) as fh:
            j = json.load(fh)
    except ValueError as e:
        raise OracleError(f"{d}/graph.json: not valid JSON: {e}")
    with np.load(os.path.join(d, "constants.npz")) as z:
        consts = {k: z[k] for k in z.files}
    return Graph(j, consts, d)


def load_npy(path, what):
    if not os.path.isfile(path):
        raise OracleError(f"{path}: no such file ({what})")
    try:
        return np.load(path)
    except Exception as e:  # numpy raises several kinds for bad files
        raise OracleError(f"{path}: not a readable .npy ({what}): {e}")


def load_input(g, path):
    """The int8 input as tte grad takes it (NHWC for graphs imported from TFLite, else CHW; batch 1), as CHW."""
    x = load_npy(path, "the int8 input")
    if x.dtype != np.int8:
        raise OracleError(f"{path}: the input must be int8, found {x.dtype}")
    c, h, w = g.shape(g.input)
    nhwc = bool(g.input_spec.get("source_nhwc", False))
    want = (h, w, c) if nhwc else (c, h, w)
    if x.ndim == 4 and x.shape[0] == 1:
        x = x[0]
    elif x.ndim <= 2 and x.size == c * h * w and x.shape[0] in (1, x.size):  # a flat [1, N] input (ad01)
        x = x.reshape(want)
    if tuple(x.shape) != want:
        raise OracleError(f"{path}: shape {list(x.shape)}, expected [1, {', '.join(map(str, want))}] "
                          f"({'NHWC' if nhwc else 'CHW'}, the model's input)")
    return np.ascontiguousarray(x.transpose(2, 0, 1) if nhwc else x)


# ---------------------------------------------------------------- TFLite's integer arithmetic (ARITHMETIC.md)
def quantize_multiplier(m):
    if m == 0:
        return 0, 0
    f, shift = math.frexp(m)
    q = int(math.floor(f * 2147483648.0 + 0.5))  # std::round, f > 0
    if q == 1 << 31:
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q, shift


def _wrap32(x):
    x = np.asarray(x, dtype=np.int64) & 0xFFFFFFFF
    return np.where(x >= 1 << 31, x - (1 << 32), x)


def srdhm(a, b):
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    p = a * b
    nudge = np.where(p >= 0, 1 << 30, 1 - (1 << 30))
    s = p + nudge
    q = np.sign(s) * (np.abs(s) // (1 << 31))  # C++ division truncates toward zero
    return np.where((a == -(1 << 31)) & (b == -(1 << 31)), (1 << 31) - 1, q)


def rounding_divide_by_pot(x, e):
    x = np.asarray(x, dtype=np.int64)
    e = np.asarray(e, dtype=np.int64)
    mask = (np.int64(1) << e) - 1
    rem = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> e) + (rem > threshold)


def mbqm(x, m, shift):
    shift = np.asarray(shift, dtype=np.int64)
    left, right = np.maximum(shift, 0), np.maximum(-shift, 0)
    shifted = _wrap32(np.asarray(x, dtype=np.int64) << left)
    return rounding_divide_by_pot(srdhm(shifted, m), right)


# ---------------------------------------------------------------- exact forward
def conv_accumulator(g, n, x):
    """int64 [O, OH, OW]: sum over in-image taps of (x - z_x) w (exact float64 convolution of integers)."""
    w = g.consts[n["inputs"][1]].astype(np.float64)
    xz = torch.from_numpy(x.astype(np.float64) - g.zero(n["inputs"][0]))
    if n["op"] == "fully_connected":
        acc = w.reshape(w.shape[0], -1) @ xz.numpy().reshape(-1)
        return np.rint(acc).astype(np.int64).reshape(-1, 1, 1)
    return np.rint(conv_linear(n, xz, torch.from_numpy(w), g.shape(n["inputs"][0])[0]).numpy()).astype(np.int64)


def conv_linear(n, xz, w, cin):
    """The conv's linear map (no bias) over the zero-point-shifted input, for the exact forward and for autograd."""
    wd = n["window"]
    groups = cin if n["op"] == "depthwise_conv2d" else int(n["groups"])
    xp = F.pad(xz.unsqueeze(0), (wd["pad_l"], wd["pad_r"], wd["pad_t"], wd["pad_b"]))
    y = F.conv2d(xp, w, stride=(wd["sh"], wd["sw"]), dilation=(wd["dh"], wd["dw"]), groups=groups)
    return y[0]


def eff_scales(g, n):
    """float32(s_x s_w,c / s_y) per output channel, as float64."""
    x, w, y = n["inputs"][0], n["inputs"][1], n["outputs"][0]
    O = g.shape(w)[0]
    return np.array([np.float32(g.scale(x) * g.scale(w, o) / g.scale(y)) for o in range(O)], dtype=np.float64)


def pool_sums(n, x):
    """(sums, counts) over each window's in-image taps; x float64 torch [C, H, W]."""
    wd = n["window"]
    pads = (wd["pad_l"], wd["pad_r"], wd["pad_t"], wd["pad_b"])
    k, s = (wd["kh"], wd["kw"]), (wd["sh"], wd["sw"])
    sums = F.avg_pool2d(F.pad(x.unsqueeze(0), pads), k, s, divisor_override=1)[0]
    ones = torch.ones((1, 1) + tuple(x.shape[1:]), dtype=torch.float64)
    counts = F.avg_pool2d(F.pad(ones, pads), k, s, divisor_override=1)[0]
    return sums, counts


def reshape_op(n, x, out_shape):
    """Element permutation of a reshape (NHWC order when reshape_hwc); works on numpy and torch alike."""
    c, h, w = out_shape
    if not n["reshape_hwc"]:
        return x.reshape(c, h, w)
    return x.transpose(1, 2, 0).reshape(h, w, c).transpose(2, 0, 1) if isinstance(x, np.ndarray) else \
        x.permute(1, 2, 0).reshape(h, w, c).permute(2, 0, 1)


class Forward:
    def __init__(self):
        self.act = {}      # value id -> int8 ndarray [C, H, W]
        self.inside = {}   # value id -> bool ndarray (clamp mask), for ops that clamp
        self.clamped = 0   # mask bits that are False


def int8_forward(g, x):
    """Exact int8 forward of every node before the classifier (the fp32 head replaces it)."""
    fwd = Forward()
    fwd.act[g.input] = x
    tfl = g.requant == "tflite-integer"
    f32 = np.float32
    for k in range(g.head_node()):
        n = g.nodes[k]
        op, yv = n["op"], n["outputs"][0]
        where = f"node {k} ('{n['name']}', {op})"
        for v in n["inputs"]:
            if v not in fwd.act and v not in g.consts:
                raise OracleError(f"{g.where}/graph.json: {where} reads value {v} before it is computed")
        zy = g.zero(yv)
        ys = g.shape(yv)
        if op in CONV_OPS:
            xv, wv, bv = n["inputs"]
            acc = conv_accumulator(g, n, fwd.act[xv])
            bias = g.consts[bv].astype(np.int64).reshape(-1, 1, 1)
            O = acc.shape[0]
            if tfl:
                ms, ss = [], []
                for o in range(O):
                    real = g.scale(xv) * g.scale(wv, o) / g.scale(yv)
                    if op == "fully_connected" and len(g.values[wv]["scale"]) == 1:
                        real = float(f32(g.scale(xv)) * f32(g.scale(wv))) / g.scale(yv)  # TFLite: float32 product
                    m, s = quantize_multiplier(real)
                    ms.append(m)
                    ss.append(s)
                m = np.array(ms, dtype=np.int64).reshape(-1, 1, 1)
                s = np.array(ss, dtype=np.int64).reshape(-1, 1, 1)
                pre = mbqm(bias + acc, m, s) + zy
            else:
                eff = eff_scales(g, n).astype(f32).reshape(-1, 1, 1)
                t = acc.astype(f32) + bias.astype(f32)
                pre = np.rint((t * eff).astype(f32)).astype(np.int64) + zy
        elif op == "add":
            a, b = (fwd.act[v].astype(np.int64) for v in n["inputs"])
            sa, sb, sy = (g.scale(v) for v in (n["inputs"][0], n["inputs"][1], yv))
            za, zb = (g.zero(v) for v in n["inputs"])
            if tfl:
                twice_max = 2 * max(sa, sb)
                ma, sha = quantize_multiplier(sa / twice_max)
                mb, shb = quantize_multiplier(sb / twice_max)
                my, shy = quantize_multiplier(twice_max / ((1 << 20) * sy))
                xa = mbqm((a - za) * (1 << 20), ma, sha)
                xb = mbqm((b - zb) * (1 << 20), mb, shb)
                pre = mbqm(xa + xb, my, shy) + zy
            else:
                fa = (a - za).astype(f32) * f32(sa)
                fb = (b - zb).astype(f32) * f32(sb)
                pre = np.rint(((fa + fb) / f32(sy)).astype(f32)).astype(np.int64) + zy
        elif op == "avg_pool2d":
            sums, counts = pool_sums(n, torch.from_numpy(fwd.act[n["inputs"][0]].astype(np.float64)))
            s = np.rint(sums.numpy()).astype(np.int64)
            c = np.rint(counts.numpy()).astype(np.int64)
            if tfl:  # integer division rounding half away from zero
                num = np.where(s > 0, s + c // 2, s - c // 2)
                pre = np.sign(num) * (np.abs(num) // c)
            else:
                pre = np.rint((s.astype(f32) / c.astype(f32)).astype(f32)).astype(np.int64)
        elif op == "mean":  # TFLite Micro's integer MEAN over H, W (either mode: the op only exists in TFLite)
            xv = n["inputs"][0]
            xa = fwd.act[xv].astype(np.int64)
            cnt = xa.shape[1] * xa.shape[2]
            sx, sy = f32(g.scale(xv)), f32(g.scale(yv))
            same = sx == sy and g.zero(xv) == zy
            m, shift = quantize_multiplier(float(sx) / float(sy))
            kk = 0
            while (2 << kk) <= cnt:
                kk += 1
            kk = max(0, min(kk, 32, 31 + shift))
            mult = (m << kk) // cnt
            sums = xa.reshape(xa.shape[0], -1).sum(axis=1)
            if same:
                pre = np.sign(sums) * (np.abs(sums) // cnt)
            else:
                pre = mbqm(sums - g.zero(xv) * cnt, mult, shift - kk) + zy
            pre = pre.reshape(-1, 1, 1)
        elif op == "pad":
            p = n["pad"]
            xa = fwd.act[n["inputs"][0]]
            y = np.full(ys, zy, dtype=np.int8)
            y[p[0]:p[0] + xa.shape[0], p[2]:p[2] + xa.shape[1], p[4]:p[4] + xa.shape[2]] = xa
            fwd.act[yv] = y
            continue
        elif op == "reshape":
            fwd.act[yv] = np.ascontiguousarray(reshape_op(n, fwd.act[n["inputs"][0]], ys))
            continue
        else:  # softmax: only after the classifier
            raise OracleError(f"{g.where}/graph.json: {where} comes before the classifier; the oracle only knows a "
                              "softmax after it")
        pre = np.asarray(pre, dtype=np.int64).reshape(ys)
        lo, hi = n["act"]
        inside = (pre >= lo) & (pre <= hi)
        fwd.inside[yv] = inside
        fwd.clamped += int((~inside).sum())
        fwd.act[yv] = np.clip(pre, lo, hi).astype(np.int8)
    return fwd


def check_golden(g, fwd, golden_dir):
    """Compares every activation with TFLite's own outputs (../shared/tflite/golden/<model>/<input>/: ops.json and
    one NHWC .npy per op output), matched by the values' source_tensor. Returns (compared, mismatch lines)."""
    with open(os.path.join(golden_dir, "ops.json")) as fh:
        ops = json.load(fh)["ops"]
    files = {}
    for op in ops:
        for t, f in zip(op["outputs"], op.get("files", [])):
            files[int(t)] = os.path.join(golden_dir, f)
    compared, bad = 0, []
    for v, a in fwd.act.items():
        t = int(g.values[v].get("source_tensor", -1))
        if v == g.input or t not in files:
            continue
        ref = np.load(files[t])
        ref = ref.reshape(ref.shape[-3:] if ref.ndim >= 3 else (1, 1, -1))
        ref = ref.transpose(2, 0, 1) if ref.ndim == 3 else ref
        if ref.size != a.size:
            bad.append(f"value {v} ('{g.values[v]['name']}'): {a.size} elements, TFLite's {os.path.basename(files[t])} "
                       f"has {ref.size}")
            continue
        compared += 1
        diff = int((ref.reshape(a.shape).astype(np.int64) != a).sum())
        if diff:
            bad.append(f"value {v} ('{g.values[v]['name']}'): {diff} of {a.size} int8 values differ from "
                       f"{os.path.basename(files[t])}")
    return compared, bad
