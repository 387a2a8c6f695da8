#!/usr/bin/python3
"""ctest driver of the PyTorch gradient oracle (tools/oracle/grad_oracle.py; label `oracle`): tte's gradients against
torch autograd of the straight-through simulation, on every graph the repository makes and every model in ../shared.

  oracle_test.py opkinds   FIXTURES_EXE TTE WORK      the 9 op-kind graphs x 2 requant modes (tte_oracle_fixtures
                                                      writes them and ComputeGradients' output), plus the TFLite
                                                      builder models through `tte info --dump-graph` + `tte grad`
  oracle_test.py model     TTE MODEL WORK [GOLDEN]    a model file: `tte info --dump-graph`, `tte grad --scheme full`
                                                      on two inputs, the oracle with --compare (and --golden: the int8
                                                      forward against TFLite's own per-op outputs)
  oracle_test.py exported  TTE MODEL WORK             `tte export` MODEL to .tflite, then as `model` (random inputs)
  oracle_test.py pkl       TTE MODEL SHARED WORK      a .pkl model on the reference's golden inputs and heads: the
                                                      oracle against tte grad and against the reference's autograd
                                                      goldens (SHARED/golden_grad)
  oracle_test.py planted   FIXTURES_EXE WORK          the tests can fail: the oracle with a planted wrong rule (every
                                                      clamp mask dropped) must fail --compare on each graph whose
                                                      clamps stop gradient
  oracle_test.py errors    FIXTURES_EXE WORK          missing files and an unknown op give exit 2 and a message naming
                                                      the file / node / op
Exit 0 pass, 1 fail, 77 skipped (torch missing, or the model file absent: the reason is printed).
"""
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ORACLE = os.path.join(ROOT, "tools", "oracle", "grad_oracle.py")
SKIP = 77

try:
    import numpy as np
    import torch  # noqa: F401
except ImportError as e:
    print(f"SKIPPED: the oracle needs numpy and torch (Debian's python3-torch): {e}")
    sys.exit(SKIP)


def run(cmd, expect=0):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if expect is not None and r.returncode != expect:
        print(r.stdout)
        raise SystemExit(f"FAIL: exit {r.returncode} (expected {expect}): {' '.join(cmd)}")
    return r


def fresh(d):
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


sys.path.insert(0, os.path.dirname(ORACLE))
import grad_oracle  # noqa: E402
from int8_graph import OracleError, load_graph  # noqa: E402


class Ran:
    def __init__(self, returncode, stdout):
        self.returncode, self.stdout = returncode, stdout


def oracle(graph, x, label, hw, hb, tte_dir, extra=(), expect=0):
    """grad_oracle.py's main in this process (torch is imported once per test): exit status and output as its CLI
    gives them (errors: status 2, 'grad_oracle: error: ...')."""
    argv = ["--graph", graph, "--input", x, "--label", str(label), "--head-weight", hw, "--head-bias", hb,
            "--compare", tte_dir, *extra]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            rc = grad_oracle.main(argv)
        except OracleError as e:
            print(f"grad_oracle: error: {e}")
            rc = 2
    r = Ran(rc, out.getvalue())
    if expect is not None and rc != expect:
        print(r.stdout)
        raise SystemExit(f"FAIL: exit {rc} (expected {expect}): grad_oracle.py {' '.join(argv)}")
    return r


def worst(out):
    """(weights, biases) worst relative errors from the oracle's last line."""
    line = [ln for ln in out.splitlines() if ln.startswith("worst relative error")][-1]
    w = float(line.split("weights ")[1].split()[0])
    b = float(line.split("biases ")[1].split()[0])
    return w, b


def head_files(graph_dir, work, seed):
    """A seeded fp32 head for the dumped graph's classifier: uniform in +-1/sqrt(features)."""
    g = load_graph(graph_dir)
    h = g.nodes[g.head_node()]
    feats = int(np.prod(g.shape(h["inputs"][0])))
    classes = int(np.prod(g.shape(h["outputs"][0])))
    rng = np.random.default_rng(seed)
    b = 1 / np.sqrt(feats)
    hw, hb = os.path.join(work, f"hw{seed}.npy"), os.path.join(work, f"hb{seed}.npy")
    np.save(hw, rng.uniform(-b, b, (classes, feats)).astype(np.float32))
    np.save(hb, rng.uniform(-b, b, classes).astype(np.float32))
    return g, hw, hb, classes


