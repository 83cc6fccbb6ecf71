"""The models: exact parameter counts, shapes, MACs, and the computed architecture table."""

import pytest
import torch

from mri_helpers.dropout import dropout_sums
from mri_helpers.models import (
    MODELS,
    BestNet,
    build_model,
    format_shape_table,
    layer_parameters,
    macs,
    shape_table,
)
from mri_helpers.recipes import RECIPES

EXPECTED = {
    "cnn0": {"conv1": 112, "conv2": 148, "conv3": 148, "conv4": 148, "fc1": 32_800, "fc2": 132},
    "cnn1": {"conv1": 112, "conv2": 296, "conv3": 1_168, "conv4": 2_320, "fc1": 262_208, "fc2": 260},
    "cnn2": {"conv1": 112, "conv2": 296, "conv3": 1_168, "conv4": 4_640, "conv5": 9_248, "fc1": 131_136, "fc2": 260},
    "cnn3": {
        "conv1": 896, "conv2": 18_496, "conv3": 73_856, "conv4": 295_168, "conv5": 590_080,
        "fc1": 8_389_120, "fc2": 2_052,
    },
}
TOTALS = {"cnn0": 33_488, "cnn1": 266_364, "cnn2": 146_860, "cnn3": 9_369_668, "bestnet": 1_169_172}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_exact_parameter_counts(name):
    model = build_model(name)
    assert layer_parameters(model) == EXPECTED[name]
    assert sum(p.numel() for p in model.parameters()) == TOTALS[name]


@pytest.mark.parametrize("name,size", [("cnn0", 256), ("cnn1", 128), ("cnn2", 256), ("cnn2", 96), ("cnn3", 64)])
def test_output_shapes(name, size):
    model = build_model(name, num_classes=4, image_size=size).eval()
    assert model(torch.zeros(2, 3, size, size)).shape == (2, 4)


def test_flatten_follows_image_size():
    assert build_model("cnn2", image_size=128).fc1.in_features == 32 * 4 * 4
    assert build_model("cnn0", image_size=64).fc1.in_features == 4 * 4 * 4
    with pytest.raises(ValueError, match="multiple of 32"):
        build_model("cnn3", image_size=200)
    with pytest.raises(ValueError, match="Unknown model 'cnn9'"):
        build_model("cnn9")


def test_options_go_to_bestnet_only():
    plain = build_model("bestnet", batch_norm=False)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in plain.modules())
    assert all(c.bias is not None for c in plain.convs)
    with pytest.raises(ValueError, match="'cnn0' takes no options, got \\['batch_norm'\\]"):
        build_model("cnn0", batch_norm=False)


