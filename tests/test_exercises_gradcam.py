"""Notebook 11's checkers accept the solutions, name the common mistakes, and handle a stub."""

import pytest
import torch
from torch.utils.data import DataLoader

from mri_helpers.exercises import gradcam as checks
from mri_helpers.exercises.verdict import STUB, ExerciseError
from mri_helpers.gradcam import blank_border, border_sensitivity, gradcam


def said(capsys):
    return capsys.readouterr().out.strip()


def grad_cam(model, layer, image, target, relu=True, average=True, channels="sum", finally_=True, eval_=True,
             remove=True, predicted=False, upsample=False, keepdim=True, score="raw"):
    """The notebook's solution, with switches for the mistakes a student may make."""
    if eval_:
        model.eval()
    kept = {}
    forward = layer.register_forward_hook(lambda module, inputs, output: kept.update(maps=output))
    backward = layer.register_full_backward_hook(lambda module, grad_in, grad_out: kept.update(grads=grad_out[0]))

    def unhook():
        if remove:
            forward.remove()
            backward.remove()

    try:
        scores = model(image)
        model.zero_grad()
        chosen = int(scores.argmax()) if predicted else target
        {"raw": lambda: scores[0, chosen], "softmax": lambda: scores.softmax(dim=1)[0, chosen],
         "sum": lambda: scores.sum()}[score]().backward()
    finally:
        if finally_:
            unhook()
    if not finally_:
        unhook()
    grads = kept["grads"]
    weights = (grads.mean(dim=(2, 3), keepdim=keepdim) if average else grads) if channels != "grad-sum" \
        else grads.sum(dim=(2, 3), keepdim=True)
    weighted = weights * kept["maps"]
    cam = {"sum": weighted.sum(dim=1), "grad-sum": weighted.sum(dim=1), "mean": weighted.mean(dim=1),
           "batch": weighted.sum(dim=0)}[channels]
    cam = torch.relu(cam) if relu else cam
    if upsample:
        cam = torch.nn.functional.interpolate(cam[:, None], size=image.shape[-2:], mode="bilinear")[:, 0]
    return (cam if channels == "batch" else cam[0]).detach()


def stub(*args):
    raise NotImplementedError("Grad-CAM of image")


def test_the_cases_are_informative():
    """The checker's seeded models give maps and scores on which the mistakes differ."""
    model, image = checks.cam_case()
    from captum.attr import LayerGradCam
    raw = LayerGradCam(model, model.cam_layer).attribute(image, target=checks.TARGET)[0, 0]
    assert int((raw > 0).sum()) == 32 and int((raw < 0).sum()) == 32
    assert int(model(image).argmax()) != checks.TARGET
    assert not model.cam_layer._forward_hooks and not model.cam_layer._backward_hooks  # Captum cleans up
    frame_model, data = checks.frame_case()
    scores = border_sensitivity(frame_model, data, checks.NORMALIZE, (0.0, 0.1, 0.25))
    assert len(set(scores.values())) == 3 and scores[0.0] < 1
    order = model(image).argsort(descending=True)[0].tolist()
    maps = [gradcam(model, image, c)[0] for c in order[:2]]
    assert maps[1].max() == 1 and not torch.allclose(maps[0], maps[1])


def test_grad_cam_by_hand_passes(capsys):
    assert checks.check_grad_cam(grad_cam) is True and said(capsys) == "✓ correct"


@pytest.mark.parametrize("mistake,hint", [
    (dict(relu=False), "negative values"),
    (dict(average=False), "average its gradients over height and width"),
    (dict(channels="mean"), "a mean divides by the number of channels"),
    (dict(channels="grad-sum"), "rather than adding them"),
    (dict(channels="batch"), "over the channels (dim 1"),
    (dict(predicted=True), "not that of the predicted class"),
    (dict(remove=False), "remove both hooks"),
    (dict(finally_=False), "in a `finally:` block: when the pass fails"),
    (dict(eval_=False), "evaluation mode"),
    (dict(upsample=True), "return the coarse map"),
    (dict(keepdim=False), "1 x C x 1 x 1"),
    (dict(score="softmax"), "not its softmax probability"),
    (dict(score="sum"), "not the sum of all the scores"),
])
def test_grad_cam_mistakes_get_their_hint(mistake, hint, capsys):
    assert checks.check_grad_cam(lambda *args: grad_cam(*args, **mistake)) is False
    out = said(capsys)
    assert out.startswith("✗ not yet: ") and hint in out and "Traceback" not in out


