"""The checkers of notebooks 07 and 08 accept the solution, name the common mistakes and handle a stub."""

import pytest
import torch
from torch import nn

from mri_helpers.exercises import ExerciseError
from mri_helpers.exercises.inside import check_keep_output, check_wide_head
from mri_helpers.exercises.verdict import STUB


def _said(capsys):
    return capsys.readouterr().out.strip()


class WideHead(nn.Module):
    """Notebook 07's solution: CNN3's head."""

    def __init__(self, in_features, hidden=512, num_classes=4, p=0.5):
        super().__init__()
        self.flatten = nn.Flatten()
        self.drop_features = nn.Dropout(p)
        self.fc1 = nn.Linear(in_features, hidden)
        self.relu_fc1 = nn.ReLU()
        self.drop_hidden = nn.Dropout(p)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, maps):
        x = self.drop_features(self.flatten(maps))
        x = self.drop_hidden(self.relu_fc1(self.fc1(x)))
        return self.fc2(x)


class NoRelu(WideHead):
    def forward(self, maps):
        return self.fc2(self.drop_hidden(self.fc1(self.drop_features(self.flatten(maps)))))


class NoDropout(WideHead):
    def forward(self, maps):
        return self.fc2(self.relu_fc1(self.fc1(self.flatten(maps))))


class OneDropout(WideHead):  # CNN2's head: dropout before fc1 only
    def forward(self, maps):
        return self.fc2(self.relu_fc1(self.fc1(self.drop_features(self.flatten(maps)))))


class WrongP(WideHead):
    def __init__(self, in_features, hidden=512, num_classes=4, p=0.5):
        super().__init__(in_features, hidden, num_classes, p=0.3)


class FixedHalf(WideHead):
    """p = 0.5 typed in, whatever p the head is given: right for CNN3, wrong for another p."""

    def __init__(self, in_features, hidden=512, num_classes=4, p=0.5):
        super().__init__(in_features, hidden, num_classes, p=0.5)


class Renamed(nn.Module):
    def __init__(self, in_features, hidden=512, num_classes=4, p=0.5):
        super().__init__()
        self.hidden_layer = nn.Linear(in_features, hidden)
        self.out = nn.Linear(hidden, num_classes)

    def forward(self, maps):
        return self.out(torch.relu(self.hidden_layer(maps.flatten(1))))


class AlwaysDropping(WideHead):
    def forward(self, maps):
        x = nn.functional.dropout(self.flatten(maps), 0.5, training=True)
        return self.fc2(self.relu_fc1(self.fc1(x)))


class Stub(nn.Module):
    """What the student edition's stub does."""

    def __init__(self, in_features, hidden=512, num_classes=4, p=0.5):
        raise NotImplementedError("CNN3's head")


def test_wide_head_accepts_the_solution_and_leaves_the_random_state_alone(capsys):
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    assert check_wide_head(WideHead) is True and _said(capsys) == "✓ correct"
    assert torch.equal(torch.random.get_rng_state(), before)


@pytest.mark.parametrize("wrong,hint", [
    (NoRelu, "through a ReLU"),
    (NoDropout, "nothing is dropped"),
    (OneDropout, "not where CNN3 has it"),
    (WrongP, "each with the probability p the head is given"),
    (FixedHalf, "each with the probability p the head is given"),
    (Renamed, "name the two linear layers fc1 and fc2"),
    (AlwaysDropping, "use nn.Dropout layers"),
    (Stub, "write the class's methods"),
    (None, "set `WideHead`"),
])
def test_wide_head_names_the_mistake(wrong, hint, capsys):
    assert check_wide_head(wrong) is False
    said = _said(capsys)
    assert said.startswith("✗ not yet: ") and hint in said, said


def test_wide_head_in_strict_mode_raises_on_a_wrong_head(monkeypatch):
    monkeypatch.setenv("MRI_EXERCISES_STRICT", "1")
    with pytest.raises(ExerciseError, match="ReLU"):
        check_wide_head(NoRelu)


def keep_output(model, layer, images):
    """Notebook 08's solution."""
    kept = {}

    def hook(module, inputs, output):
        kept[layer] = output.detach()

    handle = getattr(model, layer).register_forward_hook(hook)
    try:
        model.features(images)
    finally:
        handle.remove()
    return kept


def never_removed(model, layer, images):
    kept = {}
    getattr(model, layer).register_forward_hook(lambda m, i, o: kept.update({layer: o.detach()}))
    model.features(images)
    return kept


def removed_without_finally(model, layer, images):
    kept = {}
    handle = getattr(model, layer).register_forward_hook(lambda m, i, o: kept.update({layer: o.detach()}))
    model.features(images)
    handle.remove()
    return kept


def keeps_the_input(model, layer, images):
    kept = {}
    handle = getattr(model, layer).register_forward_hook(lambda m, i, o: kept.update({layer: i[0].detach()}))
    try:
        model.features(images)
    finally:
        handle.remove()
    return kept


def not_detached(model, layer, images):
    kept = {}
    handle = getattr(model, layer).register_forward_hook(lambda m, i, o: kept.update({layer: o}))
    try:
        model.features(images)
    finally:
        handle.remove()
    return kept


def no_return(model, layer, images):
    keep_output(model, layer, images)


def stub(model, layer, images):
    raise NotImplementedError("keep a layer's output")


def broken(model, layer, images):
    return model.no_such_layer


def test_keep_output_accepts_the_solution(capsys):
    assert check_keep_output(keep_output) is True and _said(capsys) == "✓ correct"


@pytest.mark.parametrize("wrong,hint", [
    (never_removed, "call handle.remove()"),
    (removed_without_finally, "finally"),
    (keeps_the_input, "inputs is a tuple"),
    (not_detached, "output.detach()"),
    (no_return, "return the dict"),
    (stub, STUB),
    (broken, "raised AttributeError"),
    (None, "set `keep_output`"),
])
def test_keep_output_names_the_mistake(wrong, hint, capsys):
    assert check_keep_output(wrong) is False
    said = _said(capsys)
    assert said.startswith("✗ not yet: ") and hint in said and "\n" not in said, said


def test_keep_output_in_a_list_gets_its_own_hint(capsys):
    def in_a_list(model, layer, images):
        kept = {layer: []}
        handle = getattr(model, layer).register_forward_hook(lambda m, i, o: kept[layer].append(o.detach()))
        try:
            model.features(images)
        finally:
            handle.remove()
        return kept

    assert not check_keep_output(in_a_list)
    assert "not a list holding it" in capsys.readouterr().out