def model_case(tte, model, work, inputs=None, head=None):
    """tte info --dump-graph, tte grad, the oracle --compare, on `inputs` [(name, x.npy, label or None, golden dir or
    None, reference .npz or None)]; head = (hw.npy, hb.npy) or a seeded one."""
    name = os.path.splitext(os.path.basename(model))[0]
    dump = os.path.join(work, "graph")
    run([tte, "info", model, "--dump-graph", dump])
    g, hw, hb, classes = head_files(dump, work, 7)
    if head:
        hw, hb = head
    if inputs is None:
        inputs = []
        for k in range(2):
            c, h, w = g.shape(g.input)
            shape = (1, h, w, c) if g.input_spec.get("source_nhwc") else (1, c, h, w)
            x = np.random.default_rng(100 + k).integers(-128, 128, shape, dtype=np.int8)
            path = os.path.join(work, f"x{k}.npy")
            np.save(path, x)
            inputs.append((f"rand{k}", path, None, None, None))
    ws, bs = [], []
    for k, (iname, x, label, golden, ref) in enumerate(inputs):
        label = (3 * k + 1) % classes if label is None else label
        grads = os.path.join(work, f"tte_{iname}")
        run([tte, "grad", "--model", model, "--input", x, "--label", str(label), "--head-weight", hw, "--head-bias", hb,
             "--scheme", "full", "--output-dir", grads])
        extra = ["--golden", golden] if golden else []
        r = oracle(dump, x, label, hw, hb, grads, extra, expect=None)
        print(f"--- {name} / {iname} (label {label}): oracle vs tte grad\n{r.stdout}")
        if r.returncode != 0:
            raise SystemExit(f"FAIL: {name} / {iname}: the oracle reports a mismatch (exit {r.returncode})")
        w, b = worst(r.stdout)
        ws.append(w)
        bs.append(b)
        if ref:  # the reference implementation's own autograd: anchors the oracle itself
            r = oracle(dump, x, label, hw, hb, ref, expect=None)
            print(f"--- {name} / {iname}: oracle vs the reference's goldens {ref}\n{r.stdout}")
            if r.returncode != 0:
                raise SystemExit(f"FAIL: {name} / {iname}: the oracle disagrees with the reference's goldens")
            rw, rb = worst(r.stdout)
            print(f"[oracle] {name:<24} {iname}: oracle vs reference goldens: worst weight {rw:.2e}, bias {rb:.2e}")
    print(f"[oracle] {name:<24} {len(inputs)} inputs: worst weight {max(ws):.2e}, worst bias {max(bs):.2e}")


def cmd_model(tte, model, work, golden_root=None):
    if not os.path.isfile(model):
        print(f"SKIPPED: {model} is absent (../shared is not part of the repository)")
        return SKIP
    fresh(work)
    inputs = None
    if golden_root and os.path.isdir(golden_root):  # TFLite's own goldens: their exact inputs, and the activations
        names = sorted(os.listdir(golden_root))[:2]
        inputs = [(n, os.path.join(golden_root, n, "input.npy"), None, os.path.join(golden_root, n), None)
                  for n in names]
    model_case(tte, model, work, inputs)
    return 0


def cmd_exported(tte, model, work):
    """The repository's own model exported by `tte export` to .tflite (TFLite's integer arithmetic), then as cmd_model."""
    fresh(work)
    out = os.path.join(work, os.path.splitext(os.path.basename(model))[0] + ".tflite")
    run([tte, "export", "--model", model, "--out", out])
    model_case(tte, out, fresh(os.path.join(work, "case")))
    return 0


def cmd_pkl(tte, model, shared, work):
    """A .pkl model on the reference's golden inputs, labels and heads (../shared/golden_grad/README.md): the oracle
    against tte grad and against the reference's own autograd."""
    if not os.path.isfile(model):
        print(f"SKIPPED: {model} is absent (../shared is not part of the repository)")
        return SKIP
    fresh(work)
    net = os.path.splitext(os.path.basename(model))[0]
    gg = os.path.join(shared, "golden_grad")
    head = (os.path.join(gg, f"{net}__head_weight.npy"), os.path.join(gg, f"{net}__head_bias.npy"))
    inputs = [(i, os.path.join(shared, "golden", f"input_{i}_int8.npy"), label, None,
               os.path.join(gg, f"{net}__{i}__grad.npz")) for i, label in (("fmnist0", 0), ("rand", 3))]
    missing = [f for f in list(head) + [i[1] for i in inputs] + [i[4] for i in inputs] if not os.path.isfile(f)]
    if missing:
        print(f"SKIPPED: {', '.join(missing)} absent")
        return SKIP
    model_case(tte, model, work, inputs, head)
    return 0


def fixtures(exe, work):
    out = fresh(os.path.join(work, "fixtures"))
    run([exe, out])
    return out


def fixture_case(d):
    with open(os.path.join(d, "label.txt")) as fh:
        label = int(fh.read())
    return (d, os.path.join(d, "x.npy"), label, os.path.join(d, "hw.npy"), os.path.join(d, "hb.npy"),
            os.path.join(d, "tte"))


