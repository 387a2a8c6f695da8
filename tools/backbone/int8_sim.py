"""Exact, vectorized (torch, CPU) simulator of the reference's int8 forward pass, as library and CLI.

It reproduces the training-graph "diff ops" of mit-han-lab/tiny-training (ALGORITHM.md sections 2 and 8) bit for bit.
Every tensor is float32 holding integer values; rounding is torch.round = round half to even.

  conv (also depthwise / classifier), per output channel c, pad = (k-1)//2 in the shifted domain:
      acc   = conv2d(x_q - z_x, W_q, stride, groups)              exact integer (see below), then float32(acc)
      t     = float32(acc) + float32(bias_i32)                     fp32 add (saturated int32 biases round to +-2^31)
      eff_c = float32(x_scale * float64(w_scale_c) / y_scale)      evaluated in float64, then one cast
      y     = clamp(round_half_even(float32(t * eff_c)) + z_y, -128, 127)
  residual add (x1 = block input, x2 = pointwise2 output, already clamped; s1,s2,s_y as float32 scalars):
      y = clamp(round_half_even((((x1 - z1) * s1) + ((x2 - z2) * s2)) / s_y) + z_y, -128, 127)
      every step one fp32 operation, in exactly that order, and a true fp32 division by s_y (not * 1/s_y).
  average pool: round_half_even(float32(sum over H,W) / float32(H*W)); no clamp, same scale/zero point.

Exactness of acc: every term |x_q - z_x| * |w| is an integer and all partial sums are bounded by
B_c = max|x_q - z_x| * sum|W_q[c]|. When max_c B_c < 2^24 the fp32 convolution is exact in ANY summation order, so the
float32 path is used: torch's CPU conv2d (oneDNN direct convolution; this torch has no NNPACK, so no Winograd/FFT),
spot-checked on the first call of every layer against an explicit shifted-slice/matmul evaluation (`set_fast(False)`
uses only the explicit one). Otherwise it falls back to a float64 conv, exact below 2^53, cast to float32 once. Which of these formulations match the golden data is checked by
check_sim_against_golden.py (its header records the findings).

CLI:
  int8_sim.py --model m.pkl --input x.npy [--out logits.npy]        int8 input [N,3,H,W] or [3,H,W] -> int8 logits
  int8_sim.py --model m.pkl --eval-fmnist 0-4 [--save-logits f.npy]  top-1 on Fashion-MNIST test images of those classes
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mcunet_pkl import load_mcunet_pkl  # noqa: E402

EXACT_F32 = 1 << 24
_FAST = True


def set_fast(enabled):
    """True (default): torch conv2d in float32 when exact. False: explicit matmul/slice evaluation only (slower)."""
    global _FAST
    _FAST = bool(enabled)


def _f32(v):
    return torch.tensor(np.float32(v), dtype=torch.float32)


def effective_scales(params):
    """eff_c = float32(x_scale * w_scale_c / y_scale), computed in float64 (the reference's convention)."""
    ws = np.asarray(params["w_scales"], dtype=np.float32).astype(np.float64)
    return (float(params["x_scale"]) * ws / float(params["y_scale"])).astype(np.float32)


class ConvSpec:
    """Pre-processed int8 conv: weights as float tensors, eff and bias as float32, bound for the exact path."""

    def __init__(self, conv):
        p = conv["params"]
        w = np.asarray(p["weight"], dtype=np.int8)
        self.cout, self.cin_g, self.k, _ = w.shape
        self.stride = int(conv["stride"])
        self.groups = int(conv["groups"])
        self.pad = (self.k - 1) // 2
        self.z_x = int(p["x_zero"])
        self.z_y = int(p["y_zero"])
        self.w64 = torch.from_numpy(w.astype(np.float64))
        self.w32 = self.w64.float()
        self.bias = torch.from_numpy(np.asarray(p["bias"], dtype=np.int32).astype(np.float32)).view(1, -1, 1, 1)
        self.eff = torch.from_numpy(effective_scales(p)).view(1, -1, 1, 1)
        xmax = max(127 - self.z_x, self.z_x + 128)
        wsum = np.abs(w.astype(np.int64)).reshape(self.cout, -1).sum(axis=1).max()
        self.exact_f32 = xmax * int(wsum) < EXACT_F32
        self.checked = False

    def accumulate(self, x):
        """acc = conv2d(x - z_x, W) as exact integers in float32 [N,Cout,Ho,Wo] (cast from float64 if needed)."""
        xs = x - float(self.z_x)  # exact: integers, |x - z| <= 255
        if not self.exact_f32:
            return F.conv2d(xs.double(), self.w64, None, self.stride, self.pad, 1, self.groups).float()
        if not _FAST:
            return self._explicit(xs)
        acc = F.conv2d(xs, self.w32, None, self.stride, self.pad, 1, self.groups)
        if not self.checked:
            if not torch.equal(acc[:1].contiguous(), self._explicit(xs[:1].contiguous())):
                raise RuntimeError("torch conv2d float32 is not exact here; call int8_sim.set_fast(False)")
            self.checked = True
        return acc

    def _explicit(self, xs):
        """Exact float32 accumulation with explicit matmul / shifted slices (any order is exact below 2^24)."""
        n, cin, h, w = xs.shape
        k, s, p = self.k, self.stride, self.pad
        ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        if self.groups == 1 and k == 1:
            xi = (xs[:, :, ::s, ::s] if s > 1 else xs).reshape(n, cin, ho * wo)
            return torch.matmul(self.w32.view(self.cout, cin), xi).view(n, self.cout, ho, wo)
        if self.groups == cin and self.cin_g == 1 and self.cout == cin:  # depthwise: sum of shifted slices
            xp = F.pad(xs, (p, p, p, p))
            acc = torch.zeros((n, cin, ho, wo), dtype=torch.float32)
            wk = self.w32.view(cin, k, k)
            for dy in range(k):
                for dx in range(k):
                    sl = xp[:, :, dy:dy + s * (ho - 1) + 1:s, dx:dx + s * (wo - 1) + 1:s]
                    acc += sl * wk[:, dy, dx].view(1, cin, 1, 1)
            return acc
        if self.groups == 1:  # dense kxk: im2col + matmul
            cols = F.unfold(xs, k, padding=p, stride=s)  # [N, Cin*k*k, L]
            acc = torch.matmul(self.w32.view(self.cout, -1), cols)
            return acc.view(n, self.cout, ho, wo)
        return F.conv2d(xs.double(), self.w64, None, s, p, 1, self.groups).float()

    def __call__(self, x, return_pre=False):
        t = self.accumulate(x)
        t.add_(self.bias).mul_(self.eff).round_().add_(float(self.z_y))  # in place: same fp32 ops, fewer allocations
        if return_pre:
            return torch.clamp(t, -128.0, 127.0), t
        return t.clamp_(-128.0, 127.0)


class ResidualSpec:
    def __init__(self, residual, pw2_params):
        p = residual["params"]
        self.s1, self.z1 = _f32(p["x_scale"]), float(p["x_zero"])
        self.s2, self.z2 = _f32(pw2_params["y_scale"]), float(pw2_params["y_zero"])
        self.sy, self.zy = _f32(p["y_scale"]), float(p["y_zero"])

    def __call__(self, x1, x2):
        a = (x1 - self.z1).mul_(self.s1)
        b = (x2 - self.z2).mul_(self.s2)
        return a.add_(b).div_(self.sy).round_().add_(self.zy).clamp_(-128.0, 127.0)


def avgpool(x):
    """round(mean over H,W), no clamp. The sum of <= 2^16 int8 values is exact in fp32."""
    n = x.shape[2] * x.shape[3]
    s = x.sum(dim=(2, 3), keepdim=True)
    return torch.round(s / _f32(float(n)))


class Int8Model:
    """The whole network: first_conv, blocks, (feature_mix), avgpool, classifier."""

    def __init__(self, model):
        if isinstance(model, (str, os.PathLike)):
            model = load_mcunet_pkl(model)
        self.first_conv = ConvSpec(model["first_conv"])
        self.blocks = []
        for i, blk in enumerate(model["blocks"]):
            if blk.get("se") is not None:
                raise NotImplementedError(f"blocks[{i}].se: SE is not supported by the diff ops")
            r = blk.get("residual")
            if r is not None and "kernel_size" in r:
                raise NotImplementedError(f"blocks[{i}].residual: conv shortcuts are not supported")
            convs = [ConvSpec(blk[n]) for n in ("pointwise1", "depthwise", "pointwise2") if blk[n] is not None]
            res = ResidualSpec(r, blk["pointwise2"]["params"]) if r is not None else None
            self.blocks.append((convs, res))
        self.feature_mix = ConvSpec(model["feature_mix"]) if model.get("feature_mix") is not None else None
        self.classifier = ConvSpec(model["classifier"])

    def forward(self, x, acts=None):
        """x: float32 [N,C,H,W] of int8 values. Returns the classifier output [N,classes] (float of int8 values).

        If `acts` is a dict, it receives every top-level stage output under the golden file's keys.
        """
        def keep(name, t):
            if acts is not None:
                acts[name] = t
        x = self.first_conv(x)
        keep("first_conv", x)
        for i, (convs, res) in enumerate(self.blocks):
            y = x
            for c in convs:
                y = c(y)
            x = res(x, y) if res is not None else y
            keep(f"block_{i:02d}", x)
        if self.feature_mix is not None:
            x = self.feature_mix(x)
        keep("feature_mix", x)
        x = avgpool(x)
        keep("avgpool", x)
        x = self.classifier(x)
        keep("fc", x)
        return x.flatten(1)

    def logits(self, x_int8, batch=200):
        """int8 numpy [N,C,H,W] (or [C,H,W]) -> int8 numpy logits [N,classes], processed in chunks."""
        x_int8 = np.asarray(x_int8)
        if x_int8.dtype != np.int8:
            raise ValueError(f"input dtype is {x_int8.dtype}, expected int8")
        if x_int8.ndim == 3:
            x_int8 = x_int8[None]
        out = []
        with torch.no_grad():
            for i in range(0, x_int8.shape[0], batch):
                xb = torch.from_numpy(x_int8[i:i + batch].astype(np.float32))
                xb = xb.contiguous(memory_format=torch.channels_last)  # layout only; faster oneDNN convs
                out.append(self.forward(xb).numpy().astype(np.int8))
        return np.concatenate(out, axis=0)


def top1(logits, labels):
    """Top-1 accuracy; ties go to the lowest class index (numpy argmax)."""
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def eval_fmnist(model, classes, data_dir=None, batch=200, limit=None, verbose=True):
    """Runs the simulator on the Fashion-MNIST test images whose label is in `classes` (file order).

    Returns (int8 logits [N,len(classes)], labels as class positions int64 [N]). Preprocessing = fmnist.to_int8_input.
    """
    import fmnist
    images, labels = fmnist.load_split("test", classes, data_dir or fmnist.DEFAULT_DIR)
    if limit:
        images, labels = images[:limit], labels[:limit]
    pos = {c: i for i, c in enumerate(classes)}
    labels = np.array([pos[int(l)] for l in labels], dtype=np.int64)
    m = model if isinstance(model, Int8Model) else Int8Model(model)
    out = []
    t0 = time.time()
    for i in range(0, len(images), batch):
        x = fmnist.to_int8_input(fmnist.upscale_all(images[i:i + batch]))
        out.append(m.logits(x, batch))
        if verbose:
            print(f"  sim {min(i + batch, len(images))}/{len(images)} images, {time.time() - t0:.0f}s", flush=True)
    return np.concatenate(out, axis=0), labels


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="MCUNetV3 .pkl int8 model")
    ap.add_argument("--input", help="int8 .npy input, [N,C,H,W] or [C,H,W]")
    ap.add_argument("--out", help="write the int8 logits here (.npy) for --input")
    ap.add_argument("--eval-fmnist", metavar="CLASSES", help="evaluate top-1 on Fashion-MNIST test classes, e.g. 0-4")
    ap.add_argument("--data-dir", default=None, help="Fashion-MNIST IDX directory (default Debian's)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N test images of those classes")
    ap.add_argument("--save-logits", help="with --eval-fmnist: write the int8 logits (.npy)")
    ap.add_argument("--save-labels", help="with --eval-fmnist: write the labels (.npy, int64)")
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    if not a.input and not a.eval_fmnist:
        ap.error("give --input or --eval-fmnist")
    m = Int8Model(a.model)
    if a.input:
        logits = m.logits(np.load(a.input), a.batch)
        if a.out:
            np.save(a.out, logits)
        else:
            np.set_printoptions(linewidth=120, threshold=50)
            print(logits)
        print("argmax:", np.argmax(logits, axis=1).tolist()[:20])
    if a.eval_fmnist:
        import fmnist
        classes = fmnist.parse_classes(a.eval_fmnist)
        logits, labels = eval_fmnist(m, classes, a.data_dir, a.batch, a.limit)
        print(f"int8 top-1 on {len(labels)} Fashion-MNIST test images of classes {classes}: {100 * top1(logits, labels):.2f}%")
        if a.save_logits:
            np.save(a.save_logits, logits)
        if a.save_labels:
            np.save(a.save_labels, labels)
    return 0


if __name__ == "__main__":
    sys.exit(main())