def test_new_modules_leave_the_state_dicts_unchanged():
    """Checkpoints written before flatten and gap became modules must still load."""
    assert list(build_model("cnn0").state_dict()) == [
        "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "conv3.weight", "conv3.bias",
        "conv4.weight", "conv4.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    keys = list(build_model("bestnet").state_dict())
    assert keys[:6] == ["stages.0.0.weight", "stages.0.1.weight", "stages.0.1.bias", "stages.0.1.running_mean",
                        "stages.0.1.running_var", "stages.0.1.num_batches_tracked"]
    assert keys[-2:] == ["fc.weight", "fc.bias"] and not any(k.startswith(("gap", "flatten")) for k in keys)


def test_layers_and_dropout_placement():
    cnn2, cnn3 = build_model("cnn2"), build_model("cnn3")
    assert [c.kernel_size + c.padding + c.stride for c in cnn2.convs] == [(3, 3, 1, 1, 1, 1)] * 5
    assert isinstance(cnn2.drop_hidden, torch.nn.Identity) and cnn2.drop_features.p == 0.3
    assert cnn3.drop_features.p == 0.5 and cnn3.drop_hidden.p == 0.5
    assert RECIPES["cnn3"].lr == 7e-4 and RECIPES["cnn0"].lr == 3e-4


CNN0_ROWS = [
    ("input", (3, 256, 256), 0),
    ("conv1 + ReLU", (4, 256, 256), 112),
    ("pool1", (4, 128, 128), 0),
    ("conv2 + ReLU", (4, 128, 128), 148),
    ("pool2", (4, 64, 64), 0),
    ("conv3 + ReLU", (4, 64, 64), 148),
    ("pool3", (4, 32, 32), 0),
    ("conv4 + ReLU", (4, 32, 32), 148),
    ("pool4", (4, 16, 16), 0),
    ("flatten + Dropout", (1024,), 0),
    ("fc1 + ReLU + Dropout", (32,), 32_800),
    ("fc2", (4,), 132),
]


def test_shape_table_rows_for_cnn0():
    assert shape_table(build_model("cnn0"), 256) == CNN0_ROWS
    small = shape_table(build_model("cnn0", image_size=64), 64)
    assert [name for name, *_ in small] == [name for name, *_ in CNN0_ROWS]
    assert small[-3] == ("flatten + Dropout", (64,), 0) and small[-2] == ("fc1 + ReLU + Dropout", (32,), 2_080)


@pytest.mark.parametrize("name", MODELS)
def test_shape_table_total_is_the_parameter_count(name):
    size = RECIPES[name].image_size
    model = build_model(name, image_size=size)
    rows = shape_table(model, size)
    assert sum(n for *_, n in rows) == sum(p.numel() for p in model.parameters()) == TOTALS[name]
    assert rows[0] == ("input", (3, size, size), 0) and rows[-1][1] == (4,)
    pools = [step for step, *_ in rows if step.startswith("pool")]
    n = 4 if name in ("cnn0", "cnn1", "bestnet") else 5
    assert pools == [f"pool{i}" for i in range(1, n + 1)]  # one shared module, a numbered row per call
    convs = [step for step, *_ in rows if "conv" in step or step.startswith("stages.")]
    assert len(convs) == len(model.convs)  # every convolution has its own row
    assert not model.training  # traced in evaluation mode


def test_shape_table_follows_the_model_cnn2_and_bestnet():
    rows = shape_table(build_model("cnn2"), 256)
    assert [step for step, *_ in rows][-4:] == ["pool5", "flatten + Dropout", "fc1 + ReLU", "fc2"]
    assert rows[-5] == ("conv5 + ReLU", (32, 16, 16), 9_248) and rows[-4] == ("pool5", (32, 8, 8), 0)
    assert rows[-3] == ("flatten + Dropout", (2048,), 0)
    text = format_shape_table(rows)
    assert "pool5                      32 x 8 x 8             0" in text
    assert text.splitlines()[-1].split() == ["total", "146,860"]

    best = shape_table(build_model("bestnet"), 128)
    assert best[1] == ("stages.0.0 + BatchNorm2d + ReLU", (16, 128, 128), 3 * 16 * 9 + 2 * 16)
    assert best[-3:] == [("gap", (256, 1, 1), 0), ("flatten + Dropout", (256,), 0), ("fc", (4,), 256 * 4 + 4)]
    assert ("stages.4.3 + BatchNorm2d + ReLU", (256, 8, 8), 256 * 256 * 9 + 2 * 256) in best
    plain = shape_table(build_model("bestnet", batch_norm=False), 128)
    assert plain[1] == ("stages.0.0 + ReLU", (16, 128, 128), 3 * 16 * 9 + 16)


def test_dropout_keeps_the_mean_and_widens_the_spread():
    stats = {p: dropout_sums(p, draws=2000) for p in (0.1, 0.5, 0.9)}
    reference = stats[0.1][1]
    spreads = [s.std() for s, _ in stats.values()]
    assert spreads == sorted(spreads) and spreads[-1] > 5 * spreads[0]
    for s, ref in stats.values():
        assert ref == reference
        assert abs(s.mean() - ref) < 4 * s.std() / len(s) ** 0.5
    assert (dropout_sums(0.3, seed=1)[0] == dropout_sums(0.3, seed=1)[0]).all()


def test_bestnet_layers_and_parameters():
    model = build_model("bestnet")
    assert isinstance(model, BestNet) and len(model.convs) == 8
    assert all(not c.bias for c in model.convs)  # batch norm's shift makes a conv bias redundant
    params = layer_parameters(model)
    # 3x3 conv weights (no bias) + 2 per channel for batch norm, per stage
    assert params["stages.0.0"] == 3 * 16 * 9 and params["stages.0.1"] == 2 * 16
    assert params["stages.4.3"] == 256 * 256 * 9 and params["fc"] == 256 * 4 + 4
    assert sum(params.values()) == 1_169_172
    assert sum(n for *_, n in shape_table(model, 128)) == 1_169_172
    # the ablation's variant: biases instead of batch norm's 2 numbers per channel (944 channels in all)
    plain = BestNet(batch_norm=False)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in plain.modules())
    assert sum(p.numel() for p in plain.parameters()) == 1_169_172 - 944
    # global average pooling: any input size gives the same four logits
    assert model.eval()(torch.zeros(1, 3, 96, 96)).shape == (1, 4)


def test_macs_are_counted_layer_by_layer():
    # cnn0 at 256 px: conv1 256*256*27*4, conv2 128*128*36*4, conv3 64*64*36*4, conv4 32*32*36*4,
    # fc1 1024*32, fc2 32*4 multiply-accumulates
    assert macs(build_model("cnn0"), 256) == 7_077_888 + 2_359_296 + 589_824 + 147_456 + 32_768 + 128
    assert macs(build_model("bestnet"), 128) == macs(build_model("bestnet"), 64) * 4 - 3 * 256 * 4  # fc is fixed
