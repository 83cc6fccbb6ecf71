"""Notebook 10's checkers accept the library's code and the notebook's solutions, and give a hint for each common mistake."""

import pytest
import torch
from torch import nn

from mri_helpers.exercises.bestnet import check_head, check_stage, check_training_parts
from mri_helpers.exercises.verdict import STUB, ExerciseError
from mri_helpers.models import stage


def _said(capsys):
    return capsys.readouterr().out.strip()


# ------------------------------------------------------------------ the notebook's solutions, as written there
# (its stage is the library's, line for line: mri_helpers.models.stage)

class Head(nn.Module):
    def __init__(self, channels=256, num_classes=4, dropout=0.2):
        super().__init__()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, features):
        x = self.flatten(self.gap(features))
        return self.fc(self.drop(x))


def make_training_parts(model, recipe, steps_per_epoch):
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    total_steps = recipe.epochs * steps_per_epoch
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=recipe.lr, total_steps=total_steps)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
    return optimizer, schedule, loss_fn


def stubbed(*args, **kwargs):
    raise NotImplementedError("the student's task")


# ------------------------------------------------------------------ the stage

def _stage_with(conv=None, norm=True, relu_first=False, chain=True):
    """A stage with one mistake: ``conv`` makes the convolution, ``norm`` adds batch norm, ..."""
    def wrong(cin, width, repeat, batch_norm=True):
        layers = []
        for _ in range(repeat):
            made = conv(cin, width, batch_norm) if conv else nn.Conv2d(cin, width, 3, padding=1, bias=not batch_norm)
            parts = [made, nn.BatchNorm2d(width)] if batch_norm and norm else [made]
            layers += [nn.ReLU(), *parts] if relu_first else [*parts, nn.ReLU()]
            cin = width if chain else cin
        return nn.Sequential(*layers)
    return wrong


@pytest.mark.parametrize("wrong,hint", [
    (_stage_with(norm=False), "no batch norm"),
    (_stage_with(conv=lambda cin, width, bn: nn.Conv2d(cin, width, 3, padding=1)), "drop their bias"),
    (_stage_with(conv=lambda cin, width, bn: nn.Conv2d(cin, width, 3, bias=not bn)), "padding=1"),
    (_stage_with(chain=False), "chain the channels"),
    (_stage_with(relu_first=True), "in this order"),
    (lambda cin, width, repeat, batch_norm=True: nn.Sequential(stage(cin, width, repeat, batch_norm)),
     "one flat nn.Sequential"),
    (lambda cin, width, repeat, batch_norm=True: [nn.Conv2d(cin, width, 3, padding=1)], "nn.Sequential(*layers)"),
    (stubbed, STUB),
])
def test_stage_checker_names_each_mistake(wrong, hint, capsys):
    assert check_stage(wrong) is False
    said = _said(capsys)
    assert said.startswith("✗ not yet: ") and hint in said


def test_stage_checker_accepts_the_library_stage_which_is_the_solution(capsys):
    assert check_stage(stage) is True
    assert _said(capsys) == "✓ correct"
    assert check_stage(None) is False and "set `stage`" in _said(capsys)
    assert check_stage(lambda *args, **kwargs: nn.Sequential(
        *[nn.Conv2d(m.in_channels, m.out_channels, 3, padding="same", bias=m.bias is not None)
          if isinstance(m, nn.Conv2d) else m for m in stage(*args, **kwargs)])) is True  # padding="same" is fine too
    assert _said(capsys) == "✓ correct"


class Shifted(nn.Sequential):
    """The right layers, but it adds 1 to the output."""

    def forward(self, x):
        return super().forward(x) + 1


def test_stage_checker_compares_numbers_not_only_layers(capsys):
    assert check_stage(lambda *args, **kwargs: Shifted(*stage(*args, **kwargs))) is False
    assert "output differs in train mode" in _said(capsys)


# ------------------------------------------------------------------ the head

class MaxHead(Head):
    def __init__(self, channels=256, num_classes=4, dropout=0.2):
        super().__init__(channels, num_classes, dropout)
        self.gap = nn.AdaptiveMaxPool2d(1)


class FlatHead(Head):
    def forward(self, features):
        return self.fc(self.drop(self.flatten(features)))


