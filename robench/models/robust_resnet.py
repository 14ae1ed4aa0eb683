"""Robust ResNets of "Can CNNs Be More Robust Than Transformers?" (Wang et al., ICLR 2023).

Why this module exists: robench benchmarks the paper's four CNNs next to ViTs, so they must be
ordinary timm models (``timm.create_model("robust_resnet_dw_small")``, pretrained configs that drive
preprocessing, ``features_only``) and must load the released checkpoints with ``strict=True``.
Written from the paper and its released checkpoints' key names (github.com/UCSC-VLAA/RobustCNN), not copied.

Architecture, common to all four: a 16x16/16 "patchify" conv stem (no norm, no act), four stages of
residual blocks at widths 96/192/384/768 that stay at stride 16 until a single stride-2 depthwise
conv (first block of stage 3; last block of stage 2 for Down-Inverted), then pool -> dropout -> fc.
The blocks live in :mod:`robench.models.robust_resnet_blocks`.

Registered names:
  paper:     robust_resnet_dw_small, robust_resnet_inverted_dw_small,
             robust_resnet_up_inverted_dw_small, robust_resnet_down_inverted_dw_small
  NOT paper: robust_resnet_dw_tiny (a narrower, shallower DW model for quick CPU runs) and
             test_robust_resnet (a toy for tests and the demo; 64 px input). Their numbers are ours.
"""
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import ClassifierHead, get_act_layer, get_norm_layer
from timm.models import build_model_with_cfg, checkpoint_seq, generate_default_cfgs, register_model

from robench.models.robust_resnet_blocks import BLOCK_TYPES, RobustResNetBlock

__all__ = ['RobustResNet', 'RobustResNetStage', 'checkpoint_filter_fn']


class RobustResNetStage(nn.Module):
    """A run of blocks at one width. Exists so state-dict keys read ``stages.i.blocks.j``."""

    def __init__(self, blocks: List[RobustResNetBlock]):
        super().__init__()
        self.grad_checkpointing = False
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.grad_checkpointing and not torch.jit.is_scripting():
            return checkpoint_seq(self.blocks, x)
        return self.blocks(x)


def _linear_drop_path_rates(rate: float, n: int) -> List[float]:
    # Plain Python, not torch.linspace: keeps the model buildable under ``torch.device("meta")``.
    return [rate * i / (n - 1) if n > 1 else 0. for i in range(n)]


def _build_stages(block_cls, depths, dims, in_chs, reduction, downsample_at, drop_path_rate, block_kwargs):
    """Stack the stages; return them, timm ``feature_info`` and the final width.

    ``downsample_at=(stage, block)`` names the one block whose dw conv (and shortcut) strides by 2;
    ``block`` may be negative (-1 = last block of that stage), which is how Down-Inverted is built.
    """
    stride_stage, stride_block = downsample_at
    n_stages = len(depths)
    if not (0 <= stride_stage < n_stages and -depths[stride_stage] <= stride_block < depths[stride_stage]):
        raise ValueError(f'downsample_at={tuple(downsample_at)} names no block of depths {tuple(depths)}')
    stride_block %= depths[stride_stage]
    rates = _linear_drop_path_rates(drop_path_rate, sum(depths))
    stages, feature_info, block_idx = [], [], 0
    for stage_idx, (depth, dim) in enumerate(zip(depths, dims)):
        blocks = []
        for i in range(depth):
            stride = 2 if (stage_idx, i) == (stride_stage, stride_block) else 1
            blocks.append(block_cls(in_chs, dim, stride=stride, drop_path=rates[block_idx], **block_kwargs))
            in_chs = block_cls.output_channels(dim, block_kwargs['mlp_ratio'])
            reduction *= stride
            block_idx += 1
        stages.append(RobustResNetStage(blocks))
        feature_info.append(dict(num_chs=in_chs, reduction=reduction, module=f'stages.{stage_idx}'))
    return nn.Sequential(*stages), feature_info, in_chs


