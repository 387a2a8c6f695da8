"""Reading and writing MCUNetV3 int8 model files (`.pkl`, a torch.save zip holding plain dicts and numpy arrays).

The format (ALGORITHM.md section 1): a zip with STORED entries `archive/data.pkl` (pickle protocol 2) and
`archive/version`; no torch tensors, only numpy arrays (int8 weight OIHW, int32 bias, float32 w_scales) and plain
Python scalars. `load_mcunet_pkl` never imports torch and allows only the four globals such files need, so it is safe
on untrusted files. `write_mcunet_pkl` produces the same layout with torch.save (written through a buffer, so the
zip's top folder is `archive/` as in the reference files, whatever the output file name).
"""
import io
import os
import pickle
import tempfile
import zipfile

import numpy as np

ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in an MCUNetV3 model file")


def load_mcunet_pkl(path):
    """Loads a .pkl model into a plain dict without torch, allowing only the 4 numpy/codecs globals."""
    with zipfile.ZipFile(path) as z:
        names = [n for n in z.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(names) != 1:
            raise ValueError(f"{path}: expected one data.pkl entry, found {names}")
        raw = z.read(names[0])
    return _RestrictedUnpickler(io.BytesIO(raw), encoding="latin1").load()


def _plain(v):
    """Converts numpy scalars to Python scalars so the pickle holds only BINFLOAT/BININT values."""
    if isinstance(v, np.generic):
        return v.item()
    return v


def conv_dict(weight, bias, w_scales, x_scale, x_zero, y_scale, y_zero, stride, groups, in_shape, out_shape,
              classifier=False):
    """Builds one conv entry in the reference's exact key order and Python types."""
    weight = np.ascontiguousarray(weight, dtype=np.int8)
    cout, cin_g, k, k2 = weight.shape
    assert k == k2 and k % 2 == 1, weight.shape
    params = {
        "weight": weight,
        "bias": np.ascontiguousarray(bias, dtype=np.int32),
        "x_scale": float(x_scale),
        "x_zero": int(x_zero),
        "y_scale": float(y_scale),
        "y_zero": int(y_zero),
        "w_scales": np.ascontiguousarray(w_scales, dtype=np.float32),
    }
    cin = cin_g * groups
    if classifier:
        return {"in_channel": int(cin), "out_channel": int(cout), "params": params, "kernel_size": (int(k), int(k)),
                "stride": int(stride), "groups": int(groups)}
    return {"in_channel": int(cin), "in_shape": int(in_shape), "out_channel": int(cout), "out_shape": int(out_shape),
            "kernel_size": (int(k), int(k)), "stride": int(stride), "groups": int(groups),
            "depthwise": bool(groups == cin and groups == cout and groups > 1), "act": None, "params": params}


def residual_dict(in_channel, in_shape, x_scale, x_zero, y_scale, y_zero):
    return {"in_channel": int(in_channel), "in_shape": int(in_shape),
            "params": {"x_scale": float(x_scale), "x_zero": int(x_zero), "y_scale": float(y_scale),
                       "y_zero": int(y_zero)}}


def validate_model_dict(d):
    """Checks types, dtypes and the quantization-parameter chaining; raises ValueError with the field path."""
    def fail(p, m):
        raise ValueError(f"{p}: {m}")

    def conv(c, p, classifier=False):
        pr = c["params"]
        w, b, s = pr["weight"], pr["bias"], pr["w_scales"]
        if w.dtype != np.int8 or w.ndim != 4: fail(p + ".params.weight", f"{w.dtype} {w.shape}")
        if b.dtype != np.int32 or b.shape != (w.shape[0],): fail(p + ".params.bias", f"{b.dtype} {b.shape}")
        if s.dtype != np.float32 or s.shape != (w.shape[0],) or not np.all(s > 0): fail(p + ".params.w_scales", "bad")
        if w.min() < -127: fail(p + ".params.weight", "value -128 (weights are symmetric in [-127,127])")
        for k, t in (("x_scale", float), ("y_scale", float), ("x_zero", int), ("y_zero", int)):
            if type(pr[k]) is not t: fail(p + ".params." + k, f"type {type(pr[k]).__name__}, want {t.__name__}")
        for k in ("x_zero", "y_zero"):
            if not -128 <= pr[k] <= 127: fail(p + ".params." + k, f"{pr[k]} outside [-128,127]")
        if type(c["kernel_size"]) is not tuple: fail(p + ".kernel_size", "not a tuple")
        return pr

    prev = conv(d["first_conv"], "first_conv")
    for i, blk in enumerate(d["blocks"]):
        p = f"blocks[{i}]"
        block_in = prev
        for name in ("pointwise1", "depthwise", "pointwise2"):
            c = blk[name]
            if c is None:
                if name != "pointwise1": fail(f"{p}.{name}", "missing")
                continue
            pr = conv(c, f"{p}.{name}")
            if (pr["x_scale"], pr["x_zero"]) != (prev["y_scale"], prev["y_zero"]):
                fail(f"{p}.{name}.params", "x_scale/x_zero differ from the producer's y_scale/y_zero")
            prev = pr
        r = blk["residual"]
        if r is not None:
            rp = r["params"]
            if (rp["x_scale"], rp["x_zero"]) != (block_in["y_scale"], block_in["y_zero"]):
                fail(f"{p}.residual.params", "x_* differ from the block input's params")
            prev = rp
        if blk["se"] is not None: fail(f"{p}.se", "SE is not supported")
    if d["feature_mix"] is not None:
        pr = conv(d["feature_mix"], "feature_mix")
        if (pr["x_scale"], pr["x_zero"]) != (prev["y_scale"], prev["y_zero"]):
            fail("feature_mix.params", "x_scale/x_zero differ from the last block's output params")
        prev = pr
    pr = conv(d["classifier"], "classifier", classifier=True)
    if (pr["x_scale"], pr["x_zero"]) != (prev["y_scale"], prev["y_zero"]):
        fail("classifier.params", "x_scale/x_zero differ from the last block's output params")


def write_mcunet_pkl(d, path):
    """Writes a model dict as a reference-compatible .pkl (torch.save, protocol 2, STORED zip), atomically.

    `d` must follow the schema of `../shared/models/*.pkl` (see conv_dict/residual_dict). Afterwards the file is
    re-opened to check that every entry is STORED and that the restricted loader reads it back identically.
    With PyTorch installed the bytes are torch.save's; without it the same two entries (the identical
    protocol-2 pickle and `archive/version`) are written with zipfile, which torch.load and tte read alike.
    """
    validate_model_dict(d)
    buf = io.BytesIO()
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        torch.save(d, buf, pickle_protocol=2)  # via a buffer, the zip folder is "archive/"
    else:
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
            for name, payload in (("archive/data.pkl", pickle.dumps(d, protocol=2)), ("archive/version", b"3\n")):
                z.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), payload)
    data = buf.getvalue()
    out_dir = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=out_dir)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    check_written_file(path, d)


def check_written_file(path, d=None):
    """Verifies STORED entries, the archive/ layout and (optionally) a round trip through the restricted loader."""
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        names = [i.filename for i in infos]
        for i in infos:
            if i.compress_type != zipfile.ZIP_STORED:
                raise ValueError(f"{path}: zip entry {i.filename} is not STORED")
        if "archive/data.pkl" not in names:
            raise ValueError(f"{path}: no archive/data.pkl entry ({names})")
        if z.read("archive/data.pkl")[:2] != b"\x80\x02":
            raise ValueError(f"{path}: data.pkl is not pickle protocol 2")
    back = load_mcunet_pkl(path)
    if d is not None and not _same(back, d):
        raise ValueError(f"{path}: reloaded model differs from the written dict")
    return back


def _same(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and a.shape == b.shape and np.array_equal(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a.keys()) == list(b.keys()) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b
