"""Float MobileNetV2-style backbone (the paper's mbv2-w0.35 block structure) and BN folding into a `FloatNet`.

`MBV2` is the trainable PyTorch model: 3->16 stride-2 3x3 stem, inverted-residual blocks (pointwise1 -> depthwise ->
linear pointwise2, identity shortcut when stride 1 and cin == cout, no activation after the add), no feature_mix,
global average pool and a 1x1 conv classifier. ReLU6 after the stem, pointwise1 and depthwise; BN after every conv.

`FloatNet` is the architecture-neutral description that the PTQ code (ptq.py) consumes: BN folded into each conv
(weight OIHW float32 + bias), in the layout of the MCUNetV3 .pkl. Any model that can be expressed as
first_conv, blocks of (pointwise1?, depthwise, pointwise2, residual?), classifier can be converted with
`fold_bn` + `FloatConv` + `FloatNet` (see docs/pytorch-to-tte.md).
"""
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# (cin, mid, cout, depthwise kernel, stride) of mbv2-w0.35 (../shared/models/mcu_models_structure.json); block 0 has
# no pointwise1 (mid == cin). A block has an identity residual iff stride == 1 and cin == cout.
MBV2_W035_BLOCKS = [
    (16, 16, 8, 3, 1), (8, 48, 8, 3, 2), (8, 48, 8, 3, 1), (8, 48, 16, 3, 2), (16, 96, 16, 3, 1), (16, 96, 16, 3, 1),
    (16, 96, 24, 3, 2), (24, 144, 24, 3, 1), (24, 144, 24, 3, 1), (24, 144, 24, 3, 1), (24, 144, 32, 3, 1),
    (32, 192, 32, 3, 1), (32, 192, 32, 3, 1), (32, 192, 56, 3, 2), (56, 336, 56, 3, 1), (56, 336, 56, 3, 1),
    (56, 336, 112, 3, 1),
]
STEM_CHANNELS = 16


