"""Look inside a network with forward hooks.

A forward hook is a function PyTorch calls with a layer's output every time the layer
runs. :func:`capture` registers one per named layer, stores detached copies of the
outputs, and removes every hook when the ``with`` block ends (also when it ends with an
exception) so that no forgotten hook keeps slowing down or leaking memory in training.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch
from torch import nn


@contextlib.contextmanager
def capture(model: nn.Module, layer_names: list[str]) -> Iterator[dict[str, torch.Tensor]]:
    """Inside the block, every forward pass stores ``outputs[name]`` for each named layer.

    >>> with capture(model, ["conv1", "conv2"]) as outputs:
    ...     model(images)
    >>> outputs["conv1"].shape   # batch x channels x height x width
    """
    modules = dict(model.named_modules())
    missing = [name for name in layer_names if name not in modules]
    if missing:
        raise KeyError(f"No layer named {missing} in the model; choose from {[n for n in modules if n]}.")
    outputs: dict[str, torch.Tensor] = {}
    handles = []

    def keep(name):
        def hook(module, inputs, output):
            outputs[name] = output.detach().cpu().contiguous()

        return hook

    try:
        for name in layer_names:
            handles.append(modules[name].register_forward_hook(keep(name)))
        yield outputs
    finally:
        for handle in handles:
            handle.remove()


def conv_filters(model: nn.Module, layer_name: str) -> torch.Tensor:
    """The weights of a conv layer, ``out_channels x in_channels x kH x kW``, on the CPU."""
    layer = dict(model.named_modules()).get(layer_name)
    if not isinstance(layer, nn.Conv2d):
        raise KeyError(f"'{layer_name}' is not a Conv2d layer of this model.")
    return layer.weight.detach().cpu().clone()
