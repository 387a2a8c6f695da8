"""Makes tte's own default int8 backbone: models/default-backbone.pkl (+ .md, .sim_logits.npy, .sim_labels.npy).

Pretrains a MobileNetV2-w0.35-style network (the paper's mbv2-w0.35 block structure, 128x128 input, no feature_mix,
1x1-conv classifier 112 -> 5) on Fashion-MNIST classes 0-4, folds BN, quantizes post-training with the reference's
conventions (ptq.py), writes the MCUNetV3 .pkl (mcunet_pkl.py) and evaluates it with the exact int8 simulator
(int8_sim.py) on the 5000 test images of classes 0-4 in file order.

Data: Debian's /usr/share/datasets/fashion-mnist IDX files. The last --val images (file order) of the classes-0-4
training set are held out: they choose the calibration method, so the test set is used only for the final figures.
Input preprocessing is tte's (fmnist.py): PIL bilinear 28->128, grey to 3 channels, q = p - 128, x = q * 2/255.
Training augmentation: random translation (zero-padded, +-PAD pixels at 128x128) and horizontal flip.
Training: SGD Nesterov momentum 0.9, linear warm-up then per-iteration cosine to 0, label smoothing 0.1, weight decay
on conv weights only. Deterministic: fixed seeds, 2 threads, torch.use_deterministic_algorithms.
Calibration: float activations of --calib-images training images (no augmentation); candidates min/max and several
percentiles, each simulated in int8 on the held-out images; the best (ties: the earlier candidate) is used.

Run time: 3 epochs = 1311 steps of 64 images; about 0.4 s per step with 2 threads on an idle 2-core x86 machine
(~10 min for the whole script), several times longer when other jobs share the cores (see models/*.md).

Examples:
  /usr/bin/python3 tools/backbone/make_default_backbone.py                     # the committed model
  /usr/bin/python3 tools/backbone/make_default_backbone.py --quick --out /tmp/q/bb.pkl   # smoke test, a few minutes
  /usr/bin/python3 tools/backbone/make_default_backbone.py --quick --out /tmp/q/bb.pkl --tflite /tmp/q/bb.tflite
      # also a TFLite int8 flatbuffer of the same model, written by `tte export` (docs/export.md)
"""
import argparse
import hashlib
import os
import subprocess
import sys
import time

# Sleep instead of spinning while waiting at OpenMP barriers: on a shared 2-core machine spinning threads burn the
# CPU that the other thread (and other jobs) need. Scheduling only; the arithmetic is unchanged.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import fmnist  # noqa: E402
import int8_sim  # noqa: E402
import mcunet_pkl  # noqa: E402
import ptq  # noqa: E402
from mbv2 import MBV2, fold_mbv2, float_forward  # noqa: E402

CLASSES = [0, 1, 2, 3, 4]
PAD = 12
CALIB_CANDIDATES = ["minmax", "p99.999", "p99.99", "p99.9"]


def log(msg):
    print(msg, flush=True)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=None, help="output .pkl (default models/default-backbone.pkl; with --quick "
                    "/tmp/tte-backbone-quick/default-backbone.pkl). The .md/.sim_logits.npy/.sim_labels.npy go beside it.")
    ap.add_argument("--epochs", type=int, default=None, help="training epochs (default 3; --quick: 1)")
    ap.add_argument("--seed", type=int, default=0, help="seed for init, shuffling, augmentation, calibration sampling")
    ap.add_argument("--quick", action="store_true", help="smoke test: 1000 train images, 1 epoch, 500 held-out, "
                    "256 calibration and 1000 test images")
    ap.add_argument("--tflite", default=None, help="also write the model as a TFLite int8 flatbuffer to this path, "
                    "with `tte export` (the .pkl's arithmetic in TFLite's integer form; docs/export.md)")
    ap.add_argument("--tte", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "tte"),
                    help="the tte binary used by --tflite")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.08, help="peak learning rate (batch 64)")
    ap.add_argument("--wd", type=float, default=5e-5, help="weight decay on conv weights")
    ap.add_argument("--val", type=int, default=2000, help="held-out training images for choosing the calibration")
    ap.add_argument("--calib-images", type=int, default=2048, help="training images used for calibration")
    ap.add_argument("--calib-method", default="auto", help="auto (choose on the held-out set) or one of "
                    + ", ".join(CALIB_CANDIDATES) + " or pXX.XXX")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data-dir", default=fmnist.DEFAULT_DIR)
    ap.add_argument("--save-float", help="also save the trained float model (torch state_dict) here")
    ap.add_argument("--load-float", help="skip training: load this state_dict (from --save-float)")
    a = ap.parse_args(argv)
    if a.epochs is None:
        a.epochs = 1 if a.quick else 3
    if a.out is None:
        a.out = ("/tmp/tte-backbone-quick/default-backbone.pkl" if a.quick
                 else os.path.join(REPO, "models", "default-backbone.pkl"))
    return a


