#!/usr/bin/python3
"""The per-layer kernel speed table (docs/kernel-speed.md): instructions per multiply-accumulate of every kernel
call of a training step on the Cortex-M7 (QEMU mps2-an500, exact instruction counts), next to the limits (SMLAD:
0.5 instructions per MAC, two MACs per instruction; CMSIS-NN's int8 inner loop: 1.25).

For each configuration of docs/mcu.md it runs `tte mcu-run --json --profile` (10 training steps, MCU = host
checked by tte, then one profiled step with a mark before every op). `--profile --json` reports every op's
instructions with its work (`profile.ops`: multiply-accumulates of conv ops, elements of the others, the conv
geometry). This script only groups and formats: patch ops of one layer are summed into one row, every
other op is one row. With --baseline-tte it also runs another tte binary (e.g. the main branch's) on the same
configurations and shows its instructions beside (the program and its ops are the same: only the kernels differ,
and the state checksums must be equal).

usage: /usr/bin/python3 bench/kernel_speed.py [--tte build/tte] [--baseline-tte OTHER/tte] [--shared ../shared]
                                              [--rows all|mcunet49] [--out docs/kernel-speed.md]
       (--save-runs FILE: only run --tte and save its reports; --baseline-runs FILE: compare with them instead of
        running --baseline-tte, the same numbers)
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcu_table  # noqa: E402  (the configurations of docs/mcu.md)

ROOT = mcu_table.ROOT
SMLAD, CMSIS = 0.5, 1.25


def command(tte, cfg):
    return [tte, "mcu-run", "--json", "--profile", "--budget", "256KB", "--samples", "10", "--model",
            cfg["model"]] + cfg["args"]


def run(tte, cfg):
    cmd = command(tte, cfg)
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    shown = " ".join(mcu_table.rel(c) for c in cmd)
    if p.returncode != 0 or "{" not in p.stdout:
        sys.exit(f"kernel_speed: {shown} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    d = json.loads(p.stdout[p.stdout.index("{"):])
    print(f"  {cfg['label']}: {d['insns_steady_step'] / 1e6:.1f} M / step, checksum {d['checksum_mcu']}, "
          f"parity {d['parity']} ({time.time() - t0:.0f} s)", file=sys.stderr)
    return d, shown


def shape(op):
    c = op.get("conv")
    if not c:
        return ""
    k = f"{c['kh']}x{c['kw']}/{c['sh']}"
    return f"{c['cin']}->{c['cout']} k{k} {c['in_h']}x{c['in_w']}->{c['out_h']}x{c['out_w']}" + (
        f" rows {c['trained_rows']}" if op["code"] == "conv_weight_grad" else "")


def rows_of(d, base):
    """Rows: (kind, layer, shape, macs, elements, insns, baseline insns), patch ops of a layer summed."""
    ops = d["profile"]["ops"]
    b = base["profile"]["by_op"] if base else None
    groups = collections.OrderedDict()
    for op in ops:
        kind = op["kind"]
        key = (kind, op.get("layer", op["code"] if op["macs"] else f"#{op['op']}"))
        g = groups.setdefault(key, {"kind": kind, "layer": key[1], "shape": shape(op), "macs": 0, "elements": 0,
                                    "insns": 0, "base": 0, "n": 0})
        g["macs"] += op["macs"]
        g["elements"] += op["elements"]
        g["insns"] += op["insns"]
        g["base"] += b[op["op"]] if b else 0
        g["n"] += 1
        if "(patch)" in kind:
            g["shape"] = shape(op).split(" ")[0] + f" k{op['conv']['kh']}x{op['conv']['kw']}/{op['conv']['sh']}, " \
                                                   f"{g['n']} patches"
    return list(groups.values())


def m(v):
    return f"{v / 1e6:.2f}"


def fmt_ratio(insns, work):
    return f"{insns / work:.2f}" if work else "-"


def section(cfg, d, base, cmd, base_cmd):
    rows = rows_of(d, base)
    out = [f"### {cfg['label']}", "", f"`{cmd}`" + (f"  \nbaseline: `{base_cmd}`" if base_cmd else ""), ""]
    step = d["insns_steady_step"]
    line = f"Instructions per training step (steady): **{step / 1e6:.1f} M**"
    if base:
        line += f" (baseline {base['insns_steady_step'] / 1e6:.1f} M, {step / base['insns_steady_step']:.2f}x)"
    line += f"; state checksum after 10 steps `{d['checksum_mcu']}` (MCU = host: {'yes' if d['parity'] else 'NO'})"
    if base:
        line += f", baseline `{base['checksum_mcu']}`" + (" (equal)" if base["checksum_mcu"] == d["checksum_mcu"]
                                                           else " (**DIFFERENT**)")
    out += [line + ".", ""]
    # by kind
    kinds = collections.OrderedDict()
    for r in rows:
        k = kinds.setdefault(r["kind"], {"macs": 0, "elements": 0, "insns": 0, "base": 0})
        for f in ("macs", "elements", "insns", "base"):
            k[f] += r[f]
    total = sum(k["insns"] for k in kinds.values())
    spread = collections.defaultdict(list)
    for r in rows:
        if r["macs"]:
            spread[r["kind"]].append(r["insns"] / r["macs"])
    hdr = "| kernel kind | instructions (M) | share | MACs (M) | insn / MAC | layers: min - max insn / MAC |" + (
        " baseline insns (M) | baseline insn / MAC |" if base else "")
    out += [hdr, "|---|---|---|---|---|---|" + ("---|---|" if base else "")]
    for name, k in sorted(kinds.items(), key=lambda kv: -kv[1]["insns"]):
        if k["insns"] < 0.002 * total:
            continue
        work = k["macs"]
        lo_hi = f"{min(spread[name]):.2f} - {max(spread[name]):.2f}" if spread[name] else "-"
        row = f"| {name} | {m(k['insns'])} | {100 * k['insns'] / total:.1f} % | {m(work) if work else '-'} | " \
              f"{fmt_ratio(k['insns'], work)} | {lo_hi} |"
        if base:
            row += f" {m(k['base'])} | {fmt_ratio(k['base'], work)} |"
        out.append(row)
    out += ["", "Per layer (conv kernels; patch ops of a layer summed):", ""]
    hdr = "| kind | layer | cin->cout, kernel/stride, in->out | MACs (k) | instructions (k) | insn / MAC | x SMLAD limit | x CMSIS-NN |" + (
        " baseline insn / MAC |" if base else "")
    out += [hdr, "|---|---|---|---|---|---|---|---|" + ("---|" if base else "")]
    for r in rows:
        if not r["macs"]:
            continue
        ipm = r["insns"] / r["macs"]
        row = f"| {r['kind']} | {r['layer']} | {r['shape']} | {r['macs'] / 1e3:.0f} | {r['insns'] / 1e3:.0f} | " \
              f"{ipm:.2f} | {ipm / SMLAD:.1f} | {ipm / CMSIS:.2f} |"
        if base:
            row += f" {r['base'] / r['macs']:.2f} |"
        out.append(row)
    other = [r for r in rows if not r["macs"] and r["insns"] >= 0.001 * total]
    if other:
        out += ["", "Other ops (per element of their output, or of their input when they have none):", "",
                "| kind | op | elements | instructions (k) | insn / element |" + (" baseline |" if base else ""),
                "|---|---|---|---|---|" + ("---|" if base else "")]
        agg = collections.OrderedDict()
        for r in other:
            a = agg.setdefault(r["kind"], {"elements": 0, "insns": 0, "base": 0, "n": 0})
            for f in ("elements", "insns", "base"):
                a[f] += r[f]
            a["n"] += 1
        for name, a in sorted(agg.items(), key=lambda kv: -kv[1]["insns"]):
            row = f"| {name} | {a['n']} ops | {a['elements']} | {a['insns'] / 1e3:.0f} | " \
                  f"{fmt_ratio(a['insns'], a['elements'])} |"
            if base:
                row += f" {fmt_ratio(a['base'], a['elements'])} |"
            out.append(row)
    return out + [""]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tte", default=os.path.join(ROOT, "build", "tte"))
    ap.add_argument("--baseline-tte", help="another tte binary to compare with (e.g. the main branch's build)")
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(ROOT), "shared"))
    ap.add_argument("--rows", default="all", choices=["all", "mcunet49"])
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "kernel-speed.md"))
    ap.add_argument("--json", help="also write the raw mcu-run reports here")
    ap.add_argument("--save-runs", help="only run --tte on the configurations and save its reports to this file "
                                        "(e.g. a baseline binary without profile.ops)")
    ap.add_argument("--baseline-runs", help="a --save-runs file to compare with instead of running --baseline-tte")
    ap.add_argument("--from-json", help="format a --json file of an earlier run again (no runs)")
    a = ap.parse_args()
    if not os.path.isdir(os.path.join(a.shared, "models")):
        print(f"kernel_speed: SKIPPED: no models under {a.shared}", file=sys.stderr)
        return 0
    cfgs = mcu_table.configs(a.shared)
    if a.rows == "mcunet49":
        cfgs = cfgs[:1]
    if a.save_runs:
        saved = []
        for cfg in cfgs:
            d, cmd = run(a.tte, cfg)
            saved.append({"label": cfg["label"], "run": d, "command": cmd})
        with open(a.save_runs, "w") as f:
            json.dump(saved, f)
        print(f"kernel_speed: saved {len(saved)} reports to {a.save_runs}", file=sys.stderr)
        return 0
    baseline = {}
    if a.baseline_runs:
        baseline = {r["label"]: (r["run"], r["command"]) for r in json.load(open(a.baseline_runs))}
    body, raw = [], []
    previous = {r["label"]: r for r in json.load(open(a.from_json))} if a.from_json else {}
    for cfg in cfgs:
        if previous:
            r = previous[cfg["label"]]
            shown = r.get("command") or " ".join(mcu_table.rel(c) for c in command(a.tte, cfg))
            base_shown = r.get("baseline_command") or (baseline.get(cfg["label"], (None, None))[1] if r["baseline"] else None)
            body += section(cfg, r["run"], r["baseline"], shown, base_shown)
            raw.append(r)
            continue
        d, cmd = run(a.tte, cfg)
        if a.baseline_tte:
            base, base_cmd = run(a.baseline_tte, cfg)
        else:
            base, base_cmd = baseline.get(cfg["label"], (None, None))
        body += section(cfg, d, base, cmd, base_cmd)
        raw.append({"label": cfg["label"], "run": d, "baseline": base, "command": cmd, "baseline_command": base_cmd})
    cmdline = "/usr/bin/python3 bench/kernel_speed.py" + (
        " --baseline-tte BASELINE/tte" if a.baseline_tte or a.baseline_runs else "") + (
        f" --rows {a.rows}" if a.rows != "all" else "")
    head = ["# Kernel speed per layer on the Cortex-M7 (QEMU, exact instruction counts)", "",
            f"Generated by `{cmdline}` (every number comes from `tte mcu-run --json --profile`; each section "
            "lists its command). Instruction counts are not cycles (docs/mcu.md).", "",
            "Each row is one kernel call of one profiled training step (patch ops of one layer summed), "
            "instructions divided by its multiply-accumulates: the forward conv over the output it computes (patch "
            "stages recompute their halos, which counts as work here), the input gradient over the whole conv, the "
            "weight gradient over the trained rows. The limits: **SMLAD 0.5** instructions per MAC (two int8 MACs "
            "per instruction, nothing else), **CMSIS-NN 1.25** (its int8 1x1 inner loop); `x SMLAD limit` and `x "
            "CMSIS-NN` are the row's insn/MAC divided by them. The fp32 backward kernels multiply and add in two "
            "roundings (bit-exact with the reference, no FMA), so their floor is 2 instructions per MAC (VMUL + "
            "VADD) plus loads.", "",
            "Inner loops of the Cortex-M7 paths (from their disassembly; src/kernels): the pointwise forward (DSP "
            "path, FP32 requantization) takes 15 instructions per 16 MACs (LDR + 2 SXTB16 for four weights, 4 LDRD "
            "of the expanded input block, 8 SMLAD): 0.94 insn / MAC, 1.9x the SMLAD limit and under CMSIS-NN's "
            "1.25; each output then costs 9 more (VMOV, VCVT, VADD, VMUL, VCVTR, VMOV, QADD, SSAT, STRB), which is "
            "what keeps layers with few input channels (8-48) at 1.6-3.5 insn / MAC. The fp32 pointwise input "
            "gradient takes 38 instructions per 16 MACs (2 VLDM, 16 VMUL, 16 VADD, 4 loop): 2.375, floor 2. The "
            "pointwise weight gradient (4x4 register block, int8 inputs converted in the loop) about 3.3, plus the "
            "fused update of every trained weight. Far from their limits: the first conv (3 input channels, "
            "stride 2: one tap at a time), depthwise convs (9-49 MACs per output, so the requantization weighs; "
            "only 3x3 stride 1 uses SMLAD), strided depthwise input gradients (zero taps of the stride are still "
            "multiplied) and every kernel on 4x4 planes (per-channel set-up).", ""]
    with open(a.out, "w") as f:
        f.write("\n".join(head + body).rstrip() + "\n")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(raw, f, indent=1)
    print(f"kernel_speed: wrote {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
