"""Reports carry the right class names; evaluation takes any model and any loader."""

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from mri_helpers.metrics import evaluate, logits_and_labels, model_device, predict
from mri_helpers.models import build_model
from mri_helpers.training import autocast

CLASSES = ["glioma", "meningioma", "notumor", "pituitary"]


class Oracle(nn.Module):
    """Predicts the class written in each image's first pixel: outputs are known in advance.

    A lookup table (an embedding with a scaled identity) turns that pixel into logits.
    """

    def __init__(self):
        super().__init__()
        self.table = nn.Embedding(4, 4)
        with torch.no_grad():
            self.table.weight.copy_(torch.eye(4) * 10)

    def forward(self, x):
        return self.table(x[:, 0, 0, 0].long())


def _known_loader():
    # supports: glioma 5, meningioma 3, notumor 7, pituitary 2 (all different, so a
    # reversed or shifted name order cannot pass)
    labels = torch.tensor([0] * 5 + [1] * 3 + [2] * 7 + [3] * 2)
    predicted = labels.clone()
    predicted[:2] = 2  # two gliomas called "notumor"
    images = predicted.float().view(-1, 1, 1, 1).expand(-1, 3, 4, 4).contiguous()
    return DataLoader(TensorDataset(images, labels), batch_size=4)


def _known_predictions():
    return evaluate(Oracle(), _known_loader(), CLASSES)


def test_each_report_row_has_the_right_name_and_support():
    ev = _known_predictions()
    report = ev.report_dict()
    assert {name: report[name]["support"] for name in CLASSES} == {
        "glioma": 5, "meningioma": 3, "notumor": 7, "pituitary": 2,
    }
    assert report["glioma"]["recall"] == 3 / 5
    assert report["notumor"]["precision"] == 7 / 9
    rows = {line.split()[0]: line.split() for line in ev.report().splitlines() if line.strip()}
    assert rows["glioma"][-1] == "5" and rows["pituitary"][-1] == "2"
    assert rows["glioma"][2] == "0.600"  # recall column
    assert ev.accuracy == 15 / 17
    assert ev.macro_f1 == pytest.approx((0.75 + 1 + 14 / 16 + 1) / 4)  # glioma F1 0.75, notumor 2*7/(9+7)


def test_confusion_matrix_rows_are_true_classes():
    assert _known_predictions().confusion().tolist() == [[3, 0, 2, 0], [0, 3, 0, 0], [0, 0, 7, 0], [0, 0, 0, 2]]


def test_predict_gives_labels_predictions_and_probabilities():
    y_true, y_pred, probs = predict(Oracle(), _known_loader())
    assert y_true.tolist() == [0] * 5 + [1] * 3 + [2] * 7 + [3] * 2
    assert y_pred.tolist() == [2, 2] + [0] * 3 + [1] * 3 + [2] * 7 + [3] * 2
    assert probs.shape == (17, 4) and probs.dtype == "float32"
    assert probs[0].tolist() == pytest.approx(torch.softmax(torch.tensor([0.0, 0, 10, 0]), 0).tolist())


def test_logits_come_back_as_float32_on_the_cpu_in_eval_mode():
    torch.manual_seed(0)
    model = build_model("cnn0", image_size=32).to(memory_format=torch.channels_last).train()
    layouts = []
    model.conv1.register_forward_pre_hook(lambda m, args: layouts.append(
        args[0].is_contiguous(memory_format=torch.channels_last)))
    images, labels = torch.randn(10, 3, 32, 32), torch.arange(10) % 4
    loader = DataLoader(TensorDataset(images, labels), batch_size=4)
    logits, got = logits_and_labels(model, loader)
    assert not model.training  # dropout off
    assert logits.shape == (10, 4) and logits.dtype == torch.float32 and logits.device.type == "cpu"
    assert got.tolist() == labels.tolist() and layouts == [True, True, True]  # input follows the model's layout
    with torch.no_grad():
        assert torch.allclose(logits, model(images), atol=1e-5)
    with autocast("bf16", torch.device("cpu")):  # as the trainer validates in mixed precision
        low, _ = logits_and_labels(model, loader)
    assert low.dtype == torch.float32 and torch.allclose(low, logits, atol=0.1)
    assert model_device(model).type == "cpu"


class Constant(nn.Module):
    """A model without parameters: always says "notumor"."""

    def forward(self, x):
        return torch.tensor([0.0, 0.0, 1.0, 0.0]).expand(len(x), 4)


def test_a_model_without_parameters_can_be_evaluated():
    ev = evaluate(Constant(), _known_loader(), CLASSES)
    assert ev.y_pred.tolist() == [2] * 17 and ev.accuracy == 7 / 17
