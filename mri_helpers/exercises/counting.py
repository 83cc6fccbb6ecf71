"""Checkers for numbers a student works out from an architecture: parameters, fields, shapes."""

from __future__ import annotations

import torch
from torch import nn

from ..hooks import capture
from ..models import build_model, layer_parameters
from .verdict import missing, number, verdict


def check_parameter_count(model_name: str, layer: str, answer, image_size: int = 256, num_classes: int = 4) -> bool:
    """03/05/07/10: how many parameters (weights and biases) does ``layer`` of a course model have?"""
    if missing(answer, "`count`"):
        return False
    if isinstance(answer, str) or number(answer) is None or hasattr(answer, "__len__"):
        return verdict(False, "`count` is one number (not text, and not a tuple: look for a trailing comma)")
    model = build_model(model_name, num_classes=num_classes, image_size=image_size)
    true = layer_parameters(model)[layer]
    hint = ("a Conv2d has out x in x kH x kW weights plus one bias per output channel; "
            "a Linear has out x in weights plus out biases")
    if int(answer) == true - sum(p.numel() for n, p in model.named_parameters() if n == f"{layer}.bias"):
        hint = "close: you counted the weights, now add the biases"
    return verdict(int(answer) == true, hint)


def receptive_field(model: nn.Module) -> int:
    """Side in pixels of the input patch that one position of the last feature map sees."""
    return receptive_fields(model)[-1]


def receptive_fields(model: nn.Module) -> list[int]:
    """The receptive field after each convolution and pooling, in the order they run.

    Walks the convolutions and poolings in the order they run (traced with hooks):
    each layer with kernel ``k`` widens the field by ``(k - 1)`` times the product of the
    strides before it.
    """
    order: list[nn.Module] = []
    handles = [m.register_forward_hook(lambda m, i, o: order.append(m)) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.MaxPool2d))]
    try:
        with torch.no_grad():  # any size that survives five halvings will do
            model.eval().features(torch.zeros(1, model.convs[0].in_channels, 64, 64))
    finally:
        for h in handles:
            h.remove()
    fields, field, jump = [], 1, 1
    for m in order:
        k = m.kernel_size[0] if isinstance(m.kernel_size, tuple) else m.kernel_size
        s = m.stride[0] if isinstance(m.stride, tuple) else m.stride
        field += (k - 1) * jump
        jump *= s
        fields.append(field)
    return fields


def check_receptive_field(model_name: str, answer) -> bool:
    """05: the receptive field of one position of a model's last feature map (after its last block)."""
    if missing(answer, "`field`"):
        return False
    if number(answer) is None:
        return verdict(False, "`field` is one number: the side of the patch, in pixels")
    fields = receptive_fields(build_model(model_name))
    field = fields[-1]
    hint = ("start at 1 pixel; a 3x3 conv adds 2 x (product of the strides so far), "
            "a 2x2 pool adds 1 x that product and then doubles it")
    if number(answer) == fields[-2]:
        hint = "one layer short: the last map is the one after the model's last layer, which adds one more step"
    elif number(answer) == fields[-3]:
        hint = "one block short: walk through every block, a conv and a pool each"
    return verdict(number(answer) == field, hint)


def check_output_shape(model: nn.Module, layer: str, image_size: int, answer) -> bool:
    """08: the output shape (channels, height, width) of ``layer`` for one image."""
    if missing(answer, "`shape`"):
        return False
    with capture(model, [layer]) as out, torch.no_grad():
        model.eval()(torch.zeros(1, model.convs[0].in_channels, image_size, image_size))
    true = tuple(out[layer].shape[1:])
    if not isinstance(answer, (tuple, list, torch.Size)):
        return verdict(False, "`shape` is three numbers: (channels, height, width)")
    if len(answer) == 4 and tuple(answer)[1:] == true:
        return verdict(False, "that shape has the batch dimension in front: give one image's (channels, height, width)")
    return verdict(tuple(answer) == true, "padding 1 keeps a 3x3 convolution's size; each 2x2 pool halves it; "
                                           "the channels are the conv's out_channels")
