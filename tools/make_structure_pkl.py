#!/usr/bin/python3
"""Builds a structurally identical MCUNetV3 `.pkl` with deterministic random int8 weights from
`../shared/models/mcu_models_structure.json` (which describes every field of the paper's three models, without
weights). Used by bench/memory_table.py for proxyless-w0.3, whose weights are not in ../shared.

Every structural field (channels, kernel sizes, strides, groups, resolutions, quantization scales and zero
points, key order, Python types, dtypes, shapes) is copied from the JSON. Only array *values* are invented:
int8 weights uniform in [-127, 127], int32 biases uniform in a small range, float32 w_scales uniform in
[max(min, mean/10), max] of the JSON summary. Memory does not depend on weight values, except through the
magnitude-based choice of trained channels, whose COUNT (floor(ratio x channels)) is all that matters.

The file is written with the project's writer (tools/backbone/mcunet_pkl.py: validation, atomic write,
read-back check). Never commit its output: it is derived from the shared reference material; write it to a
temporary or build directory.

usage: make_structure_pkl.py MODEL OUT.pkl [--structure JSON] [--seed N]
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "backbone"))
from mcunet_pkl import write_mcunet_pkl  # noqa: E402

DEFAULT_STRUCTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "models",
                                 "mcu_models_structure.json")


def make_array(desc, rng, path):
    dtype, shape = desc["dtype"], tuple(desc["shape"])
    if dtype == "int8":
        lo, hi = max(int(desc["min"]), -127), min(int(desc["max"]), 127)
        return rng.integers(lo, hi + 1, size=shape, dtype=np.int64).astype(np.int8)
    if dtype == "int32":
        lo, hi = max(int(desc["min"]), -65536), min(int(desc["max"]), 65536)
        if lo > hi:
            lo, hi = -65536, 65536
        return rng.integers(lo, hi + 1, size=shape, dtype=np.int64).astype(np.int32)
    if dtype == "float32":
        hi = float(desc["max"])
        lo = max(float(desc["min"]), float(desc.get("mean", hi)) / 10.0)
        if not 0 < lo <= hi:
            raise ValueError(f"{path}: cannot draw positive float32 values in [{lo}, {hi}]")
        return rng.uniform(lo, hi, size=shape).astype(np.float32)
    raise ValueError(f"{path}: unsupported dtype {dtype}")


def rebuild(node, rng, path="model"):
    """JSON summary -> the model dict: arrays drawn, tuples restored, everything else copied."""
    if isinstance(node, dict):
        if node.get("__ndarray__"):
            return make_array(node, rng, path)
        if "__tuple__" in node:
            return tuple(node["__tuple__"])
        return {k: rebuild(v, rng, f"{path}.{k}") for k, v in node.items()}
    if isinstance(node, list):
        return [rebuild(v, rng, f"{path}[{i}]") for i, v in enumerate(node)]
    return node


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="model key in the structure file, e.g. proxyless-w0.3")
    ap.add_argument("out", help="output .pkl (name it MODEL.pkl so that scheme files find its entry)")
    ap.add_argument("--structure", default=DEFAULT_STRUCTURE)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    with open(a.structure) as f:
        models = json.load(f)
    if a.model not in models or a.model.startswith("_"):
        sys.exit(f"{a.structure}: no model '{a.model}' (have: "
                 f"{', '.join(k for k in models if not k.startswith('_'))})")
    d = rebuild(models[a.model]["structure"], np.random.default_rng(a.seed))
    write_mcunet_pkl(d, a.out)
    print(f"wrote {a.out}: structure of {a.model}, random weights (seed {a.seed})")


if __name__ == "__main__":
    main()
