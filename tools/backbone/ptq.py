"""Post-training quantization of a BN-folded `FloatNet` (mbv2.py) into an MCUNetV3 int8 model dict.

Conventions (ALGORITHM.md section 1, exactly those of the paper's released models):
  weights     per output channel, symmetric, zero point 0: w_scale = max|w| / 127 (ranges below 0.5e-6 widened to
              0.5e-6, so w_scale >= 0.5e-6/127), w_q = round_half_even(w / w_scale) in [-127, 127], int8 OIHW
  bias        b_q = round_half_even(b / (w_scale_c * x_scale)), saturated to int32
  activations per tensor, asymmetric int8. ReLU6 outputs (first_conv, pointwise1, depthwise): y_zero = -128,
              y_scale = r/255, r = calibrated max clipped to (0, 6]. pointwise2, residual-add and classifier outputs:
              asymmetric [lo, hi] (widened to include 0): y_scale = (hi-lo)/255, y_zero = round(-128 - lo/y_scale)
              clamped to [-128, 127]
  chaining    x params of every conv = its producer's y params; residual x = block input, y = block output;
              classifier x = last block output or feature_mix output (the average pool keeps the scale)
  input       first_conv x_scale = 2/255, x_zero = 0 (tte feeds q = pixel - 128, i.e. x = q * 2/255)

Calibration (`calibrate`): runs the float net on calibration batches and records, per quantized tensor, the exact
min/max and a deterministic random sample of values, from which `ranges(method)` returns [lo, hi] for
method 'minmax' or 'pXX.XXX' (lo/hi = the (100-XX.XXX)th / XX.XXXth percentile of the sample).
"""
import numpy as np
import torch

import mcunet_pkl
from mbv2 import FloatNet, float_forward

INPUT_SCALE = 2.0 / 255.0
INPUT_ZERO = 0
W_RANGE_FLOOR = 0.5e-6


def quantize_weights(w):
    """float OIHW -> (int8 OIHW, float32 w_scales[Cout]); per output channel symmetric."""
    w = np.asarray(w, dtype=np.float32)
    r = np.abs(w.reshape(w.shape[0], -1)).max(axis=1).astype(np.float64)
    r = np.maximum(r, W_RANGE_FLOOR)
    scales = (r / 127.0).astype(np.float32)
    q = np.rint(w.astype(np.float64) / scales.astype(np.float64).reshape(-1, 1, 1, 1))
    return np.clip(q, -127, 127).astype(np.int8), scales


def quantize_bias(b, w_scales, x_scale):
    """float bias -> int32 b_q = round(b / (w_scale_c * x_scale)), saturated to the int32 range."""
    q = np.rint(np.asarray(b, dtype=np.float64) / (w_scales.astype(np.float64) * float(x_scale)))
    return np.clip(q, -2**31, 2**31 - 1).astype(np.int32)


def relu6_qparams(r):
    """ReLU6 output with calibrated max r: (y_scale, y_zero) = (r/255, -128), r clipped to [1e-3, 6]."""
    r = float(min(max(r, 1e-3), 6.0))
    return r / 255.0, -128


def asym_qparams(lo, hi):
    """Asymmetric per-tensor (scale, zero) covering [min(lo,0), max(hi,0)]."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi - lo < 1e-8:
        hi = lo + 1e-8
    scale = (hi - lo) / 255.0
    zero = int(np.clip(np.rint(-128.0 - lo / scale), -128, 127))
    return scale, zero


class Calibrator:
    """Collects per-tensor statistics of a FloatNet's quantized tensors over calibration batches."""

    def __init__(self, samples_per_batch=20000, seed=0):
        self.mins, self.maxs, self.samples = {}, {}, {}
        self.k = samples_per_batch
        self.gen = torch.Generator().manual_seed(seed)

    def observe(self, name, t):
        t = t.detach().float().reshape(-1)
        lo, hi = float(t.min()), float(t.max())
        self.mins[name] = min(lo, self.mins.get(name, lo))
        self.maxs[name] = max(hi, self.maxs.get(name, hi))
        n = min(self.k, t.numel())
        idx = torch.randint(0, t.numel(), (n,), generator=self.gen)
        self.samples.setdefault(name, []).append(t[idx].numpy())

    def ranges(self, method="minmax"):
        """name -> (lo, hi) for 'minmax' or a percentile method such as 'p99.99'."""
        out = {}
        for name in self.mins:
            if method == "minmax":
                out[name] = (self.mins[name], self.maxs[name])
            elif method.startswith("p"):
                p = float(method[1:])
                s = np.concatenate(self.samples[name])
                out[name] = (float(np.percentile(s, 100.0 - p)), float(np.percentile(s, p)))
            else:
                raise ValueError(f"unknown calibration method {method!r}")
        return out


