"""Which number format to train in, decided once per device from what the hardware does fast.

Mixed precision runs the convolutions in a 16-bit format while the weights stay 32-bit.
It is only worth it where the hardware has fast 16-bit arithmetic:

* a CPU with AMX (Intel Xeons since Sapphire Rapids): bfloat16; a CPU with only
  AVX512-BF16 runs bfloat16 no faster than fp32, and an AVX2-only CPU runs it slower, so
  both get fp32 (``make bench`` measures both precisions side by side);
* a CUDA GPU that supports bfloat16 (Ampere and newer): bfloat16; an older one: float16
  with a gradient scaler, because float16's small range underflows small gradients;
* anything else (Apple's MPS included): fp32.

``auto`` applies these rules; ``fp32``, ``bf16`` and ``fp16`` force a format. The decision
is recorded in every run, and it is part of the run's identity. The trainer runs the chosen
format (:func:`mri_helpers.training.autocast`).
"""

from __future__ import annotations

import platform
from pathlib import Path

import torch

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")  # reported in every record
FAST_CPU_BF16 = ("amx_bf16",)  # what makes bfloat16 worth it on a CPU (see the module docstring)


def cpu_field(name: str, cpuinfo: str | Path = "/proc/cpuinfo") -> str:
    """One field of the first CPU as Linux reports it ("" where there is no /proc/cpuinfo)."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return ""
    return next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith(name)), "")


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> set[str]:
    """The CPU's feature flags as Linux reports them (empty where there is no /proc/cpuinfo)."""
    return set(cpu_field("flags", cpuinfo).split())


def cpu_model(cpuinfo: str | Path = "/proc/cpuinfo") -> str:
    """The CPU's model name, for a benchmark's JSON: Linux's, else what the platform says."""
    return cpu_field("model name", cpuinfo) or platform.processor() or platform.machine()


def cpu_bf16_capability(flags: set[str] | None = None) -> list[str]:
    """Which of the fast-bfloat16 instruction sets this CPU has (empty: none)."""
    flags = cpu_flags() if flags is None else flags
    return [flag for flag in CPU_BF16_FLAGS if flag in flags]


def resolve(precision: str, device: torch.device | str, cpu_capability: list[str] | None = None) -> str:
    """Turn ``auto`` into ``fp32``, ``bf16`` or ``fp16`` for ``device``; check a forced choice."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}.")
    device = torch.device(device)
    if precision == "fp16" and device.type == "cpu":
        raise ValueError("fp16 needs a GPU; on a CPU use bf16 (fast only with AMX) or fp32.")
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if device.type == "cpu":
        capability = cpu_bf16_capability() if cpu_capability is None else cpu_capability
        return "bf16" if any(flag in FAST_CPU_BF16 for flag in capability) else "fp32"
    return "fp32"


def describe_cpu() -> dict:
    """What a results record says about the CPU's 16-bit support."""
    return {"cpu_bf16": cpu_bf16_capability()}