class ConvBN(nn.Sequential):
    """conv (no bias) + BN (+ ReLU6). Padding (k-1)//2 as in the .pkl convention."""

    def __init__(self, cin, cout, k, stride=1, groups=1, relu6=True):
        layers = [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
        if relu6:
            layers.append(nn.ReLU6(inplace=True))
        super().__init__(*layers)
        self.relu6 = relu6


class InvertedResidual(nn.Module):
    def __init__(self, cin, mid, cout, k, stride, first=False):
        super().__init__()
        self.pointwise1 = None if first else ConvBN(cin, mid, 1)
        self.depthwise = ConvBN(mid, mid, k, stride, groups=mid)
        self.pointwise2 = ConvBN(mid, cout, 1, relu6=False)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = x if self.pointwise1 is None else self.pointwise1(x)
        y = self.pointwise2(self.depthwise(y))
        return x + y if self.residual else y


class MBV2(nn.Module):
    """Trainable float backbone with the mbv2-w0.35 block list and a 1x1-conv classifier."""

    def __init__(self, num_classes, blocks=MBV2_W035_BLOCKS, stem=STEM_CHANNELS):
        super().__init__()
        self.first_conv = ConvBN(3, stem, 3, 2)
        self.blocks = nn.ModuleList(
            [InvertedResidual(cin, mid, cout, k, s, first=(i == 0)) for i, (cin, mid, cout, k, s) in enumerate(blocks)])
        self.classifier = nn.Conv2d(blocks[-1][2], num_classes, 1, bias=True)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        for b in self.blocks:  # zero-init the last BN of residual blocks: the block starts as identity
            if b.residual:
                nn.init.zeros_(b.pointwise2[1].weight)

    def forward(self, x):
        x = self.first_conv(x)
        for b in self.blocks:
            x = b(x)
        x = F.adaptive_avg_pool2d(x, 1)
        return self.classifier(x).flatten(1)


# ---- BN folding ----------------------------------------------------------------------------------------------------

@dataclass
class FloatConv:
    """A conv with BN folded in: y = act(conv2d(x, weight, stride, pad=(k-1)//2, groups) + bias)."""
    weight: np.ndarray  # float32 OIHW
    bias: np.ndarray  # float32 [Cout]
    stride: int = 1
    groups: int = 1
    relu6: bool = False


@dataclass
class FloatBlock:
    pointwise1: Optional[FloatConv]
    depthwise: FloatConv
    pointwise2: FloatConv
    residual: bool


@dataclass
class FloatNet:
    """BN-folded float network in .pkl layout: first_conv, blocks, optional feature_mix conv (typically a 1x1 conv
    + ReLU6), global avg pool, 1x1 classifier (no activation)."""
    first_conv: FloatConv
    blocks: List[FloatBlock] = field(default_factory=list)
    classifier: Optional[FloatConv] = None
    feature_mix: Optional[FloatConv] = None

    def convs(self):
        """Forward-order conv list (tte's conv index convention; classifier last)."""
        out = [self.first_conv]
        for b in self.blocks:
            out += [c for c in (b.pointwise1, b.depthwise, b.pointwise2) if c is not None]
        return out + ([self.feature_mix] if self.feature_mix is not None else []) + [self.classifier]


def fold_bn(conv, bn=None, relu6=False):
    """Folds an eval-mode BatchNorm2d into the preceding nn.Conv2d. Returns a FloatConv (float32 numpy).

    W' = W * gamma / sqrt(var + eps) per output channel, b' = (b - mean) * gamma / sqrt(var + eps) + beta.
    Folding is done in float64 and cast once. `bn=None` keeps the conv as is (bias 0 if it has none).
    """
    if conv.dilation != (1, 1) or conv.padding != ((conv.kernel_size[0] - 1) // 2,) * 2:
        raise ValueError("only dilation 1 and padding (k-1)//2 are representable in the .pkl format")
    if conv.kernel_size[0] != conv.kernel_size[1] or conv.stride[0] != conv.stride[1]:
        raise ValueError("only square kernels and strides are supported")
    w = conv.weight.detach().double()
    b = conv.bias.detach().double() if conv.bias is not None else torch.zeros(w.shape[0], dtype=torch.float64)
    if bn is not None:
        g = bn.weight.detach().double() if bn.affine else torch.ones_like(b)
        beta = bn.bias.detach().double() if bn.affine else torch.zeros_like(b)
        inv = g / torch.sqrt(bn.running_var.detach().double() + bn.eps)
        w = w * inv.view(-1, 1, 1, 1)
        b = (b - bn.running_mean.detach().double()) * inv + beta
    return FloatConv(w.float().numpy(), b.float().numpy(), int(conv.stride[0]), int(conv.groups), bool(relu6))


def fold_linear(linear):
    """nn.Linear(C, K) classifier -> FloatConv 1x1 (K, C, 1, 1): the .pkl head is a 1x1 conv after the avg pool."""
    w = linear.weight.detach().float().numpy().reshape(linear.out_features, linear.in_features, 1, 1)
    b = (linear.bias.detach().float().numpy() if linear.bias is not None
         else np.zeros(linear.out_features, dtype=np.float32))
    return FloatConv(np.ascontiguousarray(w), b.astype(np.float32))


def _fold_convbn(m):
    return fold_bn(m[0], m[1], relu6=m.relu6)


def fold_mbv2(model):
    """MBV2 (eval mode) -> FloatNet."""
    blocks = [FloatBlock(_fold_convbn(b.pointwise1) if b.pointwise1 is not None else None, _fold_convbn(b.depthwise),
                         _fold_convbn(b.pointwise2), b.residual) for b in model.blocks]
    return FloatNet(_fold_convbn(model.first_conv), blocks, fold_bn(model.classifier))


def float_conv(x, c):
    """Float forward of one FloatConv on a torch tensor (ReLU6 if c.relu6)."""
    k = c.weight.shape[2]
    y = F.conv2d(x, torch.from_numpy(c.weight), torch.from_numpy(c.bias), c.stride, (k - 1) // 2, 1, c.groups)
    return torch.clamp(y, 0.0, 6.0) if c.relu6 else y


def float_forward(net, x, observe=None):
    """Float forward of a FloatNet. `observe(name, tensor)` is called on every tensor that gets int8 params.

    Names: first_conv, blocks.{i}.{pointwise1,depthwise,pointwise2,residual}, feature_mix, classifier.
    """
    obs = observe or (lambda n, t: None)
    x = float_conv(x, net.first_conv)
    obs("first_conv", x)
    for i, b in enumerate(net.blocks):
        y = x
        for name in ("pointwise1", "depthwise", "pointwise2"):
            c = getattr(b, name)
            if c is not None:
                y = float_conv(y, c)
                obs(f"blocks.{i}.{name}", y)
        if b.residual:
            y = x + y
            obs(f"blocks.{i}.residual", y)
        x = y
    if net.feature_mix is not None:
        x = float_conv(x, net.feature_mix)
        obs("feature_mix", x)
    x = x.mean(dim=(2, 3), keepdim=True)
    x = float_conv(x, net.classifier)
    obs("classifier", x)
    return x.flatten(1)