class RobustResNet(nn.Module):
    """Patchify stem -> 4 stages of one block type -> avg pool -> dropout -> ``head.fc``.

    Defaults build robust_resnet_dw_small. ``layer_scale_init_value`` defaults to 0 (off) because
    the paper's published commands turn it off and the released checkpoints have no layer scale.
    """

    def __init__(
            self,
            block_type: str = 'dw',
            depths: Sequence[int] = (3, 4, 12, 3),
            dims: Sequence[int] = (96, 192, 384, 768),
            kernel_size: int = 11,
            mlp_ratio: float = 4.,
            patch_size: int = 16,
            downsample_at: Tuple[int, int] = (3, 0),
            in_chans: int = 3,
            num_classes: int = 1000,
            global_pool: str = 'avg',
            drop_rate: float = 0.,
            drop_path_rate: float = 0.,
            layer_scale_init_value: float = 0.,
            norm_layer: Any = nn.BatchNorm2d,
            act_layer: Any = nn.ReLU,
    ):
        super().__init__()
        if block_type not in BLOCK_TYPES:
            raise ValueError(f'block_type {block_type!r} is not one of {sorted(BLOCK_TYPES)}')
        if len(depths) != len(dims):
            raise ValueError(f'depths {tuple(depths)} and dims {tuple(dims)} must have the same length')
        self.num_classes = num_classes
        self.in_chans = in_chans
        self.drop_rate = drop_rate
        self.grad_checkpointing = False

        self.stem = nn.Conv2d(in_chans, dims[0], kernel_size=patch_size, stride=patch_size)
        block_kwargs = dict(
            mlp_ratio=mlp_ratio, kernel_size=kernel_size, layer_scale_init_value=layer_scale_init_value,
            norm_layer=get_norm_layer(norm_layer), act_layer=get_act_layer(act_layer))
        self.stages, self.feature_info, self.num_features = _build_stages(
            BLOCK_TYPES[block_type], depths, dims, dims[0], patch_size, downsample_at, drop_path_rate,
            block_kwargs)
        self.head_hidden_size = self.num_features
        self.head = ClassifierHead(self.num_features, num_classes, pool_type=global_pool, drop_rate=drop_rate)
        self._init_weights()

    def _init_weights(self) -> None:
        """ResNet init as in the paper's code: Kaiming (fan_out) convs, unit BN, default Linear."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    @torch.jit.ignore
    def group_matcher(self, coarse: bool = False) -> Dict[str, Any]:
        return dict(
            stem=r'^stem',
            blocks=r'^stages\.(\d+)' if coarse else [(r'^stages\.(\d+)\.blocks\.(\d+)', None)],
        )

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable: bool = True) -> None:
        self.grad_checkpointing = enable
        for stage in self.stages:
            stage.grad_checkpointing = enable

    @torch.jit.ignore
    def get_classifier(self) -> nn.Module:
        return self.head.fc

    def reset_classifier(self, num_classes: int, global_pool: Optional[str] = None) -> None:
        self.num_classes = num_classes
        self.head.reset(num_classes, pool_type=global_pool)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x))

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        return self.head(x, pre_logits=True) if pre_logits else self.head(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


_WRAPPER_KEYS = ('state_dict_ema', 'model_ema', 'state_dict', 'model')


def checkpoint_filter_fn(state_dict: Mapping[str, Any], model: Optional[nn.Module] = None) -> Dict[str, Any]:
    """Turn a released/trainer checkpoint into this model's state dict.

    Checkpoints come wrapped (timm: ``state_dict``/``state_dict_ema``; DeiT: ``model``) and, when
    saved from DDP, with ``module.`` prefixes. EMA weights win when present, as in timm's own
    ``load_state_dict``, so a file gives the same weights whichever loader opens it. The key names
    themselves already match (the model was built to the released names), so nothing is renamed.
    """
    for key in _WRAPPER_KEYS:
        inner = state_dict.get(key) if isinstance(state_dict, Mapping) else None
        if isinstance(inner, Mapping):
            state_dict = inner
            break
    return {(k[len('module.'):] if k.startswith('module.') else k): v for k, v in state_dict.items()}


def _cfg(**kwargs) -> Dict[str, Any]:
    """No ``url``/``hf_hub_id``: the released weights are not on a hub, so nothing ever downloads;
    load them with ``pretrained=True, pretrained_cfg_overlay=dict(file=PATH)``."""
    return {
        'url': '', 'num_classes': 1000, 'input_size': (3, 224, 224), 'pool_size': (7, 7),
        'crop_pct': 0.875, 'interpolation': 'bicubic',
        'mean': IMAGENET_DEFAULT_MEAN, 'std': IMAGENET_DEFAULT_STD,
        'first_conv': 'stem', 'classifier': 'head.fc',
        'paper_ids': 'arXiv:2206.03452', 'paper_name': 'Can CNNs Be More Robust Than Transformers?',
        'origin_url': 'https://github.com/UCSC-VLAA/RobustCNN',
        **kwargs,
    }


default_cfgs = generate_default_cfgs({
    'robust_resnet_dw_small': _cfg(),
    'robust_resnet_inverted_dw_small': _cfg(),
    'robust_resnet_up_inverted_dw_small': _cfg(),
    'robust_resnet_down_inverted_dw_small': _cfg(),
    'robust_resnet_dw_tiny': _cfg(notes=('not from the paper: a small DW variant for CPU runs',)),
    'test_robust_resnet': _cfg(
        input_size=(3, 64, 64), pool_size=(2, 2),
        notes=('not from the paper: a toy for tests and the demo',)),
})

# Shared by the paper's four "small" models.
_SMALL = dict(dims=(96, 192, 384, 768), patch_size=16, mlp_ratio=4.)


def _create(variant: str, pretrained: bool, model_args: Dict[str, Any], kwargs: Dict[str, Any]):
    """Build through timm so pretrained cfgs, ``features_only`` and checkpoint files all work.
    Caller kwargs override the variant's arguments (handy for tiny variants in tests)."""
    return build_model_with_cfg(
        RobustResNet, variant, pretrained,
        pretrained_filter_fn=checkpoint_filter_fn,
        feature_cfg=dict(out_indices=(0, 1, 2, 3), flatten_sequential=True),
        **{**model_args, **kwargs},
    )