def to_float(up128_uint8):
    """uint8 [N,128,128] -> float [N,3,128,128] x = (p - 128) * 2/255, exactly as the int8 input is interpreted."""
    x = (up128_uint8.astype(np.float32) - 128.0) * np.float32(fmnist.INPUT_SCALE)
    return torch.from_numpy(x).unsqueeze(1).expand(-1, 3, -1, -1).contiguous(memory_format=torch.channels_last)


def augment(batch_u8, rng):
    """Random translation by up to PAD pixels (background 0 fills) and horizontal flip; uint8 [B,128,128]."""
    b, h, w = batch_u8.shape
    padded = np.zeros((b, h + 2 * PAD, w + 2 * PAD), dtype=np.uint8)
    padded[:, PAD:PAD + h, PAD:PAD + w] = batch_u8
    oy = rng.integers(0, 2 * PAD + 1, size=b)
    ox = rng.integers(0, 2 * PAD + 1, size=b)
    flip = rng.random(b) < 0.5
    out = np.empty_like(batch_u8)
    for i in range(b):
        crop = padded[i, oy[i]:oy[i] + h, ox[i]:ox[i] + w]
        out[i] = crop[:, ::-1] if flip[i] else crop
    return out


def float_accuracy(model, images_u8, labels, batch=250):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(images_u8), batch):
            logits = model(to_float(images_u8[i:i + batch]))
            correct += int((logits.argmax(1).numpy() == labels[i:i + batch]).sum())
    return correct / max(1, len(labels))


