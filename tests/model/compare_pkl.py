#!/usr/bin/python3
"""Loads two MCUNetV3 .pkl files with zipfile + pickle + numpy only (restricted to the four globals the
format uses) and prints 'equal' if they hold the same values, types, dtypes and shapes; exits 1 otherwise."""
import io
import pickle
import sys
import zipfile

import numpy as np

ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}


class Restricted(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in ALLOWED:
            raise pickle.UnpicklingError(f"global {module}.{name} not allowed")
        return super().find_class(module, name)


def load(path):
    z = zipfile.ZipFile(path)
    name = [n for n in z.namelist() if n.endswith("data.pkl")][0]
    return Restricted(io.BytesIO(z.read(name)), encoding="latin1").load()


def diff(a, b, path="root"):
    if type(a) is not type(b):
        return f"{path}: type {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, dict):
        if set(a) != set(b):
            return f"{path}: keys {sorted(set(a) ^ set(b))}"
        for k in a:
            d = diff(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return f"{path}: length {len(a)} vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = diff(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    if isinstance(a, np.ndarray):
        if a.dtype != b.dtype or a.shape != b.shape or not np.array_equal(a, b):
            return f"{path}: arrays differ ({a.dtype}{a.shape} vs {b.dtype}{b.shape})"
        return None
    return None if a == b else f"{path}: {a!r} vs {b!r}"


if __name__ == "__main__":
    d = diff(load(sys.argv[1]), load(sys.argv[2]))
    if d:
        print("differ:", d)
        sys.exit(1)
    print("equal")