@register_model
def robust_resnet_dw_small(pretrained: bool = False, **kwargs) -> RobustResNet:
    """Paper's Robust-ResNet-DW-S: DW bottleneck, k=11, depths 3-4-12-3. 38.56M params, 4.47 GMACs."""
    args = dict(_SMALL, block_type='dw', depths=(3, 4, 12, 3), kernel_size=11)
    return _create('robust_resnet_dw_small', pretrained, args, kwargs)


@register_model
def robust_resnet_inverted_dw_small(pretrained: bool = False, **kwargs) -> RobustResNet:
    """Paper's Inverted-DW-S: dw conv in the wide middle, k=7, depths 3-4-14-3. 33.62M, 4.57 GMACs."""
    args = dict(_SMALL, block_type='inverted_dw', depths=(3, 4, 14, 3), kernel_size=7)
    return _create('robust_resnet_inverted_dw_small', pretrained, args, kwargs)


@register_model
def robust_resnet_up_inverted_dw_small(pretrained: bool = False, **kwargs) -> RobustResNet:
    """Paper's Up-Inverted-DW-S: dw conv first, k=11, depths 3-4-14-3. 34.43M, 4.42 GMACs."""
    args = dict(_SMALL, block_type='up_inverted_dw', depths=(3, 4, 14, 3), kernel_size=11)
    return _create('robust_resnet_up_inverted_dw_small', pretrained, args, kwargs)


@register_model
def robust_resnet_down_inverted_dw_small(pretrained: bool = False, **kwargs) -> RobustResNet:
    """Paper's Down-Inverted-DW-S: dw conv last, k=11, depths 3-4-15-3, stride in stage 2's last
    block. 34.32M, 4.53 GMACs."""
    args = dict(_SMALL, block_type='down_inverted_dw', depths=(3, 4, 15, 3), kernel_size=11,
                downsample_at=(2, -1))
    return _create('robust_resnet_down_inverted_dw_small', pretrained, args, kwargs)


@register_model
def robust_resnet_dw_tiny(pretrained: bool = False, **kwargs) -> RobustResNet:
    """NOT from the paper: the DW design at widths 64-512 and depths 2-2-6-2, for CPU experiments."""
    args = dict(block_type='dw', depths=(2, 2, 6, 2), dims=(64, 128, 256, 512), kernel_size=11)
    return _create('robust_resnet_dw_tiny', pretrained, args, kwargs)


@register_model
def test_robust_resnet(pretrained: bool = False, **kwargs) -> RobustResNet:
    """NOT from the paper: a toy DW model (widths 8-64, one block per stage, k=5, 64 px input) that
    runs in milliseconds on a CPU, for tests and the demo."""
    args = dict(block_type='dw', depths=(1, 1, 1, 1), dims=(8, 16, 32, 64), kernel_size=5)
    return _create('test_robust_resnet', pretrained, args, kwargs)
