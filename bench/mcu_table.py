#!/usr/bin/python3
"""The MCU table (docs/mcu.md): training on a Cortex-M7 (QEMU mps2-an500) inside a 256 KB SRAM region, bit-exact
with the host, for the paper's configurations and the project's default backbone.

For each configuration it runs `tte mcu-run --json --profile` (generate the C project, cross-compile with
arm-none-eabi-gcc, link against the 256 KB RAM region, train 10 steps on 10 Fashion-MNIST test samples under QEMU
with exact instruction counts, compare losses and the state checksum with the host Executor, then one profiled
step with a mark before every op), and the same with `--patches 0` (no patch-based forward: fewer instructions,
more SRAM). Every number comes from the `tte` binary; this script only runs it and formats the results.

usage: /usr/bin/python3 bench/mcu_table.py [--tte build/tte] [--shared ../shared] [--out docs/mcu.md]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_BACKBONE_SCHEME = "models/default-backbone.scheme.json"  # the README demo's scheme
PAPER = {"mbv2": ("MbV2-w0.35", 373), "proxyless": ("Proxyless-w0.3", 443), "mcunet": ("MCUNet-5FPS", 546)}


def configs(shared):
    schemes = os.path.join(shared, "reference", "schemes.json")
    out = []
    for model, name in [("mcunet-5fps", "49kb"), ("mcunet-5fps", "sparse_100kb"), ("mbv2-w0.35", "49kb"),
                        ("mbv2-w0.35", "99kb")]:
        out.append({"label": f"{model} / {name}", "model": os.path.join(shared, "models", model + ".pkl"),
                    "args": ["--scheme", schemes, "--scheme-name", name], "note": ""})
    own = os.path.join(ROOT, "models", "default-backbone.pkl")
    scheme = ["--scheme", os.path.join(ROOT, DEFAULT_BACKBONE_SCHEME), "--classes", "5-9"]
    if os.path.exists(own):
        out.append({"label": "default-backbone / demo scheme (learns classes 5-9)", "model": own, "args": scheme,
                    "paper": "mbv2",
                    "note": "default-backbone has the block structure of mbv2-w0.35 (the paper's MbV2 figure is "
                            "beside it); as in the README demo it learns the unseen classes 5-9 with "
                            f"`{DEFAULT_BACKBONE_SCHEME}`"})
    else:
        out.append({"label": "mbv2-w0.35 / default backbone's scheme", "model": os.path.join(shared, "models",
                                                                                               "mbv2-w0.35.pkl"),
                    "args": scheme,
                    "note": "models/default-backbone.pkl is not committed yet: the same block structure "
                            "(mbv2-w0.35) with the default backbone's scheme and classes stands in"})
    return out


def rel(arg):
    """Absolute paths relative to the repository root, so the commands can be re-run from there."""
    return os.path.relpath(os.path.normpath(arg), ROOT) if arg.startswith("/") else arg


def mcu_run(tte, cfg, extra, budget):
    cmd = [tte, "mcu-run", "--json", "--budget", budget, "--samples", "10", "--model", cfg["model"]] + cfg["args"] + extra
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    shown = " ".join(rel(c) for c in cmd)
    if p.returncode == 4:  # over the SRAM budget: refused before building
        return {"refused": p.stderr.strip()}, shown
    if p.returncode != 0 or "{" not in p.stdout:
        sys.exit(f"mcu_table: {shown} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    d = json.loads(p.stdout[p.stdout.index("{"):])
    d["seconds"] = time.time() - t0
    return d, shown


def excerpt(lines, start, count):
    """`count` lines from the first line starting with `start`."""
    for i, line in enumerate(lines):
        if line.startswith(start):
            return lines[i:i + count]
    return []


def example(tte, cfg):
    """Excerpts of a real generated project (one sample), so the description cannot drift from the emitter."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "project")
        cmd = [rel(c) for c in [tte, "codegen", "--model", cfg["model"], "--samples", "1", "--out", out] + cfg["args"]]
        cmd[7] = out
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if p.returncode != 0:
            sys.exit(f"mcu_table: {' '.join(cmd)} failed:\n{p.stderr}")
        files = sorted(os.path.relpath(os.path.join(d, f), out) for d, _, fs in os.walk(out) for f in fs)
        src = open(os.path.join(out, "tte_model.c")).read().replace(out, "DIR").splitlines()
    pick = []
    pick += src[:8]
    pick += ["", "/* ... */"] + excerpt(src, "/* ---- flash", 3) + ["    /* ... */"]
    pick += [""] + excerpt(src, "/* ---- SRAM state", 3) + ["    /* ... */"]
    pick += [""] + excerpt(src, "/* ---- the arena", 5) + ["/* ... */"]
    pick += [""] + excerpt(src, "static tte_sgd tte_opt", 1)
    pick += [""] + excerpt(src, "static const tte_conv_params conv_", 5)
    pick += [""] + excerpt(src, "static const tte_conv_train", 3)
    pick += ["/* ... */", ""] + excerpt(src, "static void run_loss_backward", 11) + ["  /* ... */", "}"]
    pick += [""] + excerpt(src, "uint64_t tte_state_checksum", 4) + ["  /* ... */"]
    text = (f"`{' '.join(rel(c) for c in cmd[:6] + ['--out', 'DIR'] + cmd[8:])}` writes:\n\n```\n" +
            "\n".join("DIR/" + f for f in files) + "\n```\n\n")
    text += ("`tte_model.c` is straight-line C: frozen weights, biases, scales and channel tables as `static const` "
             "arrays (flash); trainable weight slices, biases and the fp32 head as initialized arrays (SRAM); ONE "
             "static arena of exactly the planned size with one typed pointer macro per tensor at its planned offset "
             "(no allocator); kernel parameters as `static const` structs; one portable kernel call per op, each "
             "with the op's number, name and the compiler's note. Excerpts:\n\n```c\n" + "\n".join(pick) +
             "\n```\n\n")
    text += ("`main.c` copies sample *i* into `tte_input()`, calls `mcu_mark(2i)`, `tte_train_step(label)`, "
             "`mcu_mark(2i+1)`, and prints `step=i label=l loss=... loss_bits=0x... ticks=...`; then "
             "`checksum=<FNV-1a 64 of every kState tensor in id order, gradient buffers excluded>` and the harness's "
             "`mcu: stack_used=... heap_used=...` line. `src/runtime/replay.h` computes the same checksum on the "
             "host. `make` links against `RAM_BUDGET` (the `--budget`), `tools/run_firmware.sh -f Makefile` builds, "
             "runs under QEMU and counts; `make host` builds the same C for the host.\n\n"
             "Exit status of `tte mcu-run`: 0 MCU = host, 1 mismatch (printed loudly), 2 usage, 3 fault in QEMU (with "
             "the faulting function from addr2line), 4 the planned SRAM exceeds `--budget` (refused before anything "
             "is generated, naming the largest SRAM users), 5 build or link failure (e.g. the RAM region overflowed), "
             "6 timeout, 7 a missing tool, 8 anything else. `tte codegen` uses 0, 2, 4 and 8 the same way.\n")
    return text


