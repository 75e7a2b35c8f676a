"""Shared access to the DiT conformance data in tests/conformance/ (see its README for tolerances)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file

CONFORMANCE = Path(__file__).resolve().parents[1] / "conformance"
TINY_WEIGHTS = CONFORMANCE / "tiny_weights.safetensors"
CASES = json.loads((CONFORMANCE / "tiny_config.json").read_text())["cases"]


def case_inputs(case: str) -> dict[str, torch.Tensor]:
    """Inputs of a golden case ('base_v2_full' or 'sr_v1_local')."""
    return load_file(CONFORMANCE / f"tiny_{case}_inputs.safetensors")


def case_expected(case: str) -> dict[str, torch.Tensor]:
    """Expected outputs of a golden case."""
    return load_file(CONFORMANCE / f"tiny_{case}_expected.safetensors")


def rel_rms(got: torch.Tensor, ref: torch.Tensor) -> float:
    """RMS of the difference relative to the RMS of the reference."""
    return float((got - ref).pow(2).mean().sqrt() / ref.pow(2).mean().sqrt())


def assert_bf16_close(got: torch.Tensor, ref: torch.Tensor) -> None:
    """README bf16 tolerance: relative RMS error <= 3e-2 and max |Δ| <= 5e-2 · max |ref|."""
    assert got.shape == ref.shape
    assert rel_rms(got, ref) <= 3e-2, rel_rms(got, ref)
    assert float((got - ref).abs().max()) <= 5e-2 * float(ref.abs().max())
