"""Unit tests for the backbone tools (PTQ conventions, .pkl writer, simulator), and the docs/pytorch-to-tte.md recipe.

Run: /usr/bin/python3 -m unittest tools/backbone/test_backbone_tools.py   (about a minute; no ../shared needed,
except the round-trip test of the reference models, which is skipped when ../shared is absent).
"""
import os
import sys
import tempfile
import unittest
import zipfile

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import int8_sim  # noqa: E402
import mcunet_pkl  # noqa: E402
import ptq  # noqa: E402
from mbv2 import FloatBlock, FloatNet, MBV2, fold_bn, fold_linear, fold_mbv2, float_forward  # noqa: E402

SHARED = os.path.abspath(os.path.join(HERE, "..", "..", "..", "shared"))


class TinyUserNet(nn.Module):
    """A user's own MobileNetV2-like model with a different attribute layout, a feature_mix conv and a Linear head."""

    def __init__(self):
        super().__init__()
        def cbr(cin, cout, k, s=1, g=1):
            return nn.Sequential(nn.Conv2d(cin, cout, k, s, k // 2, groups=g, bias=False), nn.BatchNorm2d(cout),
                                 nn.ReLU6())
        self.stem = cbr(3, 8, 3, 2)
        self.b0_dw, self.b0_pw = cbr(8, 8, 3, 1, 8), nn.Sequential(nn.Conv2d(8, 8, 1, bias=False), nn.BatchNorm2d(8))
        self.b1_exp, self.b1_dw = cbr(8, 24, 1), cbr(24, 24, 5, 2, 24)
        self.b1_pw = nn.Sequential(nn.Conv2d(24, 16, 1, bias=False), nn.BatchNorm2d(16))
        self.mix = cbr(16, 32, 1)
        self.fc = nn.Linear(32, 3)

    def forward(self, x):
        x = self.stem(x)
        x = x + self.b0_pw(self.b0_dw(x))
        x = self.b1_pw(self.b1_dw(self.b1_exp(x)))
        x = self.mix(x).mean(dim=(2, 3))
        return self.fc(x)


def describe_tiny(m):
    """The docs recipe: express the model as a FloatNet with fold_bn."""
    f = lambda seq, act: fold_bn(seq[0], seq[1], relu6=act)  # noqa: E731
    return FloatNet(
        first_conv=f(m.stem, True),
        blocks=[FloatBlock(None, f(m.b0_dw, True), f(m.b0_pw, False), residual=True),
                FloatBlock(f(m.b1_exp, True), f(m.b1_dw, True), f(m.b1_pw, False), residual=False)],
        feature_mix=f(m.mix, True),
        classifier=fold_linear(m.fc))


def randomize_bn(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    for mod in model.modules():
        if isinstance(mod, nn.BatchNorm2d):
            n = mod.num_features
            mod.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
            mod.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            mod.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            mod.bias.data.copy_(torch.randn(n, generator=g) * 0.1 + 0.2)
    return model.eval()


class PtqConventions(unittest.TestCase):
    def test_weights_per_channel_symmetric(self):
        w = np.random.default_rng(0).standard_normal((6, 4, 3, 3)).astype(np.float32)
        w[5] = 0.0
        q, s = ptq.quantize_weights(w)
        self.assertEqual(q.dtype, np.int8)
        self.assertEqual(s.dtype, np.float32)
        np.testing.assert_array_equal(np.abs(q[:5]).reshape(5, -1).max(1), 127)
        self.assertGreaterEqual(q.min(), -127)
        self.assertEqual(s[5], np.float32(0.5e-6 / 127))
        np.testing.assert_allclose(s[:5], np.abs(w[:5]).reshape(5, -1).max(1) / 127, rtol=1e-6)

    def test_bias_saturates(self):
        b = ptq.quantize_bias(np.array([1.0, -1.0, 1e-3], np.float32), np.array([1e-9, 1e-9, 0.01], np.float32), 0.02)
        self.assertEqual(b.dtype, np.int32)
        self.assertEqual(list(b), [2**31 - 1, -2**31, 5])

    def test_activation_params(self):
        self.assertEqual(ptq.relu6_qparams(9.0), (6.0 / 255, -128))
        s, z = ptq.asym_qparams(-1.0, 3.0)
        self.assertAlmostEqual(s, 4.0 / 255)
        self.assertEqual(z, int(np.rint(-128 + 1.0 / s)))
        s, z = ptq.asym_qparams(0.5, 2.0)  # range widened to include 0
        self.assertEqual(z, -128)
        self.assertAlmostEqual(s, 2.0 / 255)


class RecipeEndToEnd(unittest.TestCase):
    def test_user_model_recipe(self):
        torch.manual_seed(0)
        m = randomize_bn(TinyUserNet())
        net = describe_tiny(m)
        x = torch.from_numpy(np.random.default_rng(1).integers(-128, 128, (64, 3, 32, 32)).astype(np.float32))
        xf = x * (2.0 / 255)
        with torch.no_grad():
            ref = m(xf)
            np.testing.assert_allclose(float_forward(net, xf).numpy(), ref.numpy(), atol=1e-4)
        cal = ptq.calibrate(net, [xf[:32]])
        d = ptq.quantize_model(net, cal.ranges("minmax"), in_shape=32)
        self.assertIsNotNone(d["feature_mix"])
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "user.pkl")
            mcunet_pkl.write_mcunet_pkl(d, path)
            with zipfile.ZipFile(path) as z:
                self.assertEqual(sorted(z.namelist()), ["archive/data.pkl", "archive/version"])
                self.assertTrue(all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist()))
            sim = int8_sim.Int8Model(path)
        logits = sim.logits(x.numpy().astype(np.int8))
        real = (logits.astype(np.float32) - d["classifier"]["params"]["y_zero"]) * d["classifier"]["params"]["y_scale"]
        err = np.abs(real - ref.numpy()).max()
        self.assertLess(err, 0.15 * np.abs(ref.numpy()).max())

    def test_mbv2_write_and_validate(self):
        torch.manual_seed(0)
        m = randomize_bn(MBV2(5))
        net = fold_mbv2(m)
        x = torch.from_numpy(np.random.default_rng(2).integers(-128, 128, (4, 3, 128, 128)).astype(np.float32))
        cal = ptq.calibrate(net, [x * (2.0 / 255)])
        d = ptq.quantize_model(net, cal.ranges("p99.99"))
        self.assertEqual(len(d["blocks"]), 17)
        self.assertIsNone(d["blocks"][0]["pointwise1"])
        self.assertEqual(sum(b["residual"] is not None for b in d["blocks"]), 10)
        self.assertEqual(d["classifier"]["params"]["weight"].shape, (5, 112, 1, 1))
        self.assertEqual(d["first_conv"]["params"]["x_scale"], 2.0 / 255)
        self.assertEqual(list(d["blocks"][2].keys()), ["pointwise1", "depthwise", "pointwise2", "residual", "se"])
        for c in [d["first_conv"]] + [b[n] for b in d["blocks"] for n in ("pointwise1", "depthwise") if b[n]]:
            self.assertEqual(c["params"]["y_zero"], -128)
            self.assertLessEqual(c["params"]["y_scale"] * 255, 6.0 + 1e-12)


@unittest.skipUnless(os.path.exists(os.path.join(SHARED, "models", "mbv2-w0.35.pkl")), "../shared not available")
class ReferenceFiles(unittest.TestCase):
    def test_reference_models_validate_and_round_trip(self):
        for net in ("mbv2-w0.35", "mcunet-5fps"):
            d = mcunet_pkl.load_mcunet_pkl(os.path.join(SHARED, "models", f"{net}.pkl"))
            mcunet_pkl.validate_model_dict(d)
            with tempfile.TemporaryDirectory() as tmp:
                mcunet_pkl.write_mcunet_pkl(d, os.path.join(tmp, "m.pkl"))  # re-checks the round trip


if __name__ == "__main__":
    unittest.main()
