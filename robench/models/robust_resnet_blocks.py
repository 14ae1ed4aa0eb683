"""The four residual blocks of "Can CNNs Be More Robust Than Transformers?" (ICLR 2023).

The paper asks which of three ViT-inspired changes make a CNN as robust as a ViT: patchify stem,
large depthwise kernels, and fewer activations/norms. Each block below therefore has exactly ONE
BatchNorm and ONE ReLU, and differs from its siblings only in WHERE the depthwise conv sits
relative to the two 1x1 convs. The attribute names (``pwconv1``, ``norm1``/``norm2``, ``conv_dw``,
``pwconv2``, ``downsample``, ``gamma``) are fixed by the released checkpoints, which must load with
``strict=True``; do not rename them.
"""
from typing import Callable, Dict, Type

import torch
import torch.nn as nn
from timm.layers import DropPath, create_act_layer

__all__ = [
    'RobustResNetBlock', 'DWBlock', 'InvertedDWBlock', 'UpInvertedDWBlock', 'DownInvertedDWBlock',
    'BLOCK_TYPES', 'make_shortcut',
]


def make_shortcut(in_chs: int, out_chs: int, stride: int, norm_layer: Callable[..., nn.Module]) -> nn.Module:
    """1x1 conv (+bias) then BN where the residual changes shape, identity otherwise.

    The released checkpoints hold ``downsample.0`` (conv) and ``downsample.1`` (BN), so this is a
    plain ``nn.Sequential``. Identity (not ``None``) keeps ``forward`` free of branches, which
    TorchScript and FX both prefer.
    """
    if in_chs == out_chs and stride == 1:
        return nn.Identity()
    return nn.Sequential(
        nn.Conv2d(in_chs, out_chs, kernel_size=1, stride=stride, bias=True),
        norm_layer(out_chs),
    )


class RobustResNetBlock(nn.Module):
    """Shared residual plumbing: optional layer scale, drop path, shortcut.

    Subclasses build their own residual branch, then call ``_init_residual``; they differ in
    what ``output_channels`` returns (the DW block expands its output 4x, the inverted ones
    expand only inside).
    """

    @staticmethod
    def output_channels(dim: int, mlp_ratio: float) -> int:
        return dim

    def _init_residual(
            self, in_chs: int, out_chs: int, stride: int, drop_path: float,
            layer_scale_init_value: float, norm_layer: Callable[..., nn.Module]) -> None:
        # Layer scale is off in the paper's published runs (init 0), so released checkpoints
        # have no ``gamma``; a positive init adds it, shaped (out_chs,) as in the paper's code.
        if layer_scale_init_value > 0:
            self.gamma = nn.Parameter(layer_scale_init_value * torch.ones(out_chs))
        else:
            self.gamma = None
        self.drop_path = DropPath(drop_path) if drop_path > 0. else nn.Identity()
        self.downsample = make_shortcut(in_chs, out_chs, stride, norm_layer)

    def _add_residual(self, branch: torch.Tensor, shortcut: torch.Tensor) -> torch.Tensor:
        if self.gamma is not None:
            branch = branch * self.gamma.reshape(1, -1, 1, 1)
        return self.drop_path(branch) + self.downsample(shortcut)


