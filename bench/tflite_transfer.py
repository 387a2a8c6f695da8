#!/usr/bin/python3
"""Transfer learning of TFLite models (docs/tflite-transfer.md): the MLPerf Tiny VWW MobileNetV1 (96x96x3) and
ResNet-8 (32x32x3) learn Fashion-MNIST (resized, grey copied to 3 channels, quantized with the model's input
scale and zero point) with head-only, bias-only and a sparse scheme; the DS-CNN fine-tunes on half of the MLPerf
Tiny keyword-spotting samples and is evaluated on the other half.

For every configuration: `tte train` (accuracy before and after; before = the fresh head, or for the DS-CNN its
own classifier), then `tte mcu-run` under QEMU (Cortex-M7, 256 KB budget) for the planned peak SRAM, the RAM
the linker placed and the exact instructions per training step, with MCU = host checked. Every number comes
from the `tte` binary; this script only runs it and writes the table.

usage: /usr/bin/python3 bench/tflite_transfer.py [--tte build/tte] [--shared ../shared] [--out docs/tflite-transfer.md]
       [--train-samples 5000] [--eval-samples 2000]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Sparse schemes (tte's native form; layer numbers as `tte info` prints them): biases, and part of the
# weights of the last layers, chosen to stay inside 256 KB (VWW: the biases of the last 10 layers only; all
# of them need the backward through the 48x48 layers, whose saved activations alone overflow 256 KB).
SPARSE = {
    "vww_96_int8": {"tte_scheme": 1, "bias": "last:10",
                    "weights": [{"conv": 24, "ratio": 0.25}, {"conv": 25, "ratio": 1}, {"conv": 26, "ratio": 0.5}]},
    "pretrainedResnet_quant": {"tte_scheme": 1, "bias": "all",
                               "weights": [{"conv": 6, "ratio": 0.25}, {"conv": 7, "ratio": 0.25}, {"conv": 8, "ratio": 1}]},
    "kws_ref_model": {"tte_scheme": 1, "bias": "all",
                      "weights": [{"conv": 7, "ratio": 1}, {"conv": 8, "ratio": 0.5}]},
}


def run(cmd, log):
    log.write("$ " + " ".join(cmd) + "\n")
    t0 = time.time()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log.write(r.stdout + f"[exit {r.returncode}, {time.time() - t0:.1f} s]\n")
    log.flush()
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tte", default=os.path.join(ROOT, "build", "tte"))
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "tflite-transfer.md"))
    ap.add_argument("--train-samples", type=int, default=5000)
    ap.add_argument("--eval-samples", type=int, default=2000)
    ap.add_argument("--lr", type=float, default=0.05, help="learning rate of the Fashion-MNIST runs")
    ap.add_argument("--kws-lr", type=float, default=0.01,
                    help="learning rate of the DS-CNN's fine-tuning on its own task (0.05 unlearns it)")
    a = ap.parse_args()
    models = os.path.join(a.shared, "tflite", "models")
    kws = os.path.join(a.shared, "tflite", "data", "kws01")
    if not os.path.isdir(models):
        sys.exit(f"tflite_transfer: {models} not found (the MLPerf Tiny models of ../shared/tflite)")
    tmp = tempfile.mkdtemp(prefix="tte_transfer_")
    log = open(os.path.join(tmp, "log.txt"), "w")
    print(f"tflite_transfer: log in {log.name}", file=sys.stderr)
    rows = []
    configs = []
    for model in ["vww_96_int8", "pretrainedResnet_quant"]:
        for scheme in ["head-only", "bias-only", "sparse"]:
            configs.append((model, scheme, "fmnist"))
    for scheme in ["head-only", "bias-only", "sparse"]:
        configs.append(("kws_ref_model", scheme, "kws"))
    for model, scheme, data in configs:
        path = os.path.join(models, model + ".tflite")
        scheme_arg = scheme
        if scheme == "sparse":
            scheme_arg = os.path.join(tmp, model + ".scheme.json")
            with open(scheme_arg, "w") as f:
                json.dump(SPARSE[model], f)
        common = ["--model", path, "--scheme", scheme_arg]
        if data == "fmnist":
            # A new task with the same class count as the ResNet's CIFAR-10: a fresh head for every model.
            train_data = ["--new-head", "--train-samples", str(a.train_samples), "--eval-samples", str(a.eval_samples)]
            device_data = ["--new-head"]
            data_text = f"Fashion-MNIST: first {a.train_samples} train images, first {a.eval_samples} test images"
        else:
            half = 500
            train_data = ["--keep-classifier", "--data", "mlperf:" + kws, "--train-samples", str(half),
                          "--eval-skip", str(half)]
            device_data = ["--keep-classifier", "--data", "mlperf:" + kws]
            data_text = f"kws01: samples 0-{half - 1} train, {half}-999 eval"
        lr = a.lr if data == "fmnist" else a.kws_lr
        metrics = os.path.join(tmp, f"{model}.{scheme}.jsonl")
        r = run([a.tte, "train"] + common + train_data +
                ["--epochs", "1", "--lr", str(lr), "--no-augment", "--eval-before", "--quiet", "--metrics", metrics],
                log)
        if r.returncode != 0:
            sys.exit(f"tflite_transfer: tte train failed for {model} {scheme} (see {log.name})")
        m = re.search(r"result: eval top-1 ([\d.]+)% \(before: ([\d.]+)%\), ([\d.]+) ms per training sample", r.stdout)
        after, before, ms = float(m.group(1)), float(m.group(2)), float(m.group(3))
        r = run([a.tte, "mcu-run", "--json", "--budget", "256KB", "--samples", "3"] + common + device_data, log)
        if r.returncode != 0:
            sys.exit(f"tflite_transfer: tte mcu-run failed for {model} {scheme} (see {log.name})")
        d = json.loads(r.stdout[r.stdout.index("{"):])
        rows.append(dict(model=model, scheme=scheme, data=data_text, before=before, after=after, ms=ms,
                         planned=d["planned_peak_sram_bytes"], link=d["link_ram_bytes"], insns=d["insns_steady_step"],
                         parity=d["parity"], checksum=d["checksum_mcu"]))
        print(f"{model:24s} {scheme:10s} {before:6.2f}% -> {after:6.2f}%  planned {d['planned_peak_sram_bytes'] / 1024:.1f} KB"
              f"  {d['insns_steady_step'] / 1e6:.1f} M insns/step  parity {d['parity']}", file=sys.stderr)

    with open(a.out, "w") as f:
        f.write("# Transfer learning of TFLite models\n\n")
        f.write("Generated by `/usr/bin/python3 bench/tflite_transfer.py` "
                f"(--train-samples {a.train_samples} --eval-samples {a.eval_samples} --lr {a.lr} --kws-lr {a.kws_lr}); "
                "every number comes "
                "from `tte train` and `tte mcu-run --json`. Training: 1 epoch, batch 1, SGD with QAS, int8 weights "
                "and int32 biases updated in place with stochastic rounding (the device's arithmetic), no "
                "augmentation, cosine learning-rate decay. Device: Cortex-M7 under QEMU (`mps2-an500`), 256 KB "
                "RAM region, 3 training steps; instruction counts are exact executed instructions, not cycles "
                "(docs/mcu.md).\n\n")
        f.write("| model | scheme | data | top-1 before | top-1 after | host ms / sample | planned peak SRAM | "
                "link RAM | instructions / step | MCU = host |\n|---|---|---|---|---|---|---|---|---|---|\n")
        for r in rows:
            f.write(f"| {r['model']} | {r['scheme']} | {r['data']} | {r['before']:.2f} % | **{r['after']:.2f} %** | "
                    f"{r['ms']:.2f} | {r['planned'] / 1024:.1f} KB | {r['link'] / 1024:.1f} KB | "
                    f"{r['insns'] / 1e6:.1f} M | {'yes' if r['parity'] else '**NO**'} `{r['checksum']}` |\n")
        f.write("\nSparse schemes (tte's native form, docs/schemes.md; layer numbers of `tte info`):\n\n")
        for model, s in SPARSE.items():
            f.write(f"- {model}: `{json.dumps(s)}`\n")
        f.write("\nNotes:\n\n"
                "- *before* is the accuracy of the fresh (seeded) fp32 head for Fashion-MNIST, and of the DS-CNN's own "
                "classifier (dequantized into the head) for the keyword-spotting data.\n"
                "- The VWW person detector's features are almost all zero on Fashion-MNIST (94 % of the 256 pooled "
                "features sit at the ReLU floor on the first 50 test images, `tte infer --dump`), which is why "
                "head-only learns little there and updating biases matters.\n")
    print(f"tflite_transfer: wrote {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
