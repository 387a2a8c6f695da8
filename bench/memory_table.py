#!/usr/bin/python3
"""The memory table (docs/memory.md): the paper's three models x every scheme of
../shared/reference/schemes.json at 128x128, measured by `tte plan --json` with and without operator reordering.

Every number comes from the `tte` binary; this script only runs it and formats the results. proxyless-w0.3 has no
weights in ../shared, so tools/make_structure_pkl.py builds a structurally identical .pkl with deterministic random
weights into a temporary directory (never into the repository). To show that this does not change the numbers, the
same generator is also run for the two models whose weights we have, and their tables are compared (--no-check
skips that).

usage: /usr/bin/python3 bench/memory_table.py [--tte build/tte] [--shared ../shared] [--out docs/memory.md]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = ["mbv2-w0.35", "proxyless-w0.3", "mcunet-5fps"]
PAPER = {  # PEERS.md section 1 (Fig. 10, measured on the STM32F746 with TinyEngineV2)
    "mbv2-w0.35": "141 KB sparse + reorder (335 KB sparse, 2939 KB full)",
    "proxyless-w0.3": "135 KB sparse + reorder (326 KB sparse, 2745 KB full)",
    "mcunet-5fps": "173 KB sparse + reorder (560 KB sparse, 3650 KB full); Fig. 10b: 488->134, 509->160, 560->173 KB",
}
TINYENGINE_49KB = "TinyEngine demo (this scheme): arena 189,800 B + ~32 KB trainable = ~222 KB"
MEASURED = {("mcunet-5fps", "49kb"): "~222 (TinyEngine demo)"}  # ENGINE.md 5.3 / PEERS.md


def kb(b):
    return f"{b / 1024:.1f}"


def run_plan(tte, model, schemes, name, resolution, budget, reorder):
    cmd = [tte, "plan", "--model", model, "--scheme", schemes, "--scheme-name", name, "--resolution",
           str(resolution), "--budget", budget, "--json"]
    if not reorder:
        cmd.append("--no-reorder")
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode not in (0, 1) or not p.stdout.strip():
        sys.exit(f"memory_table: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    d = json.loads(p.stdout)
    if p.returncode == 1 and d.get("fits", True):
        sys.exit(f"memory_table: {' '.join(cmd)} failed:\n{p.stderr}")
    return d


def fit_text(d, budget_bytes):
    if d["peak_sram_bytes"] <= budget_bytes:
        return f"yes ({kb(budget_bytes - d['peak_sram_bytes'])} KB free)"
    state = d["sram"]["state"] + d["sram"]["reserve"]
    if state > budget_bytes:
        return f"**no**: trainable state alone is {kb(d['sram']['state'])} KB"
    return f"**no**: arena {kb(d['arena_bytes'])} + state {kb(d['sram']['state'])} KB"


def measure(tte, model_path, model, schemes, names, args):
    rows = []
    for name in names:
        on = run_plan(tte, model_path, schemes, name, args.resolution, args.budget, True)
        off = run_plan(tte, model_path, schemes, name, args.resolution, args.budget, False)
        rows.append((name, on, off))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tte", default=os.path.join(ROOT, "build", "tte"))
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "memory.md"))
    ap.add_argument("--resolution", type=int, default=128)
    ap.add_argument("--budget", default="256KB")
    ap.add_argument("--no-check", action="store_true", help="skip the synthetic-weights check")
    args = ap.parse_args()
    tte = os.path.abspath(args.tte)
    schemes = os.path.join(args.shared, "reference", "schemes.json")
    structure = os.path.join(args.shared, "models", "mcu_models_structure.json")
    for f in (tte, schemes, structure):
        if not os.path.exists(f):
            sys.exit(f"memory_table: {f} not found")
    with open(schemes) as f:
        scheme_db = json.load(f)
    budget_bytes = None

    with tempfile.TemporaryDirectory(prefix="tte-memtable-") as tmp:
        def synthetic(model):
            path = os.path.join(tmp, model + ".pkl")  # named MODEL.pkl: the scheme file's entry is found by stem
            if not os.path.exists(path):
                subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "make_structure_pkl.py"), model, path,
                                "--structure", structure, "--seed", "0"], check=True, capture_output=True)
            return path

        results, check_lines = {}, []
        for model in MODELS:
            real = os.path.join(args.shared, "models", model + ".pkl")
            path = real if os.path.exists(real) else synthetic(model)
            names = [k for k in scheme_db[model] if not k.startswith("_")]
            print(f"memory_table: {model} ({len(names)} schemes, {'real' if path == real else 'synthetic'} weights)",
                  file=sys.stderr)
            results[model] = (path == real, measure(tte, path, model, schemes, names, args))
            budget_bytes = results[model][1][0][1]["budget_bytes"]
            if path == real and not args.no_check:
                syn = measure(tte, synthetic(model), model, schemes, names, args)
                keys = ["peak_sram_bytes", "arena_bytes", "lower_bound_bytes", "trainable_sram_bytes", "flash_bytes"]
                same = sum(all(a[i][k] == b[i][k] for i in (1, 2) for k in keys)
                           for a, b in zip(results[model][1], syn))
                check_lines.append(f"{model}: {same}/{len(names)} schemes identical (both variants, five numbers)")

    cmd = "/usr/bin/python3 bench/memory_table.py " + " ".join(
        a if not os.path.isabs(a) else os.path.relpath(a, ROOT) for a in sys.argv[1:])
    out = []
    w = out.append
    w("# Memory table: the paper's three models x every reference scheme\n")
    w(f"Produced by `{cmd.strip()}` (every number from `tte plan --json`, at {args.resolution}x{args.resolution}, "
      f"budget {args.budget} = {budget_bytes:,} B). Do not edit by hand: rerun the command.\n")
    w("Columns (KB = 1024 B):\n")
    w("- **peak SRAM** = planned arena + persistent training state (trainable int8 weight slices, int32 biases, "
      "fp32 head; with `--no-reorder` also the fp32 gradient buffers) + 8 KB stack/runtime reserve. "
      "*reordered*: updates fused into the backward (operator reordering) and the compiler's in-place decisions; "
      "*no reorder*: `tte plan --no-reorder` (gradients kept in buffers, applied at the end of the step).")
    w("- **lower bound**: the most live arena bytes at any op of the reordered program; no arena plan can be smaller. "
      "**ratio** = arena / lower bound (reordered; no reorder in brackets). **heuristic**: which planner heuristic won.")
    w("- **backward live peak**: the most live arena bytes over the loss/backward/update ops alone (reordered). "
      "When it is far below the lower bound, the forward sets the arena, and a patch-based or in-place forward "
      "of the frozen prefix is what lowers the peak.")
    w("- **trainable SRAM**: the persistent state alone (reordered). **ref. analytic**: the reference's own analytic "
      "extra-memory estimate of the scheme (`analytic_mem_kB`, schemes.json; saved activations + trainable "
      "parameters, no forward working set).")
    w("- **ref. measured**: a peak measured on a device for this very scheme, where one is published.")
    w("- **peak op**: where the lower bound is reached. While it is in the forward (e.g. `#3 conv b1.pw1`, the "
      "64x64 stage), the training part of the step is not what sets the arena.\n")
    for model in MODELS:
        real, rows = results[model]
        w(f"## {model}\n")
        w(f"Paper: {PAPER[model]}.")
        if not real:
            w(f"\n*Weights: none in ../shared. Built by `tools/make_structure_pkl.py {model}` from "
              "`mcu_models_structure.json`: identical structure and quantization parameters, deterministic random "
              "int8 weights. Memory does not depend on weight values, except through the magnitude-based choice of "
              "trained channels, whose count (floor(ratio x C)) is all that matters here.*")
        w("\n| scheme | peak SRAM reordered | peak SRAM no reorder | arena | lower bound | ratio | trainable SRAM | "
          "ref. analytic | ref. measured | fits 256 KB | heuristic | peak op |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|")
        for name, on, off in rows:
            analytic = scheme_db[model][name].get("analytic_mem_kB", "")
            w(f"| {name} | {kb(on['peak_sram_bytes'])} | {kb(off['peak_sram_bytes'])} | {kb(on['arena_bytes'])} | "
              f"{kb(on['lower_bound_bytes'])} | {kb(on['plan']['backward_live_peak_bytes'])} | "
              f"{on['arena_lower_bound_ratio']:.3f} "
              f"({off['arena_lower_bound_ratio']:.3f}) | {kb(on['trainable_sram_bytes'])} | {analytic} | "
              f"{MEASURED.get((model, name), '')} | "
              f"{fit_text(on, budget_bytes)} | {on['plan']['heuristic']} | `{on['plan']['peak_op_label']}` |")
        if model == "mcunet-5fps":
            on = dict((n, o) for n, o, _ in rows).get("49kb")
            if on:
                w(f"\n49kb scheme vs the released TinyEngine demo: {TINYENGINE_49KB}; tte: arena "
                  f"{on['arena_bytes']:,} B + state {on['sram']['state']:,} B + reserve {on['sram']['reserve']:,} B "
                  f"= {on['peak_sram_bytes']:,} B ({kb(on['peak_sram_bytes'])} KB).")
        w("")
    worst = max(max(on["arena_lower_bound_ratio"], off["arena_lower_bound_ratio"])
                for _, rows in results.values() for _, on, off in rows)
    w(f"Worst arena / lower bound over the {2 * sum(len(r) for _, r in results.values())} programs: {worst:.4f}.\n")
    if check_lines:
        w("Synthetic-weights check (the proxyless method applied to the models whose weights we have, compared with "
          "their real weights): " + "; ".join(check_lines) + ".\n")
    text = "\n".join(out)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    fd, tmp_out = tempfile.mkstemp(prefix=".memory-", dir=os.path.dirname(os.path.abspath(args.out)))
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp_out, args.out)
    except BaseException:
        if os.path.exists(tmp_out):
            os.unlink(tmp_out)
        raise
    print(f"memory_table: wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
