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