class FunctionalMaxHead(Head):
    def forward(self, features):
        return self.fc(self.drop(self.flatten(nn.functional.adaptive_max_pool2d(features, 1))))


class NoDropHead(Head):
    def forward(self, features):
        return self.fc(self.flatten(self.gap(features)))


class StubHead(nn.Module):
    def __init__(self, channels=256, num_classes=4, dropout=0.2):
        raise NotImplementedError("the student's task")


@pytest.mark.parametrize("wrong,hint", [
    (MaxHead, "max pooling"),
    (FunctionalMaxHead, "max pooling"),
    (FlatHead, "flattening without pooling"),
    (NoDropHead, "nn.Dropout(dropout)"),
    (StubHead, STUB),
])
def test_head_checker_names_each_mistake(wrong, hint, capsys):
    assert check_head(wrong) is False
    said = _said(capsys)
    assert said.startswith("✗ not yet: ") and hint in said


def test_head_checker_accepts_the_solution(capsys):
    assert check_head(Head) is True and _said(capsys) == "✓ correct"
    assert check_head(None) is False and "set `Head`" in _said(capsys)


# ------------------------------------------------------------------ optimiser, schedule and loss

def _parts_with(optimizer=None, total=None, max_lr=None, smoothing=None):
    def wrong(model, recipe, steps_per_epoch):
        opt = (optimizer or (lambda m, r: torch.optim.AdamW(m.parameters(), lr=r.lr, weight_decay=r.weight_decay)))(
            model, recipe)
        steps = total(recipe, steps_per_epoch) if total else recipe.epochs * steps_per_epoch
        schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr or recipe.lr, total_steps=steps)
        return opt, schedule, nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing if smoothing is None else smoothing)
    return wrong


@pytest.mark.parametrize("wrong,hint", [
    (_parts_with(optimizer=lambda m, r: torch.optim.Adam(m.parameters(), lr=r.lr, weight_decay=r.weight_decay)),
     "torch.optim.Adam adds it"),
    (_parts_with(optimizer=lambda m, r: torch.optim.AdamW(m.parameters(), lr=r.lr)), "weight_decay=recipe.weight_decay"),
    (_parts_with(total=lambda r, steps: steps), "total_steps = recipe.epochs * steps_per_epoch"),
    (_parts_with(max_lr=0.01), "max_lr=recipe.lr"),
    (_parts_with(smoothing=0.0), "label_smoothing=recipe.label_smoothing"),
    (_parts_with(smoothing=0.1), "right for BestNet's recipe but not for another"),  # BestNet's number, typed in
    (lambda model, recipe, steps: torch.optim.AdamW(model.parameters()), "return three things"),
    (stubbed, STUB),
])
def test_training_parts_checker_names_each_mistake(wrong, hint, capsys):
    assert check_training_parts(wrong) is False
    said = _said(capsys)
    assert said.startswith("✗ not yet: ") and hint in said


def test_training_parts_checker_accepts_the_solution(capsys):
    assert check_training_parts(make_training_parts) is True and _said(capsys) == "✓ correct"
    assert check_training_parts(None) is False and "set `make_training_parts`" in _said(capsys)


def test_strict_mode_raises_on_a_wrong_answer(monkeypatch):
    monkeypatch.setenv("MRI_EXERCISES_STRICT", "1")
    with pytest.raises(ExerciseError, match="max pooling"):
        check_head(MaxHead)


def test_review_findings_get_hints(capsys):
    """A student review found a head with other layer names accepted, and a misleading hint for the order."""

    class Renamed(nn.Module):
        def __init__(self, channels=256, num_classes=4, dropout=0.2):
            super().__init__()
            self.pool, self.flatten = nn.AdaptiveAvgPool2d(1), nn.Flatten()
            self.dropout, self.fc = nn.Dropout(dropout), nn.Linear(channels, num_classes)

        def forward(self, features):
            return self.fc(self.dropout(self.flatten(self.pool(features))))

    assert check_head(Renamed) is False
    assert "name the layers gap, flatten, drop and fc" in _said(capsys)

    def reordered(model, recipe, steps_per_epoch):
        optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=recipe.lr,
                                                       total_steps=recipe.epochs * steps_per_epoch)
        return optimizer, nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing), schedule

    assert check_training_parts(reordered) is False
    assert "in this order: optimizer, schedule, loss_fn" in _said(capsys)