def cmd_opkinds(exe, tte, work):
    fresh(work)
    out = fixtures(exe, work)
    cases = sorted(d for d in os.listdir(out) if os.path.isdir(os.path.join(out, d)))
    if len(cases) != 18:
        raise SystemExit(f"FAIL: expected 18 op-kind graphs in {out}, found {len(cases)}")
    for c in cases:
        d, x, label, hw, hb, tdir = fixture_case(os.path.join(out, c))
        r = oracle(d, x, label, hw, hb, tdir, expect=None)
        print(f"--- {c}\n{r.stdout}")
        if r.returncode != 0:
            raise SystemExit(f"FAIL: {c}: the oracle reports a mismatch (exit {r.returncode})")
        w, b = worst(r.stdout)
        clamped = int(r.stdout.split(" layers + head; ")[1].split()[0])
        print(f"[oracle] {c:<24} worst weight {w:.2e}, worst bias {b:.2e}, {clamped} clamp-mask bits stop gradient")
    for m in ("tiny", "feature", "head"):  # through the real CLI
        model_case(tte, os.path.join(out, m + ".tflite"), fresh(os.path.join(work, m)))
    return 0


def cmd_planted(exe, work):
    """Every graph whose clamps stop gradient must fail with --drop-masks; those without clamps must still pass."""
    fresh(work)
    out = fixtures(exe, work)
    failed = 0
    for c in sorted(os.listdir(out)):
        d = os.path.join(out, c)
        if not os.path.isdir(d):
            continue
        d, x, label, hw, hb, tdir = fixture_case(d)
        r = oracle(d, x, label, hw, hb, tdir, ["--drop-masks"], expect=None)
        clamped = int(r.stdout.split(" layers + head; ")[1].split()[0])
        verdict = r.stdout.strip().splitlines()[-1]
        print(f"[planted: masks dropped] {c:<24} {clamped:5d} clamped bits, exit {r.returncode}: {verdict}")
        if clamped > 0 and r.returncode != 1:
            raise SystemExit(f"FAIL: {c}: the planted wrong rule was not detected")
        failed += r.returncode == 1
    if failed < 10:
        raise SystemExit(f"FAIL: only {failed} graphs detected the planted wrong rule")
    print(f"the planted wrong rule fails {failed} graphs")
    return 0


def cmd_errors(exe, work):
    fresh(work)
    out = fixtures(exe, work)
    d, x, label, hw, hb, tdir = fixture_case(os.path.join(out, "add_fanout_tflite"))
    checks = [
        (["--graph", os.path.join(work, "nowhere")], "nowhere/graph.json: no such file"),
        (["--input", os.path.join(work, "missing.npy")], "missing.npy: no such file (the int8 input)"),
        (["--input", hw], "the input must be int8"),
        (["--head-weight", hb], "head weight [5] / bias [5]: expected [classes,"),
    ]
    bad = fresh(os.path.join(work, "bad_op"))
    with open(os.path.join(d, "graph.json")) as fh:
        j = json.load(fh)
    j["nodes"][2]["op"] = "max_pool2d"
    with open(os.path.join(bad, "graph.json"), "w") as fh:
        json.dump(j, fh)
    shutil.copy(os.path.join(d, "constants.npz"), bad)
    checks.append((["--graph", bad], f"node 2 ('{j['nodes'][2]['name']}'): op 'max_pool2d' is not known"))
    for k, (args, want) in enumerate(checks):
        base = {"--graph": d, "--input": x, "--head-weight": hw}
        for i in range(0, len(args), 2):
            base[args[i]] = args[i + 1]
        if k == 0:  # the command line itself: exit status 2 and the message on stderr
            cmd = [sys.executable, ORACLE, "--label", str(label), "--head-bias", hb, "--compare", tdir]
            for key, v in base.items():
                cmd += [key, v]
            r = run(cmd, expect=2)
        else:
            r = oracle(base["--graph"], base["--input"], label, base["--head-weight"], hb, tdir, expect=2)
        if want not in r.stdout:
            raise SystemExit(f"FAIL: expected '{want}' in: {r.stdout}")
        print(f"[error] {r.stdout.strip().splitlines()[-1]}")
    return 0


def main(argv):
    if not argv:
        print(__doc__)
        return 2
    c, a = argv[0], argv[1:]
    if c == "opkinds":
        return cmd_opkinds(*a)
    if c == "model":
        return cmd_model(*a)
    if c == "exported":
        return cmd_exported(*a)
    if c == "pkl":
        return cmd_pkl(*a)
    if c == "planted":
        return cmd_planted(*a)
    if c == "errors":
        return cmd_errors(*a)
    print(f"unknown command {c}")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