class DWBlock(RobustResNetBlock):
    """ResNet bottleneck with its 3x3 replaced by a large depthwise conv (paper's "DW").

    1x1 (in->d) -> BN -> dw kxk (d, stride) -> 1x1 (d->4d) -> +shortcut -> ReLU. The ReLU after the
    add is the block's only activation, as in a classic ResNet bottleneck's last ReLU.
    """

    @staticmethod
    def output_channels(dim: int, mlp_ratio: float) -> int:
        return int(mlp_ratio * dim)

    def __init__(self, in_chs, dim, mlp_ratio=4., kernel_size=11, stride=1, drop_path=0.,
                 layer_scale_init_value=0., norm_layer=nn.BatchNorm2d, act_layer=nn.ReLU):
        super().__init__()
        out_chs = self.output_channels(dim, mlp_ratio)
        self.pwconv1 = nn.Conv2d(in_chs, dim, kernel_size=1)
        self.norm1 = norm_layer(dim)
        self.conv_dw = nn.Conv2d(
            dim, dim, kernel_size, stride=stride, padding=kernel_size // 2, groups=dim)
        self.pwconv2 = nn.Conv2d(dim, out_chs, kernel_size=1)
        self.act3 = create_act_layer(act_layer, inplace=True)
        self._init_residual(in_chs, out_chs, stride, drop_path, layer_scale_init_value, norm_layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pwconv2(self.conv_dw(self.norm1(self.pwconv1(x))))
        return self.act3(self._add_residual(y, x))


class InvertedDWBlock(RobustResNetBlock):
    """Inverted bottleneck, dw conv in the wide middle (MobileNetV2 order; paper's "Inverted DW").

    1x1 (in->4d) -> BN -> ReLU -> dw kxk (4d, stride) -> 1x1 (4d->d) -> +shortcut.
    """

    def __init__(self, in_chs, dim, mlp_ratio=4., kernel_size=7, stride=1, drop_path=0.,
                 layer_scale_init_value=0., norm_layer=nn.BatchNorm2d, act_layer=nn.ReLU):
        super().__init__()
        hidden = int(mlp_ratio * dim)
        self.pwconv1 = nn.Conv2d(in_chs, hidden, kernel_size=1)
        self.norm1 = norm_layer(hidden)
        self.act1 = create_act_layer(act_layer, inplace=True)
        self.conv_dw = nn.Conv2d(
            hidden, hidden, kernel_size, stride=stride, padding=kernel_size // 2, groups=hidden)
        self.pwconv2 = nn.Conv2d(hidden, dim, kernel_size=1)
        self._init_residual(in_chs, dim, stride, drop_path, layer_scale_init_value, norm_layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pwconv2(self.conv_dw(self.act1(self.norm1(self.pwconv1(x)))))
        return self._add_residual(y, x)


class UpInvertedDWBlock(RobustResNetBlock):
    """Inverted bottleneck with the dw conv moved up to the narrow input (ConvNeXt order).

    dw kxk (in->d, stride) -> BN -> 1x1 (d->4d) -> ReLU -> 1x1 (4d->d) -> +shortcut. Where the
    width changes between stages, the dw conv has ``groups=in_chs`` and a channel multiplier
    ``d / in``, so ``d`` must be a multiple of ``in``.
    """

    def __init__(self, in_chs, dim, mlp_ratio=4., kernel_size=11, stride=1, drop_path=0.,
                 layer_scale_init_value=0., norm_layer=nn.BatchNorm2d, act_layer=nn.ReLU):
        super().__init__()
        if dim % in_chs:
            raise ValueError(f'UpInvertedDWBlock needs dim ({dim}) to be a multiple of in_chs ({in_chs})')
        hidden = int(mlp_ratio * dim)
        self.conv_dw = nn.Conv2d(
            in_chs, dim, kernel_size, stride=stride, padding=kernel_size // 2, groups=in_chs)
        self.norm1 = norm_layer(dim)
        self.pwconv1 = nn.Conv2d(dim, hidden, kernel_size=1)
        self.act2 = create_act_layer(act_layer, inplace=True)
        self.pwconv2 = nn.Conv2d(hidden, dim, kernel_size=1)
        self._init_residual(in_chs, dim, stride, drop_path, layer_scale_init_value, norm_layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pwconv2(self.act2(self.pwconv1(self.norm1(self.conv_dw(x)))))
        return self._add_residual(y, x)


class DownInvertedDWBlock(RobustResNetBlock):
    """Inverted bottleneck with the dw conv moved down to the narrow output.

    1x1 (in->4d) -> BN -> ReLU -> 1x1 (4d->d) -> dw kxk (d, stride) -> +shortcut. Because the dw
    conv comes last, the paper strides in the LAST block of the stage before (see the model's
    ``downsample_at``). The BN is named ``norm2`` in the released checkpoints.
    """

    def __init__(self, in_chs, dim, mlp_ratio=4., kernel_size=11, stride=1, drop_path=0.,
                 layer_scale_init_value=0., norm_layer=nn.BatchNorm2d, act_layer=nn.ReLU):
        super().__init__()
        hidden = int(mlp_ratio * dim)
        self.pwconv1 = nn.Conv2d(in_chs, hidden, kernel_size=1)
        self.norm2 = norm_layer(hidden)
        self.act2 = create_act_layer(act_layer, inplace=True)
        self.pwconv2 = nn.Conv2d(hidden, dim, kernel_size=1)
        self.conv_dw = nn.Conv2d(
            dim, dim, kernel_size, stride=stride, padding=kernel_size // 2, groups=dim)
        self._init_residual(in_chs, dim, stride, drop_path, layer_scale_init_value, norm_layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv_dw(self.pwconv2(self.act2(self.norm2(self.pwconv1(x)))))
        return self._add_residual(y, x)


# Model configs name their block by these keys, so a config stays plain data (str, ints).
BLOCK_TYPES: Dict[str, Type[RobustResNetBlock]] = {
    'dw': DWBlock,
    'inverted_dw': InvertedDWBlock,
    'up_inverted_dw': UpInvertedDWBlock,
    'down_inverted_dw': DownInvertedDWBlock,
}
