"""Notebook 06's checkers accept dropout as nn.Dropout behaves and reject the common mistakes with a hint."""

import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn

from mri_helpers.dropout import format_curves, plot_dropout_curves, set_dropout
from mri_helpers.exercises.dropout import (
    check_dropout,
    check_dropout2d,
    check_dropout_layer,
    check_dropout_scale,
    check_zero_fraction,
)
from mri_helpers.models import build_model


def _said(capsys):
    return capsys.readouterr().out.strip()


def dropout(x, p, training):  # the notebook's solution
    if not training or p == 0:
        return x
    if p == 1:
        return torch.zeros_like(x)
    keep = torch.rand_like(x) >= p
    return x * keep / (1 - p)


class MyDropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, x):
        return dropout(x, self.p, self.training)


def dropout2d(x, p, training):
    if not training:
        return x
    keep = torch.rand(x.shape[0], x.shape[1], 1, 1) >= p
    return x * keep / (1 - p)


def stub(*args):
    raise NotImplementedError("the task")


def test_scale_checker(capsys):
    assert check_dropout_scale(0.2, 1 / 0.8) and _said(capsys) == "✓ correct"
    assert not check_dropout_scale(0.2, 0.8)
    said = _said(capsys)
    assert said.startswith("✗ not yet: ") and "1.25" not in said
    assert not check_dropout_scale(0.2, None) and "set `scale`" in _said(capsys)
    with pytest.raises(ValueError, match="below 1"):
        check_dropout_scale(1.0, 1.0)


def test_zero_fraction_checker(capsys):
    def zero_fraction(layer, n=100_000):
        return (layer.train()(torch.ones(n)) == 0).float().mean().item()

    state = torch.get_rng_state()
    assert check_zero_fraction(zero_fraction) and _said(capsys) == "✓ correct"
    assert torch.equal(torch.get_rng_state(), state)  # the notebook's random state is left alone
    for wrong, hint in ((lambda layer, n: (layer(torch.ones(n)) == 0).float().mean(), "layer.train()"),
                        (lambda layer, n: (layer.train()(torch.ones(n)) != 0).float().mean(), "share kept"),
                        (lambda layer, n: (layer.train()(torch.ones(n)) == 0).sum(), "divide the number of zeros"),
                        (lambda layer, n: 0.3, "apply the layer in training mode"),
                        (lambda layer, n: "0.2", "return one number"),
                        (stub, "replace the raise"),
                        (None, "set `zero_fraction`")):
        assert check_zero_fraction(wrong) is False and hint in _said(capsys)


def test_dropout_checker_accepts_the_solution(capsys):
    assert check_dropout(dropout) and _said(capsys) == "✓ correct"


@pytest.mark.parametrize("wrong,hint", [
    (lambda x, p, t: x * (torch.rand_like(x) >= p) / (1 - p), "training=False dropout is off"),  # always on
    (lambda x, p, t: x * (torch.rand_like(x) >= p) if t else x, "scale the kept values by 1/(1 - p)"),
    (lambda x, p, t: x * (torch.rand_like(x) >= p) * (1 - p) if t else x, "do not multiply"),
    (lambda x, p, t: x * (torch.rand_like(x) < p) / (1 - p) if t else x, "a share of 1 - p"),
    (lambda x, p, t: x, "must be zero: draw a random mask"),  # never drops
    (lambda x, p, t: x * (torch.rand_like(x) >= 0.5) / 0.5 if t else x, "with probability p"),
    (lambda x, p, t: x.masked_fill_(torch.rand_like(x) < p, 0).div_(1 - p) if t else x, "in place"),
    (lambda x, p, t: x * (torch.rand(x.shape, generator=torch.Generator().manual_seed(0)) >= p) / (1 - p)
     if t else x, "a new mask on every call"),
    (lambda x, p, t: x * (torch.rand_like(x) >= p) / (1 - p) if t else x, "with p = 1 every value is dropped"),
    (lambda x, p, t: x * (torch.rand_like(x) >= p) * (1 / (1 - p)) if t else x, "ZeroDivisionError"),
    (lambda x, p, t: x[0] if t else x, "x's shape"),
    (lambda x, p, t: x.numpy(), "training=False"),
    (stub, "replace the raise"),
    (None, "set `dropout`"),
])
def test_dropout_checker_rejects_the_common_mistakes(wrong, hint, capsys):
    assert check_dropout(wrong) is False
    said = _said(capsys)
    assert said.startswith("✗ not yet: ") and hint in said and "\n" not in said


def test_dropout_layer_checker(capsys):
    assert check_dropout_layer(MyDropout) and _said(capsys) == "✓ correct"

    class AlwaysOn(MyDropout):
        def forward(self, x):
            return dropout(x, self.p, True)

    class FixedP(MyDropout):
        def forward(self, x):
            return dropout(x, 0.5, self.training)

    class NotAModule:
        def __init__(self, p):
            self.p = p

    class Stub(nn.Module):
        def __init__(self, p=0.5):
            raise NotImplementedError("A dropout layer")

    for wrong, hint in ((AlwaysOn, "after model.eval()"), (FixedP, "use self.p"), (NotAModule, "subclass of nn.Module"),
                        (Stub, "replace each raise")):
        assert check_dropout_layer(wrong) is False and hint in _said(capsys)


