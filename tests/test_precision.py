"""Which number format a run trains in: decided from the device and the CPU's flags, checked when forced."""


import pytest
import torch

from mri_helpers.course import precision as P

CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
flags\t\t: fpu vme sse sse2 avx avx2 avx512f avx512_bf16 amx_tile amx_bf16 amx_int8
bugs\t\t: spectre_v1

processor\t: 1
flags\t\t: fpu vme sse sse2 avx avx2 avx512f avx512_bf16 amx_tile amx_bf16 amx_int8
"""


def test_cpu_flags_read_from_cpuinfo(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text(CPUINFO)
    flags = P.cpu_flags(path)
    assert {"avx2", "avx512_bf16", "amx_bf16", "amx_tile"} <= flags and "spectre_v1" not in flags
    assert len(flags) == 11
    (tmp_path / "no-flags").write_text("processor\t: 0\nmodel name\t: Apple M2\n")
    assert P.cpu_flags(tmp_path / "no-flags") == set()
    assert P.cpu_flags(tmp_path / "missing") == set()  # no /proc/cpuinfo (macOS, Windows)


def test_cpu_model_for_a_benchmark(tmp_path, monkeypatch):
    (tmp_path / "cpuinfo").write_text("processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu avx2\n")
    assert P.cpu_model(tmp_path / "cpuinfo") == "AMD EPYC 7B13"
    monkeypatch.setattr(P.platform, "processor", lambda: "arm")
    assert P.cpu_model(tmp_path / "missing") == "arm"  # no /proc/cpuinfo: what the platform says


@pytest.mark.parametrize("flags,expected", [
    (set(), []),
    ({"avx2", "avx512f"}, []),  # AVX-512 without its bfloat16 extension is not enough
    ({"avx2", "avx512_bf16"}, ["avx512_bf16"]),
    ({"amx_bf16"}, ["amx_bf16"]),
    ({"avx512_bf16", "amx_bf16", "amx_tile"}, ["amx_bf16", "avx512_bf16"]),
])
def test_cpu_bf16_capability(flags, expected):
    assert P.cpu_bf16_capability(flags) == expected


def test_cpu_bf16_capability_reads_this_cpu_by_default(monkeypatch):
    monkeypatch.setattr(P, "cpu_flags", lambda *a: {"avx2", "avx512_bf16"})
    assert P.cpu_bf16_capability() == ["avx512_bf16"]
    assert P.describe_cpu() == {"cpu_bf16": ["avx512_bf16"]}


def test_auto_on_the_cpu_follows_its_capability(monkeypatch):
    assert P.resolve("auto", "cpu", cpu_capability=[]) == "fp32"
    assert P.resolve("auto", "cpu", cpu_capability=["amx_bf16"]) == "bf16"
    # AVX512-BF16 alone ran bfloat16 no faster than fp32 here (make bench), so it is not enough
    assert P.resolve("auto", torch.device("cpu"), cpu_capability=["avx512_bf16"]) == "fp32"
    assert P.resolve("auto", "cpu", cpu_capability=["amx_bf16", "avx512_bf16"]) == "bf16"
    monkeypatch.setattr(P, "cpu_flags", lambda *a: {"avx2"})
    assert P.resolve("auto", "cpu") == "fp32"
    monkeypatch.setattr(P, "cpu_flags", lambda *a: {"avx2", "avx512_bf16"})
    assert P.resolve("auto", "cpu") == "fp32"
    monkeypatch.setattr(P, "cpu_flags", lambda *a: {"avx2", "amx_bf16"})
    assert P.resolve("auto", "cpu") == "bf16"


def test_forced_choices_are_kept_or_refused():
    assert P.resolve("fp32", "cpu", cpu_capability=["amx_bf16"]) == "fp32"
    assert P.resolve("bf16", "cpu", cpu_capability=[]) == "bf16"  # allowed, only slow
    with pytest.raises(ValueError, match="fp16 needs a GPU"):
        P.resolve("fp16", "cpu")
    for bad in ("fp8", "float32", "AUTO", ""):
        with pytest.raises(ValueError, match="precision must be one of auto, fp32, bf16, fp16"):
            P.resolve(bad, "cpu")


def test_auto_on_a_gpu_and_elsewhere(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert P.resolve("auto", "cuda") == "bf16"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert P.resolve("auto", "cuda") == "fp16"  # an older GPU: float16 with a gradient scaler
    assert P.resolve("fp16", "cuda") == "fp16"
    assert P.resolve("auto", "mps", cpu_capability=["amx_bf16"]) == "fp32"
