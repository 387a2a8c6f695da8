#!/usr/bin/python3
"""Recipe selection for the accuracy benchmark (issue 3), on a validation split that the benchmark never scores:
Fashion-MNIST training images 10,000-11,999 (the benchmark trains on images 0-9,999 and scores the first 1,000
test images). Each candidate is the benchmark's device-mode run (mcunet-5fps, sparse_100kb, QAS, no momentum,
batch 64, 1 warm-up + 8 cosine epochs, images stored at 128x128 as the reference) with one change to the
augmentation strength or the learning rate. The training budget (9 epochs of 10,000 images) stays the reference's.
Writes docs/recipe-selection.md; bench/accuracy.py then scores the chosen recipe on the test images.

usage: bench/recipe_selection.py [--tte build/tte] [--shared ../shared] [--work bench/out/recipe] [--jobs 2] [--reuse]
"""
import argparse
import datetime
import json
import os
import sys

import accuracy

VALIDATION = ["--data", "fmnist", "--train-samples", "10000", "--eval-split", "train", "--eval-skip", "10000",
              "--eval-samples", "2000", "--eval-transform", "center-crop", "--presize", "128"]
BASE = ["--epochs", "9", "--warmup-epochs", "1", "--batch", "64"]

# name -> (crop scale, lr): the reference's (0.08, 0.025) and milder crops / a larger step.
CANDIDATES = [("crop0.08-lr0.025", 0.08, 0.025), ("crop0.25-lr0.025", 0.25, 0.025), ("crop0.5-lr0.025", 0.5, 0.025),
              ("crop1-lr0.025", 1.0, 0.025), ("crop0.25-lr0.05", 0.25, 0.05), ("crop0.5-lr0.05", 0.5, 0.05),
              ("crop0.7-lr0.05", 0.7, 0.05), ("crop0.5-lr0.1", 0.5, 0.1)]


def configs(shared):
    schemes = os.path.join(shared, "reference", "schemes.json")
    model = os.path.join(shared, "models", "mcunet-5fps.pkl")
    return [(name, model, ["--scheme", schemes, "--scheme-name", "sparse_100kb"] + VALIDATION + BASE +
             ["--lr", str(lr), "--crop-scale", str(crop)], f"crop scale {crop}-1, lr {lr}")
            for name, crop, lr in CANDIDATES]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tte", default=os.path.join(accuracy.ROOT, "build", "tte"))
    ap.add_argument("--shared", default=os.path.join(accuracy.ROOT, "..", "shared"))
    ap.add_argument("--work", default=os.path.join(accuracy.ROOT, "bench", "out", "recipe"))
    ap.add_argument("--jobs", type=int, default=1, help="runs at once (each tte train uses about one core)")
    ap.add_argument("--reuse", action="store_true", help="keep earlier results of the same commands in the work directory")
    ap.add_argument("--out", default=os.path.join(accuracy.ROOT, "docs", "recipe-selection.md"))
    a = ap.parse_args()
    if not os.path.exists(os.path.join(a.shared, "models", "mcunet-5fps.pkl")):
        sys.exit(f"recipe_selection: {a.shared}/models/mcunet-5fps.pkl not found: this benchmark needs the paper's model")
    results = accuracy.run_rows(a.tte, configs(a.shared), a.work, a.jobs, a.reuse)
    write_doc(a.out, results)


def write_doc(path, results):
    ok = [r for r in results if "error" not in r]
    best = max(ok, key=lambda r: r["final"]) if ok else None
    lines = ["# Recipe selection on a validation split", "",
             "Produced by `" + accuracy.produced_by() + "` (" + datetime.date.today().isoformat() + "). Every run trains mcunet-5fps on the first 10,000 "
             "Fashion-MNIST training images (sparse_100kb, QAS, device mode, batch 64, 1 warm-up + 8 cosine epochs, "
             "images stored at 128x128) and is scored on training images 10,000-11,999 (`--eval-split train "
             "--eval-skip 10000 --eval-samples 2000`), never on the test images that docs/accuracy.md reports. "
             "Only the crop scale of the augmentation (`--crop-scale`, the smallest area of RandomResizedCrop) and "
             "the learning rate change.", "",
             "| run | setting | final validation top-1 | best | train top-1 / loss, last epoch |", "|---|---|---|---|---|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['name']} | {r['what']} | {r['error']} | | |")
            continue
        rows = [json.loads(l) for l in open(r["cmd"][r["cmd"].index("--metrics") + 1])]
        last = rows[-1]
        bold = "**" if r is best else ""
        note = " (diverged: the loss exploded in the first epochs)" if last["train_top1"] < 50 else ""
        lines.append(f"| {r['name']} | {r['what']} | {bold}{r['final']:.2f} %{bold}{note} | {r['best']:.2f} % | "
                     f"{last['train_top1']:.1f} % / {last['train_loss']:.3f} |")
    if best:
        lines += ["", f"Chosen: **{best['name']}** ({best['what']}). 2,000 validation images give a standard error "
                  "of about 0.7 points, so neighbours within that are as good; the choice is the highest final figure."]
    lines += ["", "Per-epoch validation top-1:", ""]
    for r in ok:
        lines.append(f"- {r['name']}: " + ", ".join(f"{v:.1f}" for v in r["per_epoch"]))
    accuracy.finish_doc(path, lines, results)

if __name__ == "__main__":
    main()
