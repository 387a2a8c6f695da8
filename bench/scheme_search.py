#!/usr/bin/python3
"""Searched vs shipped sparse-update schemes (docs/search.md, section "Benchmark").

Part `mcunet`: mcunet-5fps on Fashion-MNIST. `tte analyze` on a proxy split of the training images (the cache
under OUT/mcunet/analysis is reused, so an interrupted benchmark restarts where it stopped); for each scheme the
reference shipped (49kb ... 148kb) its planned peak SRAM (`tte plan --json`) is the budget of a `tte search`; both
schemes train with the same recipe and seeds and are evaluated on the Fashion-MNIST test images; `tte search
--sweep` writes the frontier. Part `backbone`: the same for the default backbone learning classes 5-9 (the demo),
against the demo's hand-made scheme (models/default-backbone.scheme.json) at its planned SRAM.
Writes each table between its markers in docs/search.md and the frontier plot (both columns against planned SRAM)
to OUT/PART/frontier.svg. Every number comes from the tte binary.

The searches use `tte search --verify` (candidates measured on the proxy split; `--no-verify`: the predicted winner).

usage: /usr/bin/python3 bench/scheme_search.py [--part mcunet|backbone|both] [--seeds 3] [--jobs 2] [--no-verify]
       [--train-samples 10000] [--eval-samples 10000] [--epochs 9] [--tte build/tte] [--shared ../shared]
"""
import argparse
import concurrent.futures as cf
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, log, allow_divergence=False):
    t0 = time.time()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    with open(log, "a") as f:
        f.write("$ " + " ".join(cmd) + "\n" + r.stdout + f"[exit {r.returncode}, {time.time() - t0:.1f} s]\n")
    if r.returncode != 0 and not (allow_divergence and "training diverged" in r.stdout):
        sys.exit(f"scheme_search: failed (see {log}): {' '.join(cmd)}\n{r.stdout[-2000:]}")
    return r.stdout


class Part:
    """One comparison: a model, its analysis settings, the schemes to beat (name -> tte scheme arguments), the
    training recipe of both columns, and the markers of docs/search.md it fills."""

    def __init__(self, key, model, analysis_args, baselines, plan_args, recipe, marker):
        self.key, self.model, self.analysis_args, self.baselines = key, model, analysis_args, baselines
        self.plan_args, self.recipe, self.marker = plan_args, recipe, marker


def frontier_svg(title, series, path):
    """Accuracy against planned peak SRAM: one polyline per series (name -> [(bytes, mean, sd or None)]), error bars
    of one standard deviation; written as a self-contained SVG (no plotting library needed)."""
    pts = [p for v in series.values() for p in v if p[1] is not None]
    if not pts:
        return
    W, H, L, R, T, B = 640, 400, 60, 150, 30, 45
    x0, x1 = min(p[0] for p in pts) / 1024, max(p[0] for p in pts) / 1024
    y0, y1 = min(p[1] - (p[2] or 0) for p in pts), max(p[1] + (p[2] or 0) for p in pts)
    x0, x1, y0, y1 = x0 - 5, x1 + 5, y0 - 0.5, y1 + 0.5
    X = lambda kb: L + (kb - x0) / (x1 - x0) * (W - L - R)
    Y = lambda acc: T + (y1 - acc) / (y1 - y0) * (H - T - B)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="18" text-anchor="middle">{title}</text>',
           f'<line x1="{L}" y1="{H - B}" x2="{W - R}" y2="{H - B}" stroke="black"/>',
           f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H - B}" stroke="black"/>',
           f'<text x="{(L + W - R) / 2}" y="{H - 8}" text-anchor="middle">planned peak SRAM (KB, tte plan)</text>',
           f'<text x="14" y="{(T + H - B) / 2}" transform="rotate(-90 14 {(T + H - B) / 2})" text-anchor="middle">'
           'top-1 % (test split, seed mean)</text>']
    for i in range(6):
        kb, acc = x0 + i * (x1 - x0) / 5, y0 + i * (y1 - y0) / 5
        out.append(f'<text x="{X(kb)}" y="{H - B + 16}" text-anchor="middle">{kb:.0f}</text>')
        out.append(f'<text x="{L - 6}" y="{Y(acc) + 4}" text-anchor="end">{acc:.1f}</text>')
    for k, (name, v) in enumerate(series.items()):
        color = ["#1f77b4", "#d62728", "#2ca02c"][k % 3]
        v = [p for p in v if p[1] is not None]
        out.append(f'<polyline fill="none" stroke="{color}" points="' +
                   " ".join(f"{X(b / 1024):.1f},{Y(m):.1f}" for b, m, _ in v) + '"/>')
        for b, m, sd in v:
            if sd:
                out.append(f'<line x1="{X(b / 1024):.1f}" y1="{Y(m - sd):.1f}" x2="{X(b / 1024):.1f}" '
                           f'y2="{Y(m + sd):.1f}" stroke="{color}"/>')
            out.append(f'<circle cx="{X(b / 1024):.1f}" cy="{Y(m):.1f}" r="4" fill="{color}"/>')
        out.append(f'<circle cx="{W - R + 15}" cy="{T + 20 * k + 10}" r="4" fill="{color}"/>')
        out.append(f'<text x="{W - R + 25}" y="{T + 20 * k + 14}">{name}</text>')
    out.append("</svg>")
    open(path, "w").write("\n".join(out) + "\n")


