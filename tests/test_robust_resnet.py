"""The paper's four CNNs: released checkpoints must load strictly, and the architecture must be the
paper's (sizes, cost, where it downsamples). Full-size models are built on the ``meta`` device,
which checks shapes, parameter counts and MACs without allocating or computing anything."""
import json
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

import robench  # noqa: F401  (registers the models with timm)
import timm
from robench.models.robust_resnet import checkpoint_filter_fn

RELEASED_KEYS = json.loads((Path(__file__).parent / 'data' / 'robust_resnet_state_dicts.json').read_text())
PAPER = {  # name: (params in M, GMACs at 224) as the paper's code reports them
    'robust_resnet_dw_small': (38.56, 4.47),
    'robust_resnet_inverted_dw_small': (33.62, 4.57),
    'robust_resnet_up_inverted_dw_small': (34.43, 4.42),
    'robust_resnet_down_inverted_dw_small': (34.32, 4.53),
}
BLOCK_TYPES = ['dw', 'inverted_dw', 'up_inverted_dw', 'down_inverted_dw']


def meta_model(name, **kwargs):
    with torch.device('meta'):
        return timm.create_model(name, **kwargs).eval()


def tiny(block_type='dw', **kwargs):
    """The toy model with any of the four blocks, for tests that need real numbers."""
    if block_type == 'down_inverted_dw':
        kwargs.setdefault('downsample_at', (2, -1))
    return timm.create_model('test_robust_resnet', block_type=block_type, **kwargs)


def block_output_sizes(model, size):
    """Spatial size after every block, keyed ``stage.block``; shapes only (works on meta)."""
    sizes, hooks = {}, []
    for s, stage in enumerate(model.stages):
        for b, block in enumerate(stage.blocks):
            hooks.append(block.register_forward_hook(
                lambda m, i, o, key=f'{s}.{b}': sizes.__setitem__(key, tuple(o.shape[-2:]))))
    model(torch.empty(1, 3, size, size, device=next(model.parameters()).device))
    for h in hooks:
        h.remove()
    return sizes


def test_the_four_paper_models_and_the_small_ones_are_registered():
    assert set(timm.list_models('robust_resnet*')) == set(PAPER) | {'robust_resnet_dw_tiny'}
    assert 'test_robust_resnet' in timm.list_models('test_*')
    for name in [*PAPER, 'robust_resnet_dw_tiny']:
        cfg = timm.get_pretrained_cfg(name).to_dict()  # drops fields that are None
        assert cfg['input_size'] == (3, 224, 224) and cfg['crop_pct'] == 0.875
        assert cfg['interpolation'] == 'bicubic' and cfg['num_classes'] == 1000
        assert cfg['mean'] == timm.data.IMAGENET_DEFAULT_MEAN and cfg['std'] == timm.data.IMAGENET_DEFAULT_STD
        assert not cfg.get('url') and not cfg.get('hf_hub_id')  # nothing may ever download
    assert timm.get_pretrained_cfg('test_robust_resnet').input_size == (3, 64, 64)


@pytest.mark.parametrize('name', PAPER)
def test_state_dict_keys_and_shapes_equal_the_released_checkpoint(name):
    state = meta_model(name).state_dict()
    assert {k: list(v.shape) for k, v in state.items()} == RELEASED_KEYS[name]


@pytest.mark.parametrize('name', PAPER)
def test_params_and_macs_match_the_paper(name):
    params_m, gmacs = PAPER[name]
    model = meta_model(name)
    assert sum(p.numel() for p in model.parameters()) / 1e6 == pytest.approx(params_m, abs=0.01)
    with FlopCounterMode(display=False) as counter:
        model(torch.empty(1, 3, 224, 224, device='meta'))
    assert counter.get_total_flops() / 2e9 == pytest.approx(gmacs, abs=0.02)


