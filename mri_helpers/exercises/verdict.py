"""How every checker answers: ✓, or a hint and never the answer (and in CI, an error)."""

from __future__ import annotations

import math
import os
import traceback

import numpy as np
import torch


class ExerciseError(AssertionError):
    """A solution in the instructor edition no longer passes its checker."""


def verdict(ok: bool, hint: str) -> bool:
    if ok:
        print("✓ correct")
    else:
        print(f"✗ not yet: {hint}")
        if os.environ.get("MRI_EXERCISES_STRICT") == "1":
            raise ExerciseError(f"exercise check failed: {hint}")
    return ok


def missing(answer, what: str) -> bool:
    if answer is None:
        verdict(False, f"set {what} in the cell above, then run this cell again")
        return True
    return False


def number(value) -> float | None:
    """One number from a float or a one-element tensor, else ``None``."""
    try:
        return float(torch.as_tensor(value).reshape(()))
    except (RuntimeError, TypeError, ValueError):
        return None


STUB = "write the function in the cell above (replace the raise), then run this cell again"


def is_stub(error: NotImplementedError) -> bool:
    """Did the student's own ``raise NotImplementedError`` raise ``error``, rather than PyTorch (an op a dtype lacks)?"""
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and "NotImplementedError" in (frames[-1].line or "")


def raised(error: Exception) -> str:
    """A one-line hint naming what the student's code raised, never a traceback."""
    message = (str(error).strip().splitlines() or [""])[0][:150]
    return f"your code raised {type(error).__name__}" + (f": {message}" if message else "")


def attempt(function, *args, **kwargs):
    """``(result, None)``, or ``(None, hint)`` when the student's code is still a stub or raises."""
    try:
        return function(*args, **kwargs), None
    except NotImplementedError as error:
        return None, STUB if is_stub(error) else raised(error)
    except Exception as error:  # noqa: BLE001 - any error of the student's code becomes a one-line hint
        return None, raised(error)


def first_mismatch(function, args_at, expected: torch.Tensor, how_to_return: str):
    """Call ``function(*args_at(position))`` at every position of ``expected``.

    Returns ``None`` when every answer agrees, a hint when the function is still a stub or
    does not return one number, else the first wrong ``(position, value)``.
    """
    for position in np.ndindex(*expected.shape):
        try:
            value = number(function(*args_at(position)))
        except NotImplementedError:
            return STUB
        if value is None:
            return how_to_return
        if not math.isclose(value, float(expected[position]), rel_tol=1e-4, abs_tol=1e-4):
            return position, value
    return None
