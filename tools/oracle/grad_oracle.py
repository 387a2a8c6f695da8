#!/usr/bin/python3
"""The PyTorch gradient oracle: the straight-through fp32 simulation of any IR graph tte can dump, differentiated
by torch's autograd in float64, to check what `tte grad` computes (docs/gradients.md, "The PyTorch oracle").

  tte info --model m.tflite --dump-graph dump/
  tte grad --model m.tflite --input x.npy --label 1 --head-weight hw.npy --head-bias hb.npy --scheme full \
           --output-dir grads/
  tools/oracle/grad_oracle.py --graph dump/ --input x.npy --label 1 --head-weight hw.npy --head-bias hb.npy \
           --output-dir oracle/ --compare grads/

1. The int8 forward is recomputed exactly in the graph's own arithmetic (int8_graph.py): numpy int64 for TFLite's
   integer requantization, float32 for the reference's. --golden checks it against TFLite's own per-op outputs;
   --dump-activations writes it.
2. A torch float64 graph is built over the integer-valued tensors (int8 activations, int8 weights, int32 biases)
   in which every rounding / requantization is straight-through: the forward value is the exact int8 of step 1,
   the backward is the linear map of the definitions times the inclusive clamp mask:
     conv / depthwise / fully connected   eff_c (conv(x - z_x, W) + b),  eff_c = float32(s_x s_w,c / s_y)
     add                                  (s_a a + s_b b) / s_y          (scales as float32)
     average pool                         window sum / in-image count
     mean                                 sum_HW x s_x / (H W s_y)      (scales as float32)
     pad, reshape                         the same element placement (gradient: crop, inverse permutation)
   The classifier is replaced by the fp32 head over its input: logits = W f + b, f = (x - z_x) s_x, softmax
   cross-entropy with the label. Values read by several consumers accumulate their gradients (autograd).
3. The gradients are written as tte grad names them: conv{i}.weight (OIHW), conv{i}.bias, head.weight, head.bias
   (.npy, float32) and loss.txt. --compare DIR prints, per tensor, max |tte - oracle| / max |oracle| and fails
   above the .pkl goldens' limits: 1e-4 for biases, 1e-3 for weights (and 1e-4 relative for the loss).
Exit status: 0 pass, 1 a comparison failed, 2 bad inputs (the message names the file, field, node or op).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from int8_graph import (CONV_OPS, OracleError, check_golden, conv_linear, eff_scales, int8_forward,  # noqa: E402
                        load_graph, load_input, load_npy, pool_sums, reshape_op)

BIAS_LIMIT, WEIGHT_LIMIT, LOSS_LIMIT = 1e-4, 1e-3, 1e-4


class StraightThrough(torch.autograd.Function):
    """Forward: the exact int8 value. Backward: the gradient of the linear map, times the clamp mask."""

    @staticmethod
    def forward(ctx, lin, exact, mask):
        ctx.save_for_backward(mask)
        return exact.clone()

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        return g * mask, None, None


def t64(a):
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))


def oracle_gradients(g, x, label, head_w, head_b, fwd, drop_mask=False):
    """Runs autograd over the straight-through graph; returns ({name: float64 ndarray}, loss, logits)."""
    head = g.head_node()
    layers = g.layers()
    t = {g.input: t64(x)}
    params = {}  # name -> leaf tensor
    for k in range(head):
        n = g.nodes[k]
        op, yv = n["op"], n["outputs"][0]
        xin = t[n["inputs"][0]]
        if op in CONV_OPS:
            xv, wv, bv = n["inputs"]
            key = f"conv{layers[k]}"
            w = t64(g.consts[wv]).requires_grad_(True)
            b = t64(g.consts[bv]).requires_grad_(True)
            params[key + ".weight"], params[key + ".bias"] = w, b
            eff = t64(eff_scales(g, n)).reshape(-1, 1, 1)
            xz = xin - g.zero(xv)
            if op == "fully_connected":
                acc = (w.reshape(w.shape[0], -1) @ xz.reshape(-1)).reshape(-1, 1, 1)
            else:
                acc = conv_linear(n, xz, w, g.shape(xv)[0])
            lin = eff * (acc + b.reshape(-1, 1, 1))
        elif op == "add":
            (a, b), (va, vb) = (t[v] for v in n["inputs"]), n["inputs"]
            sy = float(np.float32(g.scale(yv)))
            lin = (a * float(np.float32(g.scale(va))) + b * float(np.float32(g.scale(vb)))) / sy
        elif op == "avg_pool2d":
            sums, counts = pool_sums(n, xin)
            lin = sums / counts
        elif op == "mean":
            xv = n["inputs"][0]
            cnt = g.shape(xv)[1] * g.shape(xv)[2]
            f = float(np.float32(g.scale(xv))) / (cnt * float(np.float32(g.scale(yv))))
            lin = xin.sum(dim=(1, 2), keepdim=True) * f
        elif op == "pad":
            p = n["pad"]
            lin = F.pad(xin, (p[4], p[5], p[2], p[3], p[0], p[1]))
        elif op == "reshape":
            lin = reshape_op(n, xin, g.shape(yv))
        exact = t64(fwd.act[yv])
        if tuple(lin.shape) != tuple(exact.shape):
            raise OracleError(f"{g.where}/graph.json: node {k} ('{n['name']}', {op}): the linear map gives shape "
                              f"{list(lin.shape)}, the value has {list(exact.shape)}")
        inside = fwd.inside.get(yv)
        mask = t64(np.ones(exact.shape) if inside is None or drop_mask else inside)
        t[yv] = StraightThrough.apply(lin, exact, mask)
    # The fp32 head over the classifier's input.
    hn = g.nodes[head]
    fv = hn["inputs"][0]
    feat = t[fv].reshape(-1)
    if head_w.ndim != 2 or head_w.shape[1] != feat.numel() or head_b.shape != (head_w.shape[0],):
        raise OracleError(f"head weight {list(head_w.shape)} / bias {list(head_b.shape)}: expected [classes, "
                          f"{feat.numel()}] and [classes] (the classifier '{hn['name']}' reads {feat.numel()} features)")
    if not 0 <= label < head_w.shape[0]:
        raise OracleError(f"label {label} is outside the head's {head_w.shape[0]} classes")
    W = t64(head_w).requires_grad_(True)
    B = t64(head_b).requires_grad_(True)
    params["head.weight"], params["head.bias"] = W, B
    f = (feat - g.zero(fv)) * float(np.float32(g.scale(fv)))
    logits = W @ f + B
    loss = torch.logsumexp(logits, 0) - logits[label]
    loss.backward()
    grads = {k: (p.grad.numpy() if p.grad is not None else np.zeros(p.shape)) for k, p in params.items()}
    return grads, float(loss), logits.detach().numpy()


def read_loss(path):
    try:
        with open(path) as fh:
            return float(fh.read().split()[0])
    except (OSError, ValueError, IndexError) as e:
        raise OracleError(f"{path}: cannot read the loss: {e}")


def load_other(path):
    """({name: ndarray}, loss) from a `tte grad --output-dir` directory or a .npz of named gradients and 'loss'
    (the reference's goldens, ../shared/golden_grad)."""
    if path.endswith(".npz"):
        if not os.path.isfile(path):
            raise OracleError(f"{path}: no such file (gradients to compare with)")
        with np.load(path) as z:
            got = {k: z[k] for k in z.files if k not in ("loss", "logits")}
            if "loss" not in z.files:
                raise OracleError(f"{path}: no 'loss' entry")
            return got, float(np.asarray(z["loss"]).reshape(-1)[0])
    if not os.path.isdir(path):
        raise OracleError(f"{path}: no such directory (tte grad --output-dir)")
    got = {f[:-4]: load_npy(os.path.join(path, f), "a gradient tte grad wrote")
           for f in os.listdir(path) if f.endswith(".npy")}
    return got, read_loss(os.path.join(path, "loss.txt"))


def compare(grads, loss, other_path):
    """Prints the table; returns (passed, worst weight rel, worst bias rel)."""
    other, other_loss = load_other(other_path)
    ok, worst_w, worst_b = True, 0.0, 0.0
    print(f"{'tensor':<18} {'shape':<18} {'max|oracle|':>11} {'max|err|':>10} {'relative':>10} {'limit':>7}  result")
    for key in sorted(set(other) | set(grads), key=lambda k: (k.startswith("head"), len(k), k)):
        if key not in grads:
            print(f"{key:<18} in {other_path}, unknown to the oracle{'':>20}FAIL")
            ok = False
            continue
        want = grads[key]
        if key not in other:
            print(f"{key:<18} {str(list(want.shape)):<18} missing from {other_path}{'':>10}FAIL")
            ok = False
            continue
        got = other[key].astype(np.float64)
        if got.size != want.size:
            print(f"{key:<18} {list(got.shape)} in {other_path}, oracle {list(want.shape)}{'':>10}FAIL")
            ok = False
            continue
        got = got.reshape(want.shape)
        scale = float(np.abs(want).max()) if want.size else 0.0
        err = float(np.abs(got - want).max()) if want.size else 0.0
        rel = err / scale if scale > 0 else err
        limit = BIAS_LIMIT if key.endswith(".bias") else WEIGHT_LIMIT
        passed = rel <= limit
        ok &= passed
        if key.endswith(".bias"):
            worst_b = max(worst_b, rel)
        else:
            worst_w = max(worst_w, rel)
        print(f"{key:<18} {str(list(want.shape)):<18} {scale:11.4e} {err:10.3e} {rel:10.3e} {limit:7.0e}  "
              f"{'pass' if passed else 'FAIL'}")
    lrel = abs(other_loss - loss) / max(1.0, abs(loss))
    ok &= lrel <= LOSS_LIMIT
    print(f"{'loss':<18} compared {other_loss:.9g}, oracle {loss:.9g}, relative {lrel:.2e} (limit {LOSS_LIMIT:.0e})  "
          f"{'pass' if lrel <= LOSS_LIMIT else 'FAIL'}")
    return ok, worst_w, worst_b


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--graph", required=True, help="the directory `tte info --dump-graph` wrote")
    ap.add_argument("--input", required=True, help="int8 .npy, as tte grad takes it (NHWC for TFLite models)")
    ap.add_argument("--label", required=True, type=int)
    ap.add_argument("--head-weight", required=True, help="fp32 .npy [classes, features]")
    ap.add_argument("--head-bias", required=True, help="fp32 .npy [classes]")
    ap.add_argument("--output-dir", help="write conv{i}.weight.npy, ..., head.*.npy, loss.txt here")
    ap.add_argument("--compare", metavar="TTE_GRAD_DIR", help="compare with what `tte grad --output-dir` wrote "
                    "(or with a .npz of named gradients and 'loss', such as the reference's goldens)")
    ap.add_argument("--golden", metavar="DIR", help="check the int8 forward against TFLite's per-op outputs "
                    "(a ../shared/tflite/golden/<model>/<input>/ directory)")
    ap.add_argument("--dump-activations", metavar="DIR", help="write every int8 activation as v<id>.npy (CHW)")
    ap.add_argument("--drop-masks", action="store_true", help="testing the tests: ignore every clamp mask "
                    "(a planted wrong rule; --compare must then fail on a graph whose clamps stop gradient)")
    a = ap.parse_args(argv)
    g = load_graph(a.graph)
    x = load_input(g, a.input)
    head_w = load_npy(a.head_weight, "the head weight").astype(np.float32)
    head_b = load_npy(a.head_bias, "the head bias").astype(np.float32)
    fwd = int8_forward(g, x)
    print(f"oracle: {a.graph}: {g.requant}, {len(g.nodes)} nodes, {len(g.layers())} layers + head; "
          f"{fwd.clamped} clamp-mask bits stop gradient")
    if a.dump_activations:
        os.makedirs(a.dump_activations, exist_ok=True)
        for v, act in fwd.act.items():
            np.save(os.path.join(a.dump_activations, f"v{v}.npy"), act)
    ok = True
    if a.golden:
        if not os.path.isfile(os.path.join(a.golden, "ops.json")):
            raise OracleError(f"{a.golden}/ops.json: no such file (a TFLite golden directory)")
        n, bad = check_golden(g, fwd, a.golden)
        print(f"int8 forward vs TFLite's outputs in {a.golden}: {n} activations compared, "
              f"{'all bit-identical' if not bad else str(len(bad)) + ' differ'}")
        for line in bad:
            print("  " + line)
        ok = not bad and n > 0
    grads, loss, _ = oracle_gradients(g, x, a.label, head_w, head_b, fwd, a.drop_masks)
    print(f"loss {loss:.9g}")
    if a.output_dir:
        os.makedirs(a.output_dir, exist_ok=True)
        for k, v in grads.items():
            np.save(os.path.join(a.output_dir, k + ".npy"), v.astype(np.float32))
        with open(os.path.join(a.output_dir, "loss.txt"), "w") as fh:
            fh.write(f"{loss:.9g}\n")
    if a.compare:
        passed, ww, wb = compare(grads, loss, a.compare)
        print(f"worst relative error: weights {ww:.2e} (limit {WEIGHT_LIMIT:.0e}), biases {wb:.2e} "
              f"(limit {BIAS_LIMIT:.0e}): {'PASS' if passed and ok else 'FAIL'}")
        ok &= passed
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except OracleError as e:
        print(f"grad_oracle: error: {e}", file=sys.stderr)
        sys.exit(2)