def kb(b):
    return f"{b / 1024:.1f}"


def mi(v):
    return f"{v / 1e6:.1f} M"


GENERATED = ("Patch-based forward", "Where the instructions go", "What `tte codegen` generates", "Commands")


def hand_written_sections(path):
    """The `## ` sections of the existing file that this script does not generate (e.g. other cores, the training
    library), kept in their order before `## Commands`."""
    if not os.path.exists(path):
        return []
    parts = open(path).read().split("\n## ")[1:]
    out = []
    for part in parts:
        title, _, body = part.partition("\n")
        if not title.startswith(GENERATED):
            out.append((title, "\n" + body.rstrip("\n") + "\n"))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tte", default=os.path.join(ROOT, "build", "tte"))
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"))
    ap.add_argument("--budget", default="256KB")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "mcu.md"))
    args = ap.parse_args()
    if not os.path.exists(os.path.join(args.shared, "models", "mcunet-5fps.pkl")):
        sys.exit(f"mcu_table: {args.shared}/models not found (the paper's models are needed)")
    rows = []
    for cfg in configs(args.shared):
        print(f"mcu_table: {cfg['label']} ...", file=sys.stderr, flush=True)
        auto, auto_cmd = mcu_run(args.tte, cfg, ["--profile"], args.budget)
        off, off_cmd = mcu_run(args.tte, cfg, ["--patches", "0"], args.budget)
        rows.append((cfg, auto, auto_cmd, off, off_cmd))

    L = []
    w = L.append
    w("# Training on the MCU: Cortex-M7 in QEMU, 256 KB of SRAM, bit-exact with the host\n")
    invocation = " ".join(["/usr/bin/python3", "bench/mcu_table.py"] + [rel(a) for a in sys.argv[1:]])
    w(f"Generated by `{invocation}` (every number below comes from `tte mcu-run --json`; the "
      "exact command of each row is listed at the end). Tools: arm-none-eabi-gcc "
      f"({subprocess.run(['arm-none-eabi-gcc', '-dumpversion'], capture_output=True, text=True).stdout.strip()}), "
      f"{subprocess.run(['qemu-system-arm', '--version'], capture_output=True, text=True).stdout.splitlines()[0]}.\n")
    w("Each configuration is compiled for the device (`tte codegen`: operator reordering, in-place, the patch grid "
      "with the least SRAM), emitted as C99 (one portable kernel call per op over one static arena), cross-compiled "
      "for the Cortex-M7 (`-mcpu=cortex-m7 -mthumb -mfpu=fpv5-sp-d16 -mfloat-abi=hard -O2 -ffp-contract=off`), "
      f"linked with the linker script's RAM region = the {args.budget} budget (stack {rows[0][1]['stack_size_bytes'] // 1024} KB + "
      f"heap {rows[0][1]['heap_size_bytes'] // 1024} KB + `.data` + `.bss`: a program that does not fit fails to link), and trained for 10 steps (batch 1, lr 0.01, stochastic "
      "rounding) on the first 10 Fashion-MNIST test images under QEMU `mps2-an500`. The host Executor trains the "
      "same steps; **parity** means every loss and the FNV-1a checksum of all trainable state are bit-identical.\n")
    w("**Instruction counts are not cycles.** They are exact counts of executed guest instructions (QEMU TCG plugin, "
      "firmware/README.md): QEMU models no pipeline, dual issue, caches or flash wait states, and counts `vdiv.f32` "
      "like `add`. The paper's figures are measured latencies on an STM32F746 at 216 MHz (PEERS.md section 1, "
      "Fig. 10: MbV2-w0.35 373 ms = 81 M cycles, Proxyless-w0.3 443 ms = 96 M cycles, MCUNet-5FPS 546 ms = "
      "118 M cycles), with TinyEngine's hand-optimized kernels. Ours are the portable C99 kernels of `src/kernels/` "
      "(register-blocked loops; where the DSP extension exists, SMLAD on int16 pairs for the pointwise and 3x3 "
      "depthwise convs and a VCVTR / QADD / SSAT requantization; instructions per MAC of every layer in "
      "[docs/kernel-speed.md](kernel-speed.md)), bit-identical to the plain reference loops kept in "
      "`tests/kernels/portable_paths_test.cc`.\n")
    w("| configuration | patches | planned peak SRAM | link RAM (of 256 KB) | flash (without samples) | "
      "instructions / step (first; steady) | paper, cycles / step | stack / heap high water | MCU = host |")
    w("|---|---|---|---|---|---|---|---|---|")
    for cfg, a, _, _, _ in rows:
        if "refused" in a:
            w(f"| {cfg['label']} | | refused: {a['refused']} | | | | | | |")
            continue
        paper = PAPER.get(cfg.get("paper")) or next((v for k, v in PAPER.items() if k in a["model"]), None)
        ptxt = f"{paper[0]}: {paper[1] * 216e3 / 1e6:.0f} M ({paper[1]} ms)" if paper else "-"
        grid = f"{a['patch_grid']}x{a['patch_grid']}" if a["patch_grid"] else "off"
        w(f"| {cfg['label']} | {grid} | {kb(a['planned_peak_sram_bytes'])} KB | **{kb(a['link_ram_bytes'])} KB** | "
          f"{kb(a['flash_bytes'])} KB ({kb(a['flash_bytes_without_samples'])} KB) | "
          f"{mi(a['insns_first_step'])}; **{mi(a['insns_steady_step'])}** | {ptxt} | "
          f"{a['stack_used_bytes']} B / {a['heap_used_bytes']} B | "
          f"{'**yes**' if a['parity'] else '**NO**'} `{a['checksum_mcu']}` |")
    notes = [cfg["note"] for cfg, *_ in rows if cfg["note"]]
    for n in notes:
        w(f"\nNote: {n}.")
    w("\n- **planned peak SRAM**: `tte plan`'s figure for the program that runs: arena + trainable state + 8 KB "
      "stack reserve. **link RAM**: what the linker placed in the RAM region (stack + `.data` + `.bss` + heap), "
      "from the firmware's `__ram_used`; it adds the heap reserved for newlib's stdio (its high water is below; the "
      "training step itself allocates nothing) and the harness's own variables. **flash**: `text + data` of `arm-none-eabi-size` (the 10 samples are 480 KB of it; "
      "in parentheses without them, i.e. what a device that reads its camera needs).")
    spread = max((max(x["insns"] for x in a["per_step"]) - min(x["insns"] for x in a["per_step"])) /
                 a["insns_steady_step"] for _, a, *_ in rows if "per_step" in a)
    w("- The first step costs the same as the others (nothing is initialised lazily); steps differ by at most "
      f"{100 * spread:.3f} % (data-dependent branches: clamping, masks, stochastic rounding).\n")

    w("## Patch-based forward: SRAM against instructions\n")
    w("`--patches auto` (the default) picks the grid with the least SRAM. The same configurations without patches "
      "(`--patches 0`):\n")
    w("| configuration | auto: grid, planned SRAM, instructions / step | off: planned SRAM, link RAM, instructions / step | "
      "instructions, off / auto |")
    w("|---|---|---|---|")
    for cfg, a, _, o, _ in rows:
        if "refused" in a:
            continue
        grid = f"{a['patch_grid']}x{a['patch_grid']}" if a["patch_grid"] else "off"
        if "refused" in o:
            otxt, ratio = "over the budget (refused)", "-"
        else:
            otxt = f"{kb(o['planned_peak_sram_bytes'])} KB, {kb(o['link_ram_bytes'])} KB, {mi(o['insns_steady_step'])}"
            ratio = f"{o['insns_steady_step'] / a['insns_steady_step']:.2f}"
        w(f"| {cfg['label']} | {grid}, {kb(a['planned_peak_sram_bytes'])} KB, {mi(a['insns_steady_step'])} | {otxt} | "
          f"{ratio} |")
    w("\nPatch stages recompute the halos of their tiles (and run smaller loops): the memory saved costs "
      "instructions.\n")

    w("## Where the instructions go\n")
    w("One profiled step (`tte mcu-run --profile`: the same program with a mark before every op), by op kind, in "
      "millions of instructions (share of the step):\n")
    for cfg, a, _, _, _ in rows:
        if "refused" in a or "profile" not in a:
            continue
        p = a["profile"]
        kinds = sorted(p["by_kind"].items(), key=lambda kv: -kv[1])
        parts = ", ".join(f"{k} {v / 1e6:.1f} ({100 * v / p['total']:.0f} %)" for k, v in kinds if v >= 0.02 * p["total"])
        w(f"- **{cfg['label']}**: forward {mi(p['forward'])} ({100 * p['forward'] / p['total']:.0f} %), loss + "
          f"backward + fused updates {mi(p['loss_backward'])}; {parts}.")

    shares = [100 * a["profile"]["forward"] / a["profile"]["total"] for _, a, *_ in rows if "profile" in a]
    if shares:
        w(f"\nThe forward pass is {min(shares):.0f}-{max(shares):.0f} % of every step. The backward of the sparse "
          "schemes is small because only the last blocks get gradients, which is the paper's point.\n")
    w("## What `tte codegen` generates\n")
    w(example(args.tte, rows[2][0] if len(rows) > 2 else rows[0][0]))
    for title, body in hand_written_sections(args.out):
        w(f"\n## {title}{body}")
    w("\n## Commands\n")
    w("```")
    for _, _, ac, _, oc in rows:
        w(ac)
        w(oc)
    w("```")
    text = "\n".join(L) + "\n"
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, args.out)
    print(f"mcu_table: wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