def bench(a, part, log):
    out = os.path.join(a.out_dir, part.key)
    os.makedirs(out, exist_ok=True)
    analysis = os.path.join(out, "analysis")
    analyze_cmd = [a.tte, "analyze", "--model", part.model, "--out", analysis] + part.analysis_args
    print(f"{part.key}: analysis:", " ".join(analyze_cmd), flush=True)
    run(analyze_cmd, log)
    rows = []
    verify = [] if a.no_verify else ["--verify"]
    for name, scheme in part.baselines:
        plan = json.loads(run([a.tte, "plan", "--model", part.model, "--json"] + scheme + part.plan_args, log))
        peak = plan["peak_sram_bytes"]
        searched = os.path.join(out, f"searched-{name}.json")
        report = os.path.join(out, f"searched-{name}.report.json")
        run([a.tte, "search", "--model", part.model, "--analysis", analysis, "--budget", str(peak), "--out", searched,
             "--report", report, "--quiet"] + verify, log)
        rows.append({"name": name, "scheme": scheme, "budget": peak, "searched": searched,
                     "report": json.load(open(report))})
    run([a.tte, "search", "--model", part.model, "--analysis", analysis, "--sweep",
         ",".join(str(r["budget"]) for r in rows), "--out", os.path.join(out, "frontier"), "--quiet"] + verify, log)
    jobs = []
    for r in rows:
        for seed in range(a.seeds):
            jobs.append((r["name"], "shipped", seed, r["scheme"]))
            jobs.append((r["name"], "searched", seed, ["--scheme", r["searched"]]))

    cache_dir = os.path.join(out, "train-cache")
    os.makedirs(cache_dir, exist_ok=True)

    def train(job):
        # One training run; its result is cached under its command line, so a rerun repeats nothing. A run that
        # diverges (tte train exits 1 with "diverged") is a result too: None, shown as "diverged".
        name, kind, seed, scheme = job
        cmd = [a.tte, "train", "--model", part.model] + scheme + part.recipe + ["--seed", str(seed)]
        key = hashlib.sha256(("\0".join(cmd) + open(scheme[-1]).read() if kind == "searched" else "\0".join(cmd)).encode()).hexdigest()[:16]
        cached = os.path.join(cache_dir, f"{name}-{kind}-{seed}-{key}.json")
        if os.path.exists(cached):
            acc = json.load(open(cached))["top1"]
        else:
            text = run(cmd, log, allow_divergence=True)
            acc = float(text.split("result: eval top-1 ")[1].split("%")[0]) if "result: eval top-1 " in text else None
            with open(cached + ".tmp", "w") as f:
                json.dump({"top1": acc, "cmd": cmd}, f)
            os.replace(cached + ".tmp", cached)
        print(f"  {part.key} {name} {kind} seed {seed}: " + (f"{acc:.2f}%" if acc is not None else "diverged"), flush=True)
        return job, acc

    results = {}
    with cf.ThreadPoolExecutor(max_workers=a.jobs) as ex:
        for (name, kind, seed, _), acc in ex.map(train, jobs):
            results.setdefault(f"{name}/{kind}", []).append(acc)
    json.dump(results, open(os.path.join(out, "results.json"), "w"), indent=1)

    def stats(v):
        ok = [x for x in v if x is not None]
        bad = len(v) - len(ok)
        text = (f"{statistics.mean(ok):.2f} ± {statistics.stdev(ok):.2f}" if len(ok) > 1 else
                f"{ok[0]:.2f}" if ok else "-")
        return text + (f" ({bad} of {len(v)} diverged)" if bad else "")

    def mean(v):
        ok = [x for x in v if x is not None]
        return statistics.mean(ok) if ok else float("nan")

    def sd(v):
        ok = [x for x in v if x is not None]
        return statistics.stdev(ok) if len(ok) > 1 else None

    svg = os.path.join(out, "frontier.svg")
    frontier_svg(f"{part.key}: searched vs shipped schemes",
                 {"shipped / hand-made": [(r["budget"], mean(results[r["name"] + "/shipped"]) if any(
                      x is not None for x in results[r["name"] + "/shipped"]) else None, sd(results[r["name"] + "/shipped"]))
                                          for r in rows],
                  "searched (tte search --verify)" if not a.no_verify else "searched":
                      [(r["report"]["planned_peak_sram_bytes"], mean(results[r["name"] + "/searched"]) if any(
                          x is not None for x in results[r["name"] + "/searched"]) else None,
                        sd(results[r["name"] + "/searched"])) for r in rows]}, svg)
    print(f"{part.key}: frontier plot {svg}", flush=True)
    lines = ["| scheme to beat | budget (its planned peak SRAM) | its top-1 % | searched top-1 % | difference (points) "
             "| searched: planned peak | searched: what is trained | predicted gain (proxy split) "
             "| measured gain (proxy split) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        sh, se = results[r["name"] + "/shipped"], results[r["name"] + "/searched"]
        rep = r["report"]
        what = f"biases of the last {rep['bias_layers']}"
        if rep["weights"]:
            what += "; weights " + ", ".join(f"{w['layer']}@{w['ratio']:g}" for w in rep["weights"])
        lines.append(f"| {r['name']} | {r['budget']:,} B | {stats(sh)} | {stats(se)} | "
                     f"{mean(se) - mean(sh):+.2f} | {rep['planned_peak_sram_bytes']:,} B | {what} | "
                     f"{rep['predicted_gain']:+.2f} | "
                     + (f"{rep['measured_top1'] - rep['baseline_top1']:+.2f} |" if "measured_top1" in rep else "- |"))
    rel = lambda x: os.path.relpath(x, ROOT) if x.startswith("/") else x
    body = (f"Produced by `/usr/bin/python3 bench/scheme_search.py --part {part.key} --seeds {a.seeds} --jobs {a.jobs}"
            f"{' --no-verify' if a.no_verify else ''}"
            f"{'' if part.key != 'mcunet' else f' --train-samples {a.train_samples} --epochs {a.epochs}'}` on "
            f"{time.strftime('%Y-%m-%d')} ({os.cpu_count()} cores shared with other jobs). Analysis: "
            f"`{' '.join(rel(x) for x in analyze_cmd)}`. Both columns train with `tte train --model "
            f"{os.path.basename(part.model)} --scheme ... {' '.join(part.recipe)} --seed S`, seeds 0..{a.seeds - 1} "
            f"(mean ± standard deviation).\n\n" + "\n".join(lines) + "\n")
    doc = open(a.doc).read()
    b, e = f"<!-- {part.marker}:begin -->\n", f"<!-- {part.marker}:end -->"
    doc = doc[:doc.index(b) + len(b)] + body + doc[doc.index(e):]
    open(a.doc, "w").write(doc)
    print(body, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tte", default=os.path.join(ROOT, "build", "tte"))
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"))
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "build", "bench_search"))
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs", "search.md"))
    ap.add_argument("--part", default="both", choices=["mcunet", "backbone", "both"])
    ap.add_argument("--budgets", default="49kb,74kb,99kb,124kb,148kb", help="mcunet: shipped schemes whose SRAM is the budget")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--no-verify", action="store_true", help="tte search without --verify (the predicted-gain winner)")
    ap.add_argument("--jobs", type=int, default=2, help="training runs in parallel")
    ap.add_argument("--train-samples", type=int, default=10000, help="mcunet recipe (docs/accuracy.md device-qas-tuned)")
    ap.add_argument("--eval-samples", type=int, default=10000)
    ap.add_argument("--epochs", type=int, default=9)
    a = ap.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    log = os.path.join(a.out_dir, "log.txt")
    parts = []
    if a.part in ("mcunet", "both"):
        model = os.path.join(a.shared, "models", "mcunet-5fps.pkl")
        if not os.path.exists(model):
            sys.exit(f"scheme_search: {model} is missing (the mcunet part needs ../shared)")
        schemes = os.path.join(a.shared, "reference", "schemes.json")
        parts.append(Part(
            "mcunet", model, ["--train-samples", "1000", "--eval-samples", "1000", "--bias-step", "2"],
            [(n, ["--scheme", schemes, "--scheme-name", n]) for n in a.budgets.split(",")], [],
            ["--data", "fmnist", "--train-samples", str(a.train_samples), "--eval-samples", str(a.eval_samples),
             "--eval-transform", "center-crop", "--epochs", str(a.epochs), "--warmup-epochs", "1", "--batch", "64",
             "--lr", "0.05", "--crop-scale", "0.5", "--presize", "128", "--eval-every", str(a.epochs), "--quiet"],
            "bench"))
    if a.part in ("backbone", "both"):
        model = os.path.join(ROOT, "models", "default-backbone.pkl")
        parts.append(Part(
            "backbone", model,
            ["--data", "fmnist", "--classes", "5-9", "--train-samples", "1000", "--eval-samples", "1000", "--bias-step", "2",
             "--lr", "0.05", "--warmup-epochs", "0.1"],
            [("demo-hand-made", ["--scheme", os.path.join(ROOT, "models", "default-backbone.scheme.json")])],
            ["--num-classes", "5"],
            ["--data", "fmnist", "--classes", "5-9", "--train-samples", "5000", "--eval-samples", "5000", "--epochs", "1",
             "--lr", "0.05", "--warmup-epochs", "0.1", "--quiet"],
            "bench-backbone"))
    for part in parts:
        bench(a, part, log)


if __name__ == "__main__":
    main()