def test_dropout2d_checker(capsys):
    assert check_dropout2d(dropout2d) and _said(capsys) == "✓ correct"
    assert check_dropout2d(lambda x, p, t: nn.functional.dropout2d(x, p, t)) and _said(capsys) == "✓ correct"
    for wrong, hint in ((lambda x, p, t: dropout(x, p, t), "whole channels"),  # single values
                        (lambda x, p, t: x * (torch.rand(x.shape[0], x.shape[1], 1, 1) >= p) if t else x,
                         "scale the kept channels"),
                        (lambda x, p, t: x * (torch.rand(x.shape[0], x.shape[1], 1, 1) >= 0.8) / 0.2 if t else x,
                         "with probability p"),
                        (lambda x, p, t: x * 0 if not t else x, "training=False"),
                        (stub, "replace the raise")):
        assert check_dropout2d(wrong) is False and hint in _said(capsys)


def test_strict_mode_raises_on_a_wrong_dropout(monkeypatch):
    from mri_helpers.exercises import ExerciseError

    monkeypatch.setenv("MRI_EXERCISES_STRICT", "1")
    with pytest.raises(ExerciseError, match="1/\\(1 - p\\)"):
        check_dropout(lambda x, p, t: x * (torch.rand_like(x) >= p) if t else x)


def test_set_dropout_changes_p_and_nothing_else():
    model = build_model("cnn1", image_size=64)
    keys = list(model.state_dict())
    assert set_dropout(model, 0.0) is model
    assert [m.p for m in model.modules() if isinstance(m, nn.Dropout)] == [0.0, 0.0]
    assert list(model.state_dict()) == keys
    with pytest.raises(ValueError, match="between 0 and 1"):
        set_dropout(model, 1.5)


def test_curves_table_and_figure():
    history = [{"epoch": 1, "train_loss": 1.0, "val_loss": 1.5}, {"epoch": 2, "train_loss": 0.5, "val_loss": 1.25}]
    table = format_curves({"0.0": history, "0.5": history})  # keys as a JSON record stores them
    assert table.splitlines()[0].split() == ["p", "=", "0.0", "p", "=", "0.5"]
    assert table.splitlines()[-1].split() == ["2", "0.500", "1.250", "0.750", "0.500", "1.250", "0.750"]
    fig = plot_dropout_curves({0.0: history, 0.5: history})
    assert [ax.get_title() for ax in fig.axes] == ["dropout p = 0.0", "dropout p = 0.5"]
    assert list(fig.axes[1].lines[1].get_ydata()) == [1.5, 1.25]
    plt.close(fig)


def test_dropout_run_repeats_and_changes_only_p(small_root):
    from mri_helpers.datasets import load_datasets
    from mri_helpers.dropout import dropout_run
    from mri_helpers.recipes import Recipe

    data = load_datasets(small_root, image_size=32)
    recipe = Recipe(lr=1e-3, image_size=32, epochs=2, batch_size=8, train_subset=16)
    off = dropout_run(data, recipe, 0.0, seed=1, device="cpu")
    assert [h["epoch"] for h in off] == [1, 2]
    assert all(h["train_loss"] > 0 and h["val_loss"] > 0 for h in off)
    again = dropout_run(data, recipe, 0.0, seed=1, device="cpu")
    assert [h["val_loss"] for h in again] == [h["val_loss"] for h in off]  # seeded: the same numbers
    on = dropout_run(data, recipe, 0.5, seed=1, device="cpu")
    assert [h["val_loss"] for h in on] != [h["val_loss"] for h in off]
    with pytest.raises(ValueError, match="train_subset"):
        dropout_run(data, Recipe(lr=1e-3, image_size=32), 0.5)
    with pytest.raises(ValueError, match="image size"):
        dropout_run(data, Recipe(lr=1e-3, image_size=64, train_subset=16), 0.5)


def test_review_findings_get_hints(capsys):
    """A student review found these accepted or crashing: each now gets its hint."""
    assert not check_zero_fraction(lambda layer, n=100_000: layer.p)
    assert "raised AttributeError" in _said(capsys)

    def same_mask(x, p, training):
        if not training:
            return x
        return x * (torch.rand(1, x.shape[1], 1, 1) >= p) / (1 - p)

    assert not check_dropout2d(same_mask)
    assert "every image lost the same channels" in _said(capsys)

    class NoSuper(nn.Module):
        def __init__(self, p=0.5):
            self.p = p

    assert not check_dropout_layer(NoSuper)
    assert "call super().__init__()" in _said(capsys)
