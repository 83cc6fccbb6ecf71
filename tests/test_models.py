"""CNN0-CNN3: exact parameter counts, shapes, and the computed architecture table."""

import pytest
import torch

from mri_helpers.models import SPECS, build_model, dropout_sums, format_shape_table, layer_parameters, shape_table

EXPECTED = {
    "cnn0": {"conv1": 112, "conv2": 148, "conv3": 148, "conv4": 148, "fc1": 32_800, "fc2": 132},
    "cnn1": {"conv1": 112, "conv2": 296, "conv3": 1_168, "conv4": 2_320, "fc1": 262_208, "fc2": 260},
    "cnn2": {"conv1": 112, "conv2": 296, "conv3": 1_168, "conv4": 4_640, "conv5": 9_248, "fc1": 131_136, "fc2": 260},
    "cnn3": {
        "conv1": 896, "conv2": 18_496, "conv3": 73_856, "conv4": 295_168, "conv5": 590_080,
        "fc1": 8_389_120, "fc2": 2_052,
    },
}
TOTALS = {"cnn0": 33_488, "cnn1": 266_364, "cnn2": 146_860, "cnn3": 9_369_668}


@pytest.mark.parametrize("name", sorted(SPECS))
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


def test_layers_and_dropout_placement():
    cnn2, cnn3 = build_model("cnn2"), build_model("cnn3")
    assert [c.kernel_size + c.padding + c.stride for c in cnn2.convs] == [(3, 3, 1, 1, 1, 1)] * 5
    assert isinstance(cnn2.drop_hidden, torch.nn.Identity) and cnn2.drop_features.p == 0.3
    assert cnn3.drop_features.p == 0.5 and cnn3.drop_hidden.p == 0.5
    assert SPECS["cnn3"].lr == 7e-4 and SPECS["cnn0"].lr == 3e-4


def test_shape_table_is_computed():
    rows = shape_table(build_model("cnn2"), 256)
    shapes = {step: shape for step, shape, _ in rows}
    assert shapes["input"] == (3, 256, 256)
    assert shapes["conv1 + ReLU"] == (4, 256, 256) and shapes["pool1"] == (4, 128, 128)
    assert shapes["pool5"] == (32, 8, 8) and shapes["flatten"] == (2048,)
    assert shapes["fc2 (logits)"] == (4,)
    assert sum(n for *_, n in rows) == 146_860
    text = format_shape_table(rows)
    assert "pool5                 32 x 8 x 8             0" in text
    assert text.splitlines()[-1].split() == ["total", "146,860"]


def test_dropout_keeps_the_mean_and_widens_the_spread():
    stats = {p: dropout_sums(p, draws=2000) for p in (0.1, 0.5, 0.9)}
    reference = stats[0.1][1]
    spreads = [s.std() for s, _ in stats.values()]
    assert spreads == sorted(spreads) and spreads[-1] > 5 * spreads[0]
    for s, ref in stats.values():
        assert ref == reference
        assert abs(s.mean() - ref) < 4 * s.std() / len(s) ** 0.5
    assert (dropout_sums(0.3, seed=1)[0] == dropout_sums(0.3, seed=1)[0]).all()