def calibrate(net: FloatNet, batches, samples_per_batch=20000, seed=0):
    """Runs `net` on an iterable of float input batches [N,3,H,W] and returns a Calibrator."""
    cal = Calibrator(samples_per_batch, seed)
    with torch.no_grad():
        for x in batches:
            float_forward(net, x, cal.observe)
    return cal


def _conv_out(h, k, s):
    p = (k - 1) // 2
    return (h + 2 * p - k) // s + 1


def quantize_model(net: FloatNet, ranges, in_shape=128, input_scale=INPUT_SCALE, input_zero=INPUT_ZERO,
                   relu6_method=None):
    """FloatNet + calibrated ranges {tensor name: (lo, hi)} -> MCUNetV3 model dict (schema of the paper's .pkl).

    ReLU6 tensors use r = hi of their range (clipped to 6); the others use asym_qparams(lo, hi).
    A conv that is neither ReLU6 nor linear cannot be represented: the int8 format has only the clamp.
    `relu6_method`, if given, is a dict overriding the range of ReLU6 tensors (e.g. from another method).
    """
    relu6_ranges = relu6_method or ranges

    def qconv(c, name, x_q, h, classifier=False):
        w_q, w_s = quantize_weights(c.weight)
        if c.relu6:
            y = relu6_qparams(relu6_ranges[name][1])
        else:
            y = asym_qparams(*ranges[name])
        k = c.weight.shape[2]
        ho = _conv_out(h, k, c.stride)
        d = mcunet_pkl.conv_dict(w_q, quantize_bias(c.bias, w_s, x_q[0]), w_s, x_q[0], x_q[1], y[0], y[1],
                                 c.stride, c.groups, h, ho, classifier=classifier)
        return d, y, ho

    first, q, h = qconv(net.first_conv, "first_conv", (input_scale, input_zero), in_shape)
    blocks = []
    for i, b in enumerate(net.blocks):
        q_in, h_in = q, h
        entry = {"pointwise1": None}
        for name in ("pointwise1", "depthwise", "pointwise2"):
            c = getattr(b, name)
            if c is None:
                continue
            entry[name], q, h = qconv(c, f"blocks.{i}.{name}", q, h)
        entry["residual"] = None
        if b.residual:
            if h != h_in:
                raise ValueError(f"blocks[{i}]: identity residual needs stride 1")
            y = asym_qparams(*ranges[f"blocks.{i}.residual"])
            entry["residual"] = mcunet_pkl.residual_dict(b.depthwise.weight.shape[0] if b.pointwise1 is None
                                                         else b.pointwise1.weight.shape[1], h_in,
                                                         q_in[0], q_in[1], y[0], y[1])
            q = y
        entry["se"] = None
        blocks.append(entry)
    mix = None
    if net.feature_mix is not None:
        if net.feature_mix.weight.shape[2] != 1 or net.feature_mix.stride != 1:
            raise ValueError("feature_mix must be a 1x1 stride-1 conv")
        mix, q, h = qconv(net.feature_mix, "feature_mix", q, h)
    cls, _, _ = qconv(net.classifier, "classifier", q, 1, classifier=True)
    d = {"first_conv": first, "blocks": blocks, "feature_mix": mix, "classifier": cls}
    mcunet_pkl.validate_model_dict(d)
    return d
