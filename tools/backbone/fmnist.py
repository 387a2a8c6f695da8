"""Fashion-MNIST loading and the exact int8 preprocessing that tte uses.

Reads Debian's IDX files (gzip + numpy, no torchvision) and turns 28x28 uint8 images into tte's int8 model input:
PIL bilinear resize to 128x128, grey copied to 3 channels, q = p - 128, CHW. The same mapping made
`../shared/golden/input_fmnist0_int8.npy`; `tte infer`/`tte eval` use it too, so evaluation must go through
`to_int8_input` unchanged. The float model sees x = q * 2/255 (first_conv x_scale = 2/255, x_zero = 0).
"""
import gzip
import os

import numpy as np
from PIL import Image

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"
INPUT_SCALE = 2.0 / 255.0  # first_conv x_scale; x_zero = 0
RESOLUTION = 128


def read_idx(path):
    """Parses an IDX file (optionally gzipped): returns a numpy uint8 array with the stored shape."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic)")
    if data[2] != 0x08:
        raise ValueError(f"{path}: IDX type 0x{data[2]:02x} is not unsigned byte")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    off = 4 + 4 * ndim
    n = int(np.prod(dims)) if dims else 0
    if len(data) - off != n:
        raise ValueError(f"{path}: payload has {len(data) - off} bytes, header says {n}")
    return np.frombuffer(data, dtype=np.uint8, offset=off).reshape(dims)


def load_split(split, classes=None, data_dir=DEFAULT_DIR):
    """Returns (images uint8 [N,28,28], labels int64 [N]) of split 'train' or 't10k', in file order.

    `classes` is an iterable of kept labels (e.g. range(5)); labels keep their original values.
    """
    prefix = {"train": "train", "test": "t10k", "t10k": "t10k"}[split]
    images = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz")).astype(np.int64)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{split}: {images.shape[0]} images but {labels.shape[0]} labels")
    if classes is not None:
        keep = np.isin(labels, np.asarray(list(classes)))
        images, labels = images[keep], labels[keep]
    return images, labels


def parse_classes(text):
    """'0-4' -> [0,1,2,3,4]; '0,2,5' -> [0,2,5]."""
    text = text.strip()
    if "-" in text and "," not in text:
        lo, hi = text.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(t) for t in text.split(",") if t.strip()]


def upscale(img28):
    """uint8 28x28 -> uint8 128x128 with PIL bilinear (the tte preprocessing)."""
    return np.asarray(Image.fromarray(img28).resize((RESOLUTION, RESOLUTION), Image.BILINEAR), dtype=np.uint8)


def upscale_all(images):
    """uint8 [N,28,28] -> uint8 [N,128,128]."""
    out = np.empty((images.shape[0], RESOLUTION, RESOLUTION), dtype=np.uint8)
    for i in range(images.shape[0]):
        out[i] = upscale(images[i])
    return out


def to_int8_input(up128):
    """uint8 [N,128,128] upscaled images -> int8 [N,3,128,128] (q = p - 128, grey copied to 3 channels)."""
    q = (up128.astype(np.int16) - 128).astype(np.int8)
    return np.repeat(q[:, None, :, :], 3, axis=1)


def int8_to_float(q):
    """int8 model input -> float model input x = q * 2/255 (as the quantized first_conv interprets it)."""
    return q.astype(np.float32) * np.float32(INPUT_SCALE)
