"""Dropout, measured: what it does to the outputs of a layer (notebook 06)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def dropout_sums(p: float, draws: int = 1000, features: int = 100, seed: int = 0) -> tuple[np.ndarray, float]:
    """Sum the outputs of a fixed linear layer after ``nn.Dropout(p)``, ``draws`` times.

    Returns the sums and the sum without dropout. Because dropout scales the kept
    values by ``1 / (1 - p)``, the sums average to the no-dropout sum for every ``p``;
    only their spread grows with ``p``. That is why a network trained with dropout
    needs no change at evaluation time, when dropout is switched off.
    """
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        layer = nn.Linear(features, features)
        x = torch.rand(1, features)
        dropout = nn.Dropout(p).train()
        with torch.no_grad():
            outputs = torch.relu(layer(x))  # dropout usually follows a ReLU
            sums = torch.stack([dropout(outputs).sum() for _ in range(draws)])
    return sums.numpy(), float(outputs.sum())