@pytest.mark.parametrize('name', PAPER)
def test_only_one_block_downsamples_and_it_is_the_documented_one(name):
    sizes = block_output_sizes(meta_model(name), 224)
    stride_block = '2.14' if 'down_inverted' in name else '3.0'
    keys = list(sizes)
    first_7x7 = next(k for k in keys if sizes[k] == (7, 7))
    assert first_7x7 == stride_block
    assert all(sizes[k] == (14, 14) for k in keys[:keys.index(first_7x7)])
    assert all(sizes[k] == (7, 7) for k in keys[keys.index(first_7x7):])


BRANCH_ORDER = {  # the reference sheet's residual branches, one BN and one ReLU each
    'dw': ['pwconv1', 'norm1', 'conv_dw', 'pwconv2', 'add', 'act3'],
    'inverted_dw': ['pwconv1', 'norm1', 'act1', 'conv_dw', 'pwconv2', 'add'],
    'up_inverted_dw': ['conv_dw', 'norm1', 'pwconv1', 'act2', 'pwconv2', 'add'],
    'down_inverted_dw': ['pwconv1', 'norm2', 'act2', 'pwconv2', 'conv_dw', 'add'],
}


@pytest.mark.parametrize('block_type', BLOCK_TYPES)
def test_each_block_runs_its_layers_in_the_papers_order(block_type):
    block = tiny(block_type, depths=(1, 2, 1, 1)).stages[1].blocks[1]
    graph = torch.fx.symbolic_trace(block).graph
    calls = [n.target if n.op == 'call_module' else n.target.__name__ for n in graph.nodes
             if n.op in ('call_module', 'call_function') and n.target not in ('drop_path', 'downsample')]
    assert calls == BRANCH_ORDER[block_type]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in block.modules()) == 1
    assert sum(isinstance(m, nn.ReLU) for m in block.modules()) == 1


@pytest.mark.parametrize('block_type', BLOCK_TYPES)
def test_features_only_reports_each_stage_at_its_stride(block_type):
    model = tiny(block_type, features_only=True)
    feats = model(torch.randn(1, 3, 128, 128))
    reductions = [16, 16, 32, 32] if block_type == 'down_inverted_dw' else [16, 16, 16, 32]
    assert model.feature_info.reduction() == reductions
    assert [f.shape[-1] for f in feats] == [128 // r for r in reductions]
    assert [f.shape[1] for f in feats] == model.feature_info.channels()


def test_down_inverted_strides_in_the_last_block_of_stage_2_not_the_first():
    sizes = block_output_sizes(tiny('down_inverted_dw', depths=(1, 1, 3, 1)), 64)
    assert [sizes[k] for k in ('2.0', '2.1', '2.2', '3.0')] == [(4, 4), (4, 4), (2, 2), (2, 2)]


@pytest.mark.parametrize('size', [224, 160, 256])
def test_any_multiple_of_32_gives_logits(size):
    model = tiny().eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, size, size)).shape == (2, 1000)


@pytest.mark.parametrize('block_type', BLOCK_TYPES)
def test_gradients_reach_the_stem(block_type):
    model = tiny(block_type, drop_path_rate=0.1)
    model(torch.randn(2, 3, 64, 64)).logsumexp(1).sum().backward()
    assert model.stem.weight.grad is not None and model.stem.weight.grad.abs().sum() > 0


def test_timm_head_api():
    model = tiny(num_classes=10, drop_rate=0.2).eval()
    x = torch.randn(2, 3, 64, 64)
    feats = model.forward_features(x)
    assert feats.shape == (2, 256, 2, 2)  # DW blocks output 4x their width
    assert model.forward_head(feats, pre_logits=True).shape == (2, 256)
    assert model.forward_head(feats).shape == (2, 10) and model.get_classifier().out_features == 10
    model.reset_classifier(5)
    assert model(x).shape == (2, 5) and model.num_classes == 5
    model.reset_classifier(0)
    assert model(x).shape == (2, 256)


def test_in_chans_and_drop_path_rises_linearly_from_zero():
    model = meta_model('robust_resnet_dw_small', in_chans=1, drop_path_rate=0.1)
    assert model.stem.weight.shape[1] == 1
    rates = [getattr(b.drop_path, 'drop_prob', 0.) for s in model.stages for b in s.blocks]
    assert len(rates) == 22
    assert rates == pytest.approx([0.1 * i / 21 for i in range(22)])


