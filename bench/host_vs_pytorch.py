#!/usr/bin/python3
"""tte against PyTorch on the host, side by side: training step, inference and peak RSS (docs/host-speed.md).

The same network on both sides: tte runs the int8 model (its own trainer, bench/host/host_bench.cc); PyTorch runs
it in fp32 as its users would, built from the graph tte imports (`tte info M --dump-graph DIR`): weights
dequantized (w * s_w per channel, bias * s_x s_w), BN already folded into the convs (the .pkl models store them
folded), ReLU6 where the int8 range starts at 0, global average pool, a new nn.Linear head. The same trainable
tensors: the biases of the last `n_bias_update` convs, the weights of the `manual_weight_idx` convs whose ratio is
above 0, and the head; everything else frozen (requires_grad False, so autograd stops below the first trained
layer, as tte's program does). tte updates only the scheme's fraction of input channels of a partially trained
weight; PyTorch, which has no channel-sparse update, computes the whole weight's gradient (a user would too).
Both: SGD without momentum, mean cross-entropy over the batch, random 128x128 inputs, 10 classes.

Configurations: each model x batch 1 / 64 x one thread / all threads (torch.set_num_threads(T); tte train
--threads T, which parallelises batches over samples, bit-identical to one thread). Per round and configuration,
one host_bench process measures tte (after a warm-up epoch) and a persistent PyTorch worker process (one per
model and batch) measures PyTorch; the order alternates every round so that a noisy, shared machine hits both
sides alike. Reported: medians over rounds, and ratios PyTorch time / tte time (> 1: tte faster). Peak RSS:
ru_maxrss of each process (os.wait4): the host_bench process, the PyTorch worker; and `tte train` itself on
Fashion-MNIST (10,000 training images, /usr/bin/time -v) for the issue's memory target.

  /usr/bin/python3 bench/host_vs_pytorch.py --build build [--rounds 5] [--models mcunet-5fps,mbv2-w0.35]
                                            [--out results.json] [--no-fmnist-rss] [--torch-blas DIR]

Debian's python3-torch calls the BLAS of the libblas.so.3 alternative: the reference BLAS (libblas3) unless an
optimised one is installed. --torch-blas DIR points the PyTorch worker at another (e.g. OpenBLAS:
`apt-get install libopenblas0-pthread`, DIR /usr/lib/x86_64-linux-gnu/openblas-pthread); the libraries loaded are
recorded in the output.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.path.join(os.path.dirname(ROOT), "shared")


# ---------------------------------------------------------------------------------------------- PyTorch side
def torch_worker(graph_dir, scheme_file, model_name, scheme_name, batch):
    """Serves 'train T N', 'infer T N' and 'quit' on stdin; answers one JSON line per command."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    sys.path.insert(0, os.path.join(ROOT, "tools", "oracle"))
    from int8_graph import CONV_OPS, load_graph

    g = load_graph(graph_dir)
    with open(scheme_file) as f:
        sch = json.load(f)[model_name][scheme_name]
    head = g.head_node()
    layers = g.layers()
    n_conv = len(layers)
    bias_from = n_conv - int(sch.get("n_bias_update", 0))
    weight_idx = {int(i) for i, r in zip(sch.get("manual_weight_idx", []), sch.get("weight_update_ratio", []))
                  if float(r) > 0}

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.ops = []
            self.params = torch.nn.ParameterList()
            for k in range(head):
                n = g.nodes[k]
                op = n["op"]
                if op in CONV_OPS:
                    xv, wv, bv, yv = n["inputs"][0], n["inputs"][1], n["inputs"][2], n["outputs"][0]
                    w = g.consts[wv].astype(np.float32)
                    sw = np.array([g.scale(wv, o) for o in range(w.shape[0])], dtype=np.float32)
                    wf = torch.from_numpy(w * sw.reshape(-1, 1, 1, 1))
                    bf = torch.from_numpy(g.consts[bv].astype(np.float32) * np.float32(g.scale(xv)) * sw)
                    i = layers[k]
                    W = torch.nn.Parameter(wf, requires_grad=i in weight_idx)
                    B = torch.nn.Parameter(bf, requires_grad=i >= bias_from)
                    self.params.append(W)
                    self.params.append(B)
                    lo, hi = ((a - g.zero(yv)) * g.scale(yv) for a in n["act"])
                    relu = lo > -1e-6  # the int8 range starts at 0: a ReLU6-like clamp; otherwise linear
                    wd = n["window"]
                    groups = g.shape(xv)[0] if op == "depthwise_conv2d" else int(n["groups"])
                    self.ops.append(("conv", xv, yv, W, B, wd, groups, relu, hi))
                elif op == "add":
                    lo, hi = ((a - g.zero(n["outputs"][0])) * g.scale(n["outputs"][0]) for a in n["act"])
                    self.ops.append(("add", n["inputs"], n["outputs"][0], lo > -1e-6, hi))
                elif op == "avg_pool2d" and n["global_pool"]:
                    self.ops.append(("gap", n["inputs"][0], n["outputs"][0]))
                elif op == "reshape":
                    self.ops.append(("id", n["inputs"][0], n["outputs"][0]))
                else:
                    raise SystemExit(f"{graph_dir}: node {k} ({op}) is not supported by this benchmark")
            feat = g.shape(g.nodes[head]["inputs"][0])[0]
            self.head = torch.nn.Linear(feat, 10)
            self.input = g.input
            self.feature = g.nodes[head]["inputs"][0]

        def forward(self, x):
            v = {self.input: x}
            for o in self.ops:
                if o[0] == "conv":
                    _, xv, yv, W, B, wd, groups, relu, hi = o
                    pads = (wd["pad_l"], wd["pad_r"], wd["pad_t"], wd["pad_b"])
                    xin = v[xv]
                    if pads[0] == pads[1] == pads[2] == pads[3]:
                        y = F.conv2d(xin, W, B, stride=(wd["sh"], wd["sw"]), padding=pads[0],
                                     dilation=(wd["dh"], wd["dw"]), groups=groups)
                    else:
                        y = F.conv2d(F.pad(xin, pads), W, B, stride=(wd["sh"], wd["sw"]),
                                     dilation=(wd["dh"], wd["dw"]), groups=groups)
                    v[yv] = (F.relu6(y) if abs(hi - 6) < 0.05 else F.hardtanh(y, 0.0, hi)) if relu else y
                elif o[0] == "add":
                    _, ins, yv, relu, hi = o
                    y = v[ins[0]] + v[ins[1]]
                    v[yv] = F.hardtanh(y, 0.0, hi) if relu else y
                elif o[0] == "gap":
                    v[o[2]] = v[o[1]].mean((2, 3), keepdim=True)
                else:
                    v[o[2]] = v[o[1]]
            return self.head(v[self.feature].flatten(1))

    torch.manual_seed(0)
    net = Net()
    trained = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.SGD(trained, lr=0.001)
    loss_fn = torch.nn.CrossEntropyLoss()
    spec = g.input_spec
    shape = (batch, spec["c"], spec["h"], spec["w"])
    gen = torch.Generator().manual_seed(1)
    xs = [torch.randint(-128, 128, shape, generator=gen).float() * float(spec["scale"]) for _ in range(4)]
    ys = [torch.randint(0, 10, (batch,), generator=gen) for _ in range(4)]

    def train(n):
        net.train()
        out = []
        for s in range(n + 1):  # the first step warms up
            x, y = xs[s % 4], ys[s % 4]
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(x), y)
            loss.backward()
            opt.step()
            if s:
                out.append((time.perf_counter() - t0) * 1e3)
        return out

    def infer(n):
        net.eval()
        out = []
        with torch.inference_mode():
            for s in range(n + 1):
                t0 = time.perf_counter()
                net(xs[s % 4])
                if s:
                    out.append((time.perf_counter() - t0) * 1e3 / batch)
        return out

    with open("/proc/self/maps") as f:
        blas = sorted({ln.split()[-1] for ln in f if "blas" in ln or "lapack" in ln})
    info = {"torch": torch.__version__, "numpy": np.__version__, "blas": blas,
            "trained_params": sum(p.numel() for p in trained),
            "trained_tensors": len(trained), "config": torch.__config__.parallel_info().splitlines()[:6]}
    print(json.dumps(info), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        torch.set_num_threads(int(cmd[1]))
        times = train(int(cmd[2])) if cmd[0] == "train" else infer(int(cmd[2]))
        print(json.dumps({"median_ms": statistics.median(times), "all_ms": times}), flush=True)


class TorchWorker:
    def __init__(self, graph_dir, scheme_file, model, scheme_name, batch, blas_dir):
        env = dict(os.environ)
        # On a machine shared with other work, OpenMP's and OpenBLAS's spinning thread pools collapse (seconds
        # per step at 2 threads): PyTorch runs with passive waiting and its own intra-op threads only.
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        env.setdefault("OPENBLAS_NUM_THREADS", "1")
        if blas_dir:
            env["LD_LIBRARY_PATH"] = blas_dir + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
        self.p = subprocess.Popen([sys.executable, __file__, "--torch-worker", graph_dir, scheme_file, model, scheme_name,
                                   str(batch)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.info = json.loads(self.p.stdout.readline())

    def ask(self, what, threads, n):
        self.p.stdin.write(f"{what} {threads} {n}\n")
        self.p.stdin.flush()
        return json.loads(self.p.stdout.readline())

    def close(self):
        """Ends the worker; returns its peak RSS in MiB."""
        self.p.stdin.write("quit\n")
        self.p.stdin.flush()
        _, _, ru = os.wait4(self.p.pid, 0)
        self.p.returncode = 0
        return ru.ru_maxrss / 1024


# -------------------------------------------------------------------------------------------------- tte side
def run_tte(host_bench, model_path, scheme_file, scheme_name, batch, threads, steps, infer):
    p = subprocess.Popen([host_bench, "--model", model_path, "--scheme", scheme_file, "--scheme-name", scheme_name,
                          "--batch", str(batch), "--threads", str(threads), "--steps", str(steps), "--infer",
                          str(infer)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.stdout.read(), p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = 0
    if status != 0:
        raise SystemExit(f"host_bench failed: {err}")
    r = json.loads(out)
    r["rss_mib"] = ru.ru_maxrss / 1024
    return r


def fmnist_rss(tte, model_path, scheme_file, scheme_name, batch, threads):
    """`tte train` on Fashion-MNIST, 10,000 training images, 1,000 evaluated: /usr/bin/time -v's peak RSS."""
    cmd = ["/usr/bin/time", "-v", tte, "train", "--model", model_path, "--scheme", scheme_file, "--scheme-name",
           scheme_name, "--data", "fmnist", "--train-samples", "10000", "--eval-samples", "1000", "--steps",
           str(max(1, 64 // batch)), "--batch", str(batch), "--threads", str(threads), "--quiet"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stdout}{r.stderr}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr)
    return {"command": " ".join(cmd), "rss_mib": int(m.group(1)) / 1024}


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--models", default="mcunet-5fps,mbv2-w0.35")
    ap.add_argument("--scheme-name", default="49kb")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps-b1", type=int, default=20, help="batch-1 training steps per round (inference: twice as "
                    "many samples); batch 64: one step and 64 samples per round, after a warm-up")
    ap.add_argument("--out", default="")
    ap.add_argument("--no-fmnist-rss", action="store_true", help="skip the tte train peak-RSS runs on Fashion-MNIST")
    ap.add_argument("--rss-only", action="store_true", help="only the tte train peak-RSS runs on Fashion-MNIST")
    ap.add_argument("--torch-blas", default="", metavar="DIR",
                    help="directory holding the libblas.so.3 PyTorch should load (LD_LIBRARY_PATH of the PyTorch "
                         "worker), e.g. /usr/lib/x86_64-linux-gnu/openblas-pthread; default: the system's")
    ap.add_argument("--torch-worker", nargs=5, metavar=("GRAPH", "SCHEMES", "MODEL", "SCHEME", "BATCH"))
    a = ap.parse_args(argv)
    if a.torch_worker:
        graph, schemes, model, scheme, batch = a.torch_worker
        return torch_worker(graph, schemes, model, scheme, int(batch))

    tte = os.path.join(a.build, "tte")
    host_bench = os.path.join(a.build, "bench", "host", "host_bench")
    scheme_file = os.path.join(SHARED, "reference", "schemes.json")
    for f in (tte, host_bench, scheme_file):
        if not os.path.exists(f):
            raise SystemExit(f"{f}: not found (build with scripts/build.sh; ../shared holds the models and schemes)")
    all_threads = os.cpu_count() or 1
    plan = {1: {"steps": a.steps_b1, "infer": 2 * a.steps_b1}, 64: {"steps": 1, "infer": 64}}  # per round
    results = {"machine": {"cpu_count": all_threads, "load_before": os.getloadavg()}, "configs": [], "rss": []}
    with tempfile.TemporaryDirectory() as tmp:
        for model in a.models.split(","):
            model_path = os.path.join(SHARED, "models", model + ".pkl")
            gdir = os.path.join(tmp, model)
            if not a.rss_only:
                subprocess.run([tte, "info", model_path, "--dump-graph", gdir], check=True, capture_output=True)
            for batch in (() if a.rss_only else (1, 64)):
                worker = TorchWorker(gdir, scheme_file, model, a.scheme_name, batch, a.torch_blas)
                results.setdefault("torch", worker.info)
                rows = {t: {"tte_train": [], "torch_train": [], "tte_infer": [], "torch_infer": [], "tte_rss": []}
                        for t in (1, all_threads)}
                for r in range(a.rounds):
                    for t in rows:
                        k = plan[batch]

                        def tte_side():
                            m = run_tte(host_bench, model_path, scheme_file, a.scheme_name, batch, t, k["steps"],
                                        k["infer"])
                            rows[t]["tte_train"].append(m["train_ms_per_step"])
                            rows[t]["tte_infer"].append(m["infer_ms_per_sample"])
                            rows[t]["tte_rss"].append(m["rss_mib"])

                        def torch_side():
                            rows[t]["torch_train"].append(worker.ask("train", t, k["steps"])["median_ms"])
                            rows[t]["torch_infer"].append(worker.ask("infer", t, max(2, k["infer"] // batch))["median_ms"])

                        for side in ((tte_side, torch_side) if r % 2 == 0 else (torch_side, tte_side)):
                            side()
                        print(f"  round {r}: {model} batch {batch} threads {t}: " +
                              ", ".join(f"{key} {val[-1]:.2f}" for key, val in rows[t].items()), flush=True)
                torch_rss = worker.close()
                for t, v in rows.items():
                    med = {key: statistics.median(val) for key, val in v.items()}
                    row = {"model": model, "batch": batch, "threads": t, **med, "torch_rss": torch_rss,
                           "train_speedup": med["torch_train"] / med["tte_train"],
                           "infer_speedup": med["torch_infer"] / med["tte_infer"], "rounds": v}
                    results["configs"].append(row)
                    print(f"{model:12s} batch {batch:2d} threads {t}: train tte {med['tte_train']:8.2f} ms  torch "
                          f"{med['torch_train']:8.2f} ms  ({row['train_speedup']:.2f}x)   infer/sample tte "
                          f"{med['tte_infer']:6.2f} ms  torch {med['torch_infer']:6.2f} ms  ({row['infer_speedup']:.2f}x)"
                          f"   RSS tte {med['tte_rss']:.1f} MiB  torch {torch_rss:.1f} MiB", flush=True)
            if not a.no_fmnist_rss:
                for batch, t in ((1, 1), (64, all_threads)):
                    r = fmnist_rss(tte, model_path, scheme_file, a.scheme_name, batch, t)
                    r.update(model=model, batch=batch, threads=t)
                    results["rss"].append(r)
                    print(f"{model:12s} tte train on Fashion-MNIST (10,000 images), batch {batch}, threads {t}: "
                          f"peak RSS {r['rss_mib']:.1f} MiB", flush=True)
    results["machine"]["load_after"] = os.getloadavg()
    if a.out:
        with open(a.out, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
