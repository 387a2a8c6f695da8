#!/usr/bin/python3
"""Searched vs shipped sparse-update schemes (docs/search.md, section "Benchmark").

1. `tte analyze` mcunet-5fps on a proxy split of the Fashion-MNIST training images (resumable: the cache under
   OUT/analysis is reused, so an interrupted benchmark restarts where it stopped).
2. For each scheme the reference shipped for mcunet-5fps (49kb ... 148kb), its planned peak SRAM (`tte plan
   --json`) is the budget of a `tte search`; both schemes are planned again and trained with the same recipe and
   seeds, evaluated on the Fashion-MNIST test images; `tte search --sweep` gives the frontier.
3. Writes the table (markdown) between the markers of docs/search.md and the raw results as JSON.

Every number comes from the tte binary; this script only runs it and aggregates.

usage: /usr/bin/python3 bench/scheme_search.py [--tte build/tte] [--shared ../shared] [--out-dir build/bench_search]
       [--seeds 3] [--train-samples 10000] [--epochs 9] [--eval-samples 10000] [--jobs 2] [--budgets 49kb,74kb,...]
"""
import argparse
import concurrent.futures as cf
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, log):
    t0 = time.time()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    with open(log, "a") as f:
        f.write("$ " + " ".join(cmd) + "\n" + r.stdout + f"[exit {r.returncode}, {time.time() - t0:.1f} s]\n")
    if r.returncode != 0:
        sys.exit(f"scheme_search: failed (see {log}): {' '.join(cmd)}\n{r.stdout[-2000:]}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tte", default=os.path.join(ROOT, "build", "tte"))
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"))
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "build", "bench_search"))
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs", "search.md"))
    ap.add_argument("--budgets", default="49kb,74kb,99kb,124kb,148kb", help="shipped schemes whose SRAM is the budget")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2, help="training runs in parallel")
    # analysis (proxy split: training images 0..N-1 train, N..N+M-1 evaluate)
    ap.add_argument("--analysis-train", type=int, default=1000)
    ap.add_argument("--analysis-eval", type=int, default=1000)
    ap.add_argument("--bias-step", type=int, default=2)
    # the training recipe of the comparison (docs/accuracy.md, device-qas-tuned)
    ap.add_argument("--train-samples", type=int, default=10000)
    ap.add_argument("--eval-samples", type=int, default=10000)
    ap.add_argument("--epochs", type=int, default=9)
    ap.add_argument("--lr", type=float, default=0.05)
    a = ap.parse_args()
    model = os.path.join(a.shared, "models", "mcunet-5fps.pkl")
    schemes = os.path.join(a.shared, "reference", "schemes.json")
    if not os.path.exists(model):
        sys.exit(f"scheme_search: {model} is missing (the benchmark needs ../shared)")
    os.makedirs(a.out_dir, exist_ok=True)
    log = os.path.join(a.out_dir, "log.txt")
    analysis = os.path.join(a.out_dir, "analysis")
    analyze_cmd = [a.tte, "analyze", "--model", model, "--out", analysis, "--train-samples", str(a.analysis_train),
                   "--eval-samples", str(a.analysis_eval), "--bias-step", str(a.bias_step)]
    print("analysis:", " ".join(analyze_cmd), flush=True)
    run(analyze_cmd, log)

    rows, budgets = [], []
    for name in a.budgets.split(","):
        plan = json.loads(run([a.tte, "plan", "--model", model, "--scheme", schemes, "--scheme-name", name, "--json"], log))
        peak = plan["peak_sram_bytes"]
        budgets.append(peak)
        searched = os.path.join(a.out_dir, f"searched-{name}.json")
        report = os.path.join(a.out_dir, f"searched-{name}.report.json")
        search_cmd = [a.tte, "search", "--model", model, "--analysis", analysis, "--budget", str(peak), "--out", searched,
                      "--report", report, "--quiet"]
        run(search_cmd, log)
        rep = json.load(open(report))
        rows.append({"name": name, "budget": peak, "searched": searched, "report": rep, "search_cmd": search_cmd})
    sweep_dir = os.path.join(a.out_dir, "frontier")
    run([a.tte, "search", "--model", model, "--analysis", analysis, "--sweep", ",".join(str(b) for b in budgets),
         "--out", sweep_dir, "--quiet"], log)

    recipe = ["--data", "fmnist", "--train-samples", str(a.train_samples), "--eval-samples", str(a.eval_samples),
              "--eval-transform", "center-crop", "--epochs", str(a.epochs), "--warmup-epochs", "1", "--batch", "64",
              "--lr", str(a.lr), "--crop-scale", "0.5", "--presize", "128", "--eval-every", str(a.epochs), "--quiet"]
    jobs = []
    for r in rows:
        for seed in range(a.seeds):
            jobs.append((r["name"], "shipped", seed, ["--scheme", schemes, "--scheme-name", r["name"]]))
            jobs.append((r["name"], "searched", seed, ["--scheme", r["searched"]]))

    def train(job):
        name, kind, seed, scheme = job
        cmd = [a.tte, "train", "--model", model] + scheme + recipe + ["--seed", str(seed)]
        out = run(cmd, log)
        acc = float(out.split("result: eval top-1 ")[1].split("%")[0])
        print(f"  {name} {kind} seed {seed}: {acc:.2f}%", flush=True)
        return job, acc, cmd

    results = {}
    with cf.ThreadPoolExecutor(max_workers=a.jobs) as ex:
        for (name, kind, seed, _), acc, cmd in ex.map(train, jobs):
            results.setdefault((name, kind), []).append(acc)
            results[(name, kind, "cmd")] = cmd

    def stats(v):
        return f"{statistics.mean(v):.2f} ± {statistics.stdev(v):.2f}" if len(v) > 1 else f"{v[0]:.2f}"

    lines = ["| shipped scheme | budget (its planned peak) | shipped top-1 % | searched top-1 % | difference (points) "
             "| searched planned peak | searched: what is trained | predicted gain (proxy) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        sh, se = results[(r["name"], "shipped")], results[(r["name"], "searched")]
        rep = r["report"]
        what = f"biases of the last {rep['bias_layers']}; weights " + ", ".join(
            f"{w['layer']}@{w['ratio']:g}" for w in rep["weights"]) if rep["weights"] else f"biases of the last {rep['bias_layers']}"
        lines.append(f"| {r['name']} | {r['budget']:,} B | {stats(sh)} | {stats(se)} | "
                     f"{statistics.mean(se) - statistics.mean(sh):+.2f} | {rep['planned_peak_sram_bytes']:,} B | {what} | "
                     f"{rep['predicted_gain']:+.2f} |")
    recipe_text = " ".join(recipe)
    body = (f"Produced by `/usr/bin/python3 bench/scheme_search.py --seeds {a.seeds} --train-samples {a.train_samples} "
            f"--eval-samples {a.eval_samples} --epochs {a.epochs} --analysis-train {a.analysis_train} --analysis-eval "
            f"{a.analysis_eval} --bias-step {a.bias_step}` on {time.strftime('%Y-%m-%d')} ({os.cpu_count()} cores shared "
            f"with other jobs). Analysis: `{' '.join(os.path.relpath(x, ROOT) if x.startswith('/') else x for x in analyze_cmd)}`. "
            f"Training recipe of both columns (seeds 0..{a.seeds - 1}, mean ± standard deviation): `tte train --model "
            f"mcunet-5fps.pkl --scheme ... {recipe_text} --seed S`.\n\n" + "\n".join(lines) + "\n")
    doc = open(a.doc).read()
    b, e = "<!-- bench:begin -->\n", "<!-- bench:end -->"
    doc = doc[:doc.index(b) + len(b)] + body + doc[doc.index(e):]
    open(a.doc, "w").write(doc)
    json.dump({f"{k[0]}/{k[1]}": v for k, v in results.items() if len(k) == 2}, open(os.path.join(a.out_dir, "results.json"), "w"), indent=1)
    print(body)


if __name__ == "__main__":
    main()
