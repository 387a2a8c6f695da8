#!/usr/bin/python3
"""Makes tests/data/fixtures/pil_fixtures.npz: Pillow's outputs for tte's image tests.

Run with Debian's Python and Pillow 9.4 (python3-pil):
    /usr/bin/python3 tests/data/gen_resize_fixtures.py
The inputs are our own random images (numpy default_rng, fixed seeds), so the file is small and free
of third-party data. Keys (all uint8 images are H x W x C):
  r<i>_in, r<i>_out, r<i>_box (float32 x0,y0,x1,y1)  Image.resize((W, H), Image.BILINEAR, box)
  j<i>_in, j<i>_out, j<i>_op (int32: 0 brightness, 1 contrast, 2 saturation), j<i>_factor (float32)
      ImageEnhance.{Brightness, Contrast, Color}(img).enhance(factor), what torchvision's
      ColorJitter calls on PIL images
  v<i>_in, v<i>_out, v<i>_r (int32)  the reference's val transform: torchvision
      Resize(ceil(r / 0.875)) (shorter side, bilinear) then CenterCrop(r), written out with PIL
"""
import math
import os
import sys

import numpy as np
import PIL
from PIL import Image, ImageEnhance

if not PIL.__version__.startswith("9.4"):
    sys.exit(f"need Pillow 9.4 (Debian 12 python3-pil), found {PIL.__version__}")

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "pil_fixtures.npz")


def to_pil(a):
    return Image.fromarray(a[:, :, 0], "L") if a.shape[2] == 1 else Image.fromarray(a, "RGB")


def to_arr(im):
    a = np.asarray(im, dtype=np.uint8)
    return a[:, :, None] if a.ndim == 2 else a


def rand_img(rng, w, h, c):
    return rng.integers(0, 256, size=(h, w, c), dtype=np.uint8)


def main():
    rng = np.random.default_rng(20240521)
    out = {}
    # (in_w, in_h, channels, out_w, out_h, box or None)
    resize_cases = [
        (28, 28, 1, 128, 128, None),      # Fashion-MNIST upscale
        (28, 28, 3, 37, 41, None),
        (300, 200, 1, 128, 128, None),    # large downscale, non-square
        (150, 100, 3, 7, 5, None),        # extreme downscale
        (7, 5, 3, 13, 11, None),          # odd upscale
        (13, 11, 1, 4, 3, None),          # odd downscale
        (17, 9, 3, 17, 23, None),         # vertical pass only
        (19, 19, 1, 5, 19, None),         # horizontal pass only
        (1, 1, 3, 3, 3, None),
        (5, 1, 1, 1, 5, None),
        (64, 48, 3, 29, 33, (3.5, 2.25, 50.75, 40.0)),  # fractional box
        (20, 20, 3, 10, 10, (2, 3, 12, 13)),            # integer box of the output size (crop)
        (40, 30, 3, 16, 16, (10, 5, 40, 30)),           # integer box, rescaled
        (200, 3, 1, 3, 2, None),
        (45, 45, 3, 48, 48, (4, 9, 31, 40)),            # RandomResizedCrop-like upscale of a box
    ]
    for i, (w, h, c, ow, oh, box) in enumerate(resize_cases):
        a = rand_img(rng, w, h, c)
        b = box if box is not None else (0, 0, w, h)
        r = to_pil(a).resize((ow, oh), Image.BILINEAR, box=box)
        out[f"r{i}_in"] = a
        out[f"r{i}_out"] = to_arr(r)
        out[f"r{i}_box"] = np.array(b, dtype=np.float32)

    enhancers = [ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color]
    j = 0
    for c in (3, 1):
        for op, enh in enumerate(enhancers):
            for factor in (0.6, 0.8173, 1.0, 1.2391, 1.4):
                a = rand_img(rng, 24, 16, c)
                if op == 1 and factor == 1.2391:
                    a = (a // 4 + 150).astype(np.uint8)  # bright, low contrast: mean far from 128
                factor = float(np.float32(factor))
                r = enh(to_pil(a)).enhance(factor)
                out[f"j{j}_in"] = a
                out[f"j{j}_out"] = to_arr(r)
                out[f"j{j}_op"] = np.array(op, dtype=np.int32)
                out[f"j{j}_factor"] = np.array(factor, dtype=np.float32)
                j += 1

    for i, (w, h, c, r) in enumerate([(28, 28, 1, 128), (40, 30, 3, 32), (21, 50, 3, 24),
                                      (33, 33, 3, 28)]):
        a = rand_img(rng, w, h, c)
        s = int(math.ceil(r / 0.875))
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = s, int(s * long / short)
        nw, nh = (new_short, new_long) if w <= h else (new_long, new_short)
        im = to_pil(a)
        if (nw, nh) != (w, h):
            im = im.resize((nw, nh), Image.BILINEAR)
        top = int(round((nh - r) / 2.0))
        left = int(round((nw - r) / 2.0))
        im = im.crop((left, top, left + r, top + r))
        out[f"v{i}_in"] = a
        out[f"v{i}_out"] = to_arr(im)
        out[f"v{i}_r"] = np.array(r, dtype=np.int32)

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    tmp = OUT + ".tmp.npz"
    np.savez_compressed(tmp, **out)
    os.replace(tmp, OUT)
    print(f"wrote {OUT}: {len(resize_cases)} resize, {j} enhance, 4 val-transform cases, "
          f"{os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()