def train(model, images, labels, val_images, val_labels, a):
    n = len(images)
    steps_per_epoch = n // a.batch
    total = steps_per_epoch * a.epochs
    warm = min(300, max(1, total // 10))
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if p.ndim == 4 else no_decay).append(p)
    opt = torch.optim.SGD([{"params": decay, "weight_decay": a.wd}, {"params": no_decay, "weight_decay": 0.0}],
                          lr=a.lr, momentum=0.9, nesterov=True)
    rng = np.random.default_rng(a.seed + 1)
    step = 0
    for epoch in range(a.epochs):
        model.train()
        t0 = time.time()
        perm = rng.permutation(n)
        loss_sum, correct, seen = 0.0, 0, 0
        for it in range(steps_per_epoch):
            idx = np.sort(perm[it * a.batch:(it + 1) * a.batch])
            x = to_float(augment(images[idx], rng))
            y = torch.from_numpy(labels[idx])
            lr = a.lr * (step + 1) / warm if step < warm else \
                0.5 * a.lr * (1 + np.cos(np.pi * (step - warm) / max(1, total - warm)))
            for g in opt.param_groups:
                g["lr"] = lr
            out = model(x)
            loss = F.cross_entropy(out, y, label_smoothing=0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            loss_sum += float(loss) * len(idx)
            correct += int((out.argmax(1) == y).sum())
            seen += len(idx)
            if (it + 1) % 100 == 0:
                log(f"    epoch {epoch + 1} step {it + 1}/{steps_per_epoch} loss {loss_sum / seen:.4f} "
                    f"lr {lr:.4f} {time.time() - t0:.0f}s")
        val = float_accuracy(model, val_images, val_labels)
        log(f"epoch {epoch + 1}/{a.epochs}: train loss {loss_sum / seen:.4f}, train top-1 (augmented) "
            f"{100 * correct / seen:.2f}%, held-out fp32 top-1 {100 * val:.2f}%, {time.time() - t0:.0f}s")


def sim_accuracy(model_dict, images_u8, labels, batch=250):
    sim = int8_sim.Int8Model(model_dict)
    logits = np.concatenate([sim.logits(fmnist.to_int8_input(images_u8[i:i + batch]), batch)
                             for i in range(0, len(images_u8), batch)])
    return int8_sim.top1(logits, labels), logits


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main(argv=None):
    a = parse_args(argv)
    t_start = time.time()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    torch.use_deterministic_algorithms(True)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    stem = a.out[:-4] if a.out.endswith(".pkl") else a.out

    log(f"loading Fashion-MNIST classes {CLASSES} from {a.data_dir}")
    tr_img, tr_lab = fmnist.load_split("train", CLASSES, a.data_dir)
    te_img, te_lab = fmnist.load_split("test", CLASSES, a.data_dir)
    n_val = 500 if a.quick else a.val
    val_img, val_lab = tr_img[-n_val:], tr_lab[-n_val:]
    tr_img, tr_lab = tr_img[:-n_val], tr_lab[:-n_val]
    if a.quick:
        tr_img, tr_lab = tr_img[:1000], tr_lab[:1000]
        te_img, te_lab = te_img[:1000], te_lab[:1000]
    t0 = time.time()
    tr_up, val_up, te_up = fmnist.upscale_all(tr_img), fmnist.upscale_all(val_img), fmnist.upscale_all(te_img)
    log(f"  {len(tr_up)} train / {len(val_up)} held-out / {len(te_up)} test images upscaled to 128x128 "
        f"in {time.time() - t0:.0f}s")

    model = MBV2(len(CLASSES)).to(memory_format=torch.channels_last)
    if a.load_float:
        model.load_state_dict(torch.load(a.load_float))
        log(f"loaded float model {a.load_float} (no training)")
    else:
        log(f"training {a.epochs} epochs, batch {a.batch}, lr {a.lr}, wd {a.wd}, seed {a.seed}")
        train(model, tr_up, tr_lab, val_up, val_lab, a)
        if a.save_float:
            torch.save(model.state_dict(), a.save_float)
    model.eval()
    fp32_test = float_accuracy(model, te_up, te_lab)
    log(f"fp32 top-1 on {len(te_lab)} test images: {100 * fp32_test:.2f}%")

    net = fold_mbv2(model)
    with torch.no_grad():
        x = to_float(te_up[:8])
        fold_err = float((float_forward(net, x) - model(x)).abs().max())
    log(f"BN folded (max |logit difference| on 8 images: {fold_err:.2e})")

    n_cal = 256 if a.quick else a.calib_images
    cal_src = tr_up[:n_cal]
    t0 = time.time()
    cal = ptq.calibrate(net, (to_float(cal_src[i:i + 256]) for i in range(0, len(cal_src), 256)), seed=a.seed)
    log(f"calibrated on {len(cal_src)} training images in {time.time() - t0:.0f}s")

    candidates = CALIB_CANDIDATES if a.calib_method == "auto" else [a.calib_method]
    val_results = {}
    for method in candidates:
        d = ptq.quantize_model(net, cal.ranges(method))
        if len(candidates) > 1:
            acc, _ = sim_accuracy(d, val_up, val_lab)
            val_results[method] = acc
            log(f"  calibration {method:8s}: int8 held-out top-1 {100 * acc:.2f}%")
    method = max(candidates, key=lambda m: (val_results.get(m, 0.0), -candidates.index(m)))
    log(f"calibration method: {method}")
    d = ptq.quantize_model(net, cal.ranges(method))
    mcunet_pkl.write_mcunet_pkl(d, a.out)
    d = mcunet_pkl.load_mcunet_pkl(a.out)  # evaluate exactly what was written
    log(f"wrote {a.out} ({os.path.getsize(a.out)} bytes; entries STORED; restricted unpickler OK)")
    if a.tflite:
        r = subprocess.run([a.tte, "export", "--model", a.out, "--out", a.tflite], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            sys.exit(f"make_default_backbone: tte export failed (is {a.tte} built?):\n{r.stdout}")
        log(r.stdout.strip())

    t0 = time.time()
    int8_test, logits = sim_accuracy(d, te_up, te_lab)
    log(f"int8 (simulated) top-1 on {len(te_lab)} test images: {100 * int8_test:.2f}% ({time.time() - t0:.0f}s)")
    np.save(stem + ".sim_logits.npy", logits.astype(np.int8))
    np.save(stem + ".sim_labels.npy", te_lab.astype(np.int64))
    wall = time.time() - t_start
    cpu = time.process_time()  # CPU seconds of this process, all threads: independent of other load
    write_report(stem + ".md", a, argv, d, fp32_test, int8_test, method, val_results, wall, cpu, len(te_lab),
                 len(tr_up), len(val_up), len(cal_src))
    log(f"done in {wall:.0f}s ({wall / 60:.1f} min), {cpu:.0f} CPU-s")
    return 0


def write_report(path, a, argv, d, fp32, int8, method, val_results, wall, cpu, n_test, n_train, n_val, n_cal):
    cmd = "/usr/bin/python3 tools/backbone/make_default_backbone.py" + "".join(
        " " + x for x in (sys.argv[1:] if argv is None else argv))
    n_w = sum(c["params"]["weight"].size for c in _iter_convs(d))
    n_b = sum(c["params"]["bias"].size for c in _iter_convs(d))
    stem = os.path.basename(path)[:-3]
    lines = [
        f"# {stem}: tte's default int8 backbone",
        "",
        "MobileNetV2-w0.35-style network with the paper's `mbv2-w0.35` block structure (17 blocks, 3->16 stride-2 stem,",
        "no feature_mix), 128x128x3 int8 input, 1x1-conv classifier 112 -> 5 (Fashion-MNIST classes 0-4: T-shirt/top,",
        "Trouser, Pullover, Dress, Coat). Pretrained in fp32 by `tools/backbone/make_default_backbone.py`, BN folded, then",
        "post-training quantized with the reference's conventions (docs/pytorch-to-tte.md). No QAT.",
        "",
        "| item | value |",
        "|---|---|",
        f"| command | `{cmd}` |",
        f"| wall time | {wall:.0f} s ({wall / 60:.1f} min) with {a.threads} threads on a 2-core machine shared with "
        f"other jobs; {cpu:.0f} CPU-seconds used by the script itself |",
        f"| fp32 top-1 | **{100 * fp32:.2f} %** on the {n_test} Fashion-MNIST test images of classes 0-4 (file order) |",
        f"| int8 top-1 (simulated) | **{100 * int8:.2f} %** on the same images, `tools/backbone/int8_sim.py` |",
        f"| calibration | `{method}` over {n_cal} training images (no augmentation), chosen on {n_val} held-out "
        "training images: " + (", ".join(f"{m} {100 * v:.2f} %" for m, v in val_results.items()) or "fixed") + " |",
        f"| training | {a.epochs} epochs on {n_train} images, batch {a.batch}, SGD Nesterov 0.9, lr {a.lr} warm-up + "
        f"cosine, wd {a.wd}, label smoothing 0.1, random shift +-{PAD} px + h-flip, seed {a.seed} |",
        f"| parameters | {n_w} int8 weights, {n_b} int32 biases |",
        f"| torch / numpy | {torch.__version__} / {np.__version__} |",
        f"| sha256 | `{sha256(a.out)}` |",
        "",
        "Input preprocessing (tte's, used for every figure above): 28x28 uint8 -> PIL bilinear resize to 128x128 -> grey",
        "copied to 3 channels -> int8 q = p - 128, CHW; first_conv x_scale = 2/255, x_zero = 0.",
        "",
        "Files:",
        f"- `{stem}.pkl`: MCUNetV3 format (STORED zip, pickle protocol 2, numpy arrays only).",
        f"- `{stem}.sim_logits.npy`: int8 [{n_test}, 5], the simulator's logits for those test images in file order",
        "  (tte infer / tte eval must match them bit for bit).",
        f"- `{stem}.sim_labels.npy`: int64 [{n_test}], their labels (0..4). Top-1 = mean(argmax(logits) == label),",
        "  argmax ties resolved to the lowest class index.",
        "",
        "Reproduce the int8 figure: `/usr/bin/python3 tools/backbone/int8_sim.py --model models/default-backbone.pkl"
        " --eval-fmnist 0-4`.",
        "",
    ]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def _iter_convs(d):
    yield d["first_conv"]
    for b in d["blocks"]:
        for n in ("pointwise1", "depthwise", "pointwise2"):
            if b[n] is not None:
                yield b[n]
    yield d["classifier"]


if __name__ == "__main__":
    sys.exit(main())
