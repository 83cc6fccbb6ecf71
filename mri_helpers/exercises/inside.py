"""Checkers for notebooks 07 and 08: CNN3's head written by hand, and a forward hook of the student's own."""

from __future__ import annotations

import torch

from ..hooks import capture
from ..models import build_model
from .verdict import attempt, missing, raised, verdict


def _cnn3(image_size: int = 32, p: float | None = None) -> tuple[torch.nn.Module, torch.Tensor]:
    """The checker's own CNN3 (with dropout ``p`` if given) and images, without touching the notebook's random state."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = build_model("cnn3", image_size=image_size)
        if p is not None:
            for module in model.modules():
                if isinstance(module, torch.nn.Dropout):
                    module.p = p
        images = torch.randn(3, 3, image_size, image_size)
    return model, images


def check_wide_head(head_class) -> bool:
    """07: does ``head_class(in_features, hidden, num_classes, p)`` compute CNN3's head, dropout included?

    The checker builds its own CNN3 (at 64 px, so fc1 sees 256 x 2 x 2 values), loads that
    model's fc1 and fc2 weights into the student's head, and compares the head's output on the
    model's own feature maps with the model's output: in evaluation mode, then in training
    mode with the same random seed, so that dropout must drop exactly what CNN3's does.
    """
    if missing(head_class, "`WideHead`"):
        return False
    with torch.random.fork_rng():  # the student's head draws its initial weights: not from the notebook's stream
        return _check_wide_head(head_class, p=0.5) and _check_wide_head(head_class, p=0.3, say_correct=True)


def _check_wide_head(head_class, p: float, say_correct: bool = False) -> bool:
    """One comparison at dropout ``p``; only a failure prints, unless ``say_correct``."""
    model, images = _cnn3(64, p)
    with torch.no_grad():
        maps = model.features(images)
    try:
        head = head_class(in_features=maps[0].numel(), hidden=model.hidden, num_classes=4, p=p)
        weights = {k: v for k, v in model.state_dict().items() if k.startswith(("fc1.", "fc2."))}
        try:
            head.load_state_dict(weights)
        except RuntimeError:
            return verdict(False, "the checker could not load CNN3's weights into your head: name the two linear "
                                  "layers fc1 and fc2, as CNN3 does, sized in_features -> hidden -> num_classes")
        with torch.no_grad():
            model.eval()
            head.eval()
            expected, got, again = model(images), head(maps), head(maps)
            model.train()
            head.train()
            torch.manual_seed(1)
            expected_train = model(images)
            torch.manual_seed(1)
            got_train = head(maps)
    except NotImplementedError:
        return verdict(False, "write the class's methods in the cell above (replace each raise), then run this "
                              "cell again")
    except Exception as error:  # any mistake in student code becomes a hint
        hint = raised(error)
        if "shapes cannot be multiplied" in hint:
            hint += " (flatten the maps first: N x C x H x W -> N x C·H·W)"
        return verdict(False, hint)
    if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
        return verdict(False, "forward should return one row of num_classes scores per image: "
                              f"a tensor of shape {tuple(expected.shape)} here")
    if not torch.equal(got, again):
        return verdict(False, "your head gives a different answer on every call in evaluation mode: use "
                              "nn.Dropout layers, which .eval() switches off")
    if not torch.allclose(got, expected, atol=1e-5):
        without_relu = model.fc2(model.fc1(maps.flatten(1)))
        if torch.allclose(got, without_relu, atol=1e-5):
            return verdict(False, "close: fc1's output goes through a ReLU before fc2")
        return verdict(False, "in evaluation mode the head should compute flatten -> fc1 -> ReLU -> fc2 "
                              "(dropout does nothing then)")
    if torch.allclose(got_train, got, atol=1e-5):
        return verdict(False, "in training mode nothing is dropped: add nn.Dropout(p) on the flattened maps, "
                              "and another after fc1's ReLU")
    ok = torch.allclose(got_train, expected_train, atol=1e-5)
    if ok and not say_correct:
        return True
    return verdict(ok, "dropout is not where CNN3 has it: one nn.Dropout(p) on the flattened maps before fc1, one "
                       "after fc1's ReLU, none after fc2, each with the probability p the head is given")


def _hooks_left(model: torch.nn.Module) -> bool:
    return any(module._forward_hooks for module in model.modules())


def check_keep_output(keep_output) -> bool:
    """08: does ``keep_output(model, layer, images)`` return ``{layer: its output}`` and leave no hook behind?

    It is tried on the checker's own CNN3 and images, for a convolution and a ReLU, against
    the library's :func:`mri_helpers.hooks.capture`; then with images the model cannot take,
    after which no hook may be left on the model either.
    """
    if missing(keep_output, "`keep_output`"):
        return False
    model, images = _cnn3()
    for layer in ("conv2", "relu4"):
        with capture(model, [layer]) as outputs, torch.no_grad():
            model.eval().features(images)
        expected = outputs[layer]
        kept, hint = attempt(keep_output, model, layer, images)
        if hint:
            return verdict(False, hint)
        if _hooks_left(model):
            return verdict(False, "a hook is still on the model: keep the handle that register_forward_hook "
                                  "returns, and call handle.remove() once the forward pass is done")
        if not isinstance(kept, dict):
            return verdict(False, "return the dict in which your hook stored the output")
        if layer not in kept:
            return verdict(False, "store the output under the layer's name, the `layer` argument")
        value = kept[layer]
        if isinstance(value, (list, tuple)) and len(value) == 1 and isinstance(value[0], torch.Tensor) \
                and value[0].shape == expected.shape:
            return verdict(False, "store the tensor itself, kept[layer] = output.detach(), not a list holding it")
        if not isinstance(value, torch.Tensor) or value.shape != expected.shape:
            return verdict(False, "store the layer's output: a hook is called as hook(module, inputs, output), "
                                  "and inputs is a tuple of what went in")
        if value.requires_grad:
            return verdict(False, "store output.detach(), so that the dict does not hold on to the autograd history")
        if not torch.allclose(value.cpu(), expected, atol=1e-5):
            return verdict(False, "the stored values are not the layer's output: store the hook's output argument "
                                  "as it comes, on the layer named by `layer`")
    try:
        keep_output(model, "conv3", torch.zeros(1, 5, 32, 32))  # conv1 takes 3 channels: this pass fails
    except Exception:  # the failure is the point: what matters is what it leaves behind
        pass
    return verdict(not _hooks_left(model), "when the forward pass fails, your hook stays on the model: remove it "
                                          "in a finally: clause, which runs also after an error")
