"""bench/dit_bench.py: its FLOP formulas reproduce docs/cost.md, and it runs end to end on a CPU (tiny preset)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from model import DiTConfig, local_attention_ranges_for
from model.attention import LocalPlan

BENCH = Path(__file__).resolve().parents[2] / "bench" / "dit_bench.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("dit_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["dit_bench"] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "case, nv, linear, attention, total",
    [
        ("256p", 3584, 8.864e13, 1.350e13, 1.021e14),
        ("540p", 14336, 3.234e14, 1.797e14, 5.031e14),
        ("1080p", 65280, 1.435e15, 2.3966e15, 3.832e15),
    ],
)
def test_flops_per_forward_match_cost_md(bench, case, nv, linear, attention, total):
    cfg = DiTConfig.preset("15b")
    length = nv + 126 + 350
    plan, layers = None, ()
    if case == "1080p":
        plan = LocalPlan.from_ranges(*local_attention_ranges_for(nv, 32, length, 11), length)
        layers = bench.LOCAL_ATTN_LAYERS_1080P
    lin = bench.linear_flops(cfg, nv, 126, 350)
    att = bench.attention_flops(cfg, length, layers, plan)
    assert lin == pytest.approx(linear, rel=1e-3)
    assert att == pytest.approx(attention, rel=1e-3)
    assert lin + att == pytest.approx(total, rel=1e-3)


def test_bench_runs_end_to_end_on_cpu_with_the_tiny_preset(bench, capsys):
    argv = ["--preset", "tiny", "--device", "cpu", "--dtype", "fp32", "--seconds", "0.04", "--text-tokens", "8",
            "--cases", "256p,1080p", "--warmup", "0", "--repeats", "1", "--threads", "1"]
    threads = torch.get_num_threads()
    try:
        assert bench.main(argv) == 0
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert "torch " in out and "1080p" in out and "TFLOP/s" in out
    assert "T = 1 latent frames, Na = 2" in out


def _run(bench, argv, capsys) -> str:
    threads = torch.get_num_threads()
    try:
        assert bench.main(argv) == 0
    finally:
        torch.set_num_threads(threads)
    return capsys.readouterr().out


def test_bench_builds_the_dit_as_the_generator_does(bench, capsys):
    argv = ["--preset", "tiny", "--device", "cpu", "--dtype", "fp32", "--seconds", "0.04", "--text-tokens", "8",
            "--cases", "256p", "--warmup", "0", "--repeats", "1", "--threads", "1"]
    out = _run(bench, argv, capsys)
    assert out.startswith("machine: ")
    assert "mlp pad 64 | mlp chunk 16384 | compile off" in out  # compile follows the generator: on CUDA only


def test_sdpa_backends_run_on_cpu_and_name_the_kernels_it_lacks(bench, capsys):
    # 13 one-token latent frames: at receptive field 11 the first frames' windows end before the last frame, so
    # the local rows merge two key runs by log-sum-exp.
    argv = ["--sdpa-backends", "--preset", "tiny", "--device", "cpu", "--dtype", "fp32", "--seconds", "2",
            "--text-tokens", "8", "--latent-hw", "2x2", "--warmup", "0", "--repeats", "1", "--threads", "1"]
    out = _run(bench, argv, capsys)
    rows = {tuple(line.split()[:4]): line for line in out.splitlines() if line.startswith(("256p", "1080p"))}
    assert {key[:3] for key in rows} == {("256p", "72", "full"), ("1080p", "72", "full"), ("1080p", "72", "local")}
    assert len(rows) == 12  # and 4 kernels each
    for (*_, kernel), line in rows.items():
        if kernel in ("flash", "math"):  # the CPU's kernels
            float(line.split()[4])
        else:
            assert "unavailable on this cpu" in line, line
    assert out.startswith("machine: ") and "torch " in out


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_sdpa_backends_time_the_flash_kernel_on_a_gpu(bench, capsys):
    argv = ["--sdpa-backends", "--preset", "tiny", "--device", "cuda", "--seconds", "2", "--text-tokens", "8",
            "--latent-hw", "4x4", "--warmup", "1", "--repeats", "2"]
    out = _run(bench, argv, capsys)
    flash = [line for line in out.splitlines() if " flash " in line]
    assert len(flash) == 3 and all(float(line.split()[4]) > 0 for line in flash)