@pytest.mark.parametrize('block_type', BLOCK_TYPES)
def test_layer_scale_is_off_by_default_and_adds_gamma_when_asked(block_type):
    assert not any('gamma' in k for k in tiny(block_type).state_dict())
    model = tiny(block_type, layer_scale_init_value=1e-6)
    gammas = {k: v for k, v in model.state_dict().items() if k.endswith('gamma')}
    assert len(gammas) == 4 and all(torch.all(g == 1e-6) for g in gammas.values())
    assert model(torch.randn(1, 3, 64, 64)).shape == (1, 1000)


def test_init_is_the_resnet_one():
    model = tiny(dims=(64, 128, 256, 512))
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert all(torch.all(c.bias == 0) for c in convs)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(torch.all(b.weight == 1) and torch.all(b.bias == 0) for b in bns)
    w = model.stages[3].blocks[0].pwconv2.weight  # 2048 x 512 x 1 x 1, fan_out 2048
    assert w.std().item() == pytest.approx((2 / 2048) ** 0.5, rel=0.02)


@pytest.mark.filterwarnings('ignore:`torch.jit.script` is deprecated')
@pytest.mark.parametrize('layer_scale', [0., 1e-6])
def test_torchscript_fx_and_export_give_the_eager_logits(layer_scale):
    model = tiny(layer_scale_init_value=layer_scale, drop_path_rate=0.1).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = model(x)
        torch.testing.assert_close(torch.jit.script(model)(x), expected)
        torch.testing.assert_close(torch.fx.symbolic_trace(model)(x), expected)
        torch.testing.assert_close(torch.export.export(model, (x,)).module()(x), expected)


def test_grad_checkpointing_gives_the_same_gradients():
    x = torch.randn(2, 3, 64, 64)
    grads = []
    for enable in (False, True):
        torch.manual_seed(0)
        model = tiny()
        model.set_grad_checkpointing(enable)
        model(x).sum().backward()
        grads.append(model.stem.weight.grad)
    torch.testing.assert_close(grads[0], grads[1])


def released_format(model, wrapper):
    """What a training run saves: DDP ``module.`` prefixes inside a trainer's wrapper dict."""
    state = {f'module.{k}': v for k, v in model.state_dict().items()}
    return {wrapper: state, 'epoch': 299}


def randomize_bn_stats(model):
    """Running stats start at 0/1 in both models; make them differ so loading them is tested."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)


@pytest.mark.parametrize('name, wrapper', [
    ('robust_resnet_down_inverted_dw_small', 'state_dict_ema'),
    ('test_robust_resnet', 'model'),
    ('test_robust_resnet', 'state_dict'),
])
def test_released_checkpoint_loads_strictly_and_gives_the_same_logits(tmp_path, name, wrapper):
    source = timm.create_model(name).eval()
    randomize_bn_stats(source)
    path = tmp_path / 'checkpoint.pth'
    torch.save(released_format(source, wrapper), path)
    via_timm = timm.create_model(name, pretrained=True, pretrained_cfg_overlay=dict(file=str(path))).eval()
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        assert torch.equal(via_timm(x), source(x))
    # The filter alone does the same for a checkpoint opened by hand (strict: no key left over).
    by_hand = checkpoint_filter_fn(torch.load(path, weights_only=True))
    via_timm.load_state_dict(by_hand, strict=True)
    assert all(torch.equal(by_hand[k], v) for k, v in source.state_dict().items())


def test_checkpoint_filter_fn_leaves_a_plain_state_dict_alone():
    state = {'stem.weight': torch.zeros(1), 'head.fc.bias': torch.ones(1)}
    assert checkpoint_filter_fn(state) == state


@pytest.mark.parametrize('kwargs, message', [
    (dict(block_type='resnet'), 'block_type'),
    (dict(downsample_at=(4, 0)), 'downsample_at'),
    (dict(depths=(1, 1, 1)), 'same length'),
])
def test_bad_arguments_say_what_is_wrong(kwargs, message):
    with pytest.raises(ValueError, match=message):
        timm.create_model('test_robust_resnet', **kwargs)