def test_grad_cam_stub_and_none(capsys):
    assert checks.check_grad_cam(stub) is False and STUB in said(capsys)
    assert checks.check_grad_cam(None) is False and "set `grad_cam`" in said(capsys)
    assert checks.check_grad_cam(lambda *args: None) is False and "return the map" in said(capsys)


def frame_accuracy(model, dataset, normalize, fraction, frame=True, eval_=True, share=True, last_only=False):
    """The notebook's solution, with switches for the mistakes."""
    if eval_:
        model.eval()
    right = total = 0
    with torch.no_grad():
        for x, y in DataLoader(dataset, batch_size=64):
            framed = blank_border(x, fraction, normalize) if frame else x
            correct = int((model(framed).argmax(dim=1) == y).sum())
            right, total = (correct, len(y)) if last_only else (right + correct, total + len(y))
    return right / total if share else right


@pytest.mark.parametrize("mistake,hint", [
    (dict(frame=False), "accuracy without a frame"),
    (dict(share=False), "not a count"),
    (dict(last_only=True), "last batch"),
    (dict(eval_=False), "evaluation mode"),
])
def test_frame_accuracy_accepts_the_solution_and_names_mistakes(mistake, hint, capsys):
    assert checks.check_frame_accuracy(frame_accuracy) is True and said(capsys) == "✓ correct"
    assert checks.check_frame_accuracy(lambda *args: frame_accuracy(*args, **mistake)) is False
    out = said(capsys)
    assert out.startswith("✗ not yet: ") and hint in out
    model, data = checks.frame_case()
    answer = border_sensitivity(model, data, checks.NORMALIZE, (0.1,))[0.1]
    assert f"{answer}" not in out and f"{answer:.2f}" not in out


def test_frame_accuracy_stub(capsys):
    assert checks.check_frame_accuracy(stub) is False and STUB in said(capsys)


def runner_up(model, image, rank=-2, batch=False, predicted_map=False):
    """The notebook's solution, with switches for the mistakes."""
    model.eval()
    with torch.no_grad():
        probs = model(image[None]).softmax(dim=1)[0]
    other = int(probs.argsort()[rank])
    heatmap = gradcam(model, image[None], int(probs.argmax()) if predicted_map else other)
    return other, heatmap if batch else heatmap[0]


@pytest.mark.parametrize("mistake,hint", [
    (dict(rank=-1), "that is the predicted class"),
    (dict(rank=1), "second from the end"),
    (dict(rank=0), "second from the end"),
    (dict(batch=True), "take its [0]"),
    (dict(predicted_map=True), "the predicted class's"),
])
def test_runner_up_accepts_the_solution_and_names_mistakes(mistake, hint, capsys):
    assert checks.check_runner_up(runner_up) is True and said(capsys) == "✓ correct"
    assert checks.check_runner_up(lambda *args: runner_up(*args, **mistake)) is False
    out = said(capsys)
    assert out.startswith("✗ not yet: ") and hint in out


def test_runner_up_stub_and_a_single_return(capsys):
    assert checks.check_runner_up(stub) is False and STUB in said(capsys)
    assert checks.check_runner_up(lambda model, image: 1) is False and "return two things" in said(capsys)
    assert checks.check_runner_up(lambda model, image: 1 / 0) is False
    assert said(capsys) == "✗ not yet: your code raised ZeroDivisionError: division by zero"


def test_strict_mode_raises_on_a_wrong_map(monkeypatch):
    monkeypatch.setenv("MRI_EXERCISES_STRICT", "1")
    with pytest.raises(ExerciseError, match="negative values"):
        checks.check_grad_cam(lambda *args: grad_cam(*args, relu=False))
    assert checks.check_grad_cam(grad_cam)
