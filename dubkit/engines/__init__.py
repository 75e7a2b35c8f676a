"""The engine registry: pick `preview` or `magihuman` by name, or automatically with the reason.

`auto` takes magihuman only when a CUDA device and a complete weights folder are both present; the
reason it fell back to preview is returned so the CLI and the report can say what to do about it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dubkit.engines.base import Engine, WindowRender, WindowRequest, cuda_available
from dubkit.engines.magihuman import MagiHumanEngine, required_components
from dubkit.engines.preview import PreviewEngine
from dubkit.errors import InputError
from model.config import BASE_RESOLUTION, DEFAULT_MODE, MODES, RESOLUTIONS
from model.weights import check

ENGINES = ("auto", "preview", "magihuman")

__all__ = ["ENGINES", "Engine", "EngineChoice", "WindowRender", "WindowRequest", "select_engine", "source_resolution"]

# Sources taller than this get the 1080p super-resolution path; shorter ones 540p (docs/localize.md).
SR_1080P_ABOVE = 720


def source_resolution(height: int) -> str:
    """The output resolution that follows a source `height` pixels tall: "1080p" above SR_1080P_ABOVE lines,
    else "540p". 256p, the base model's own size, is used only when asked for (`--resolution 256p`)."""
    return "1080p" if height > SR_1080P_ABOVE else "540p"


@dataclass(frozen=True)
class EngineChoice:
    """The engine a job runs with and why it was chosen."""

    engine: Engine
    reason: str


def _missing_weights(weights: Path | None, resolution: str, mode: str) -> list[str]:
    if weights is None:
        return ["--weights DIR (no weights folder given)"]
    if not Path(weights).is_dir():
        return [f"{weights} (not a folder)"]
    return list(check(Path(weights), required_components(resolution, mode)))


def check_engine_request(name: str, *, weights: Path | None, resolution: str, mode: str) -> None:
    """InputError for an unknown engine, resolution or mode, or magihuman asked for by name without
    complete weights; cheap (no model is loaded), so a job checks it before any slow stage."""
    if name not in ENGINES:
        raise InputError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
    if resolution not in RESOLUTIONS:
        raise InputError(f"unknown resolution {resolution!r}; choose one of {', '.join(RESOLUTIONS)}")
    if mode not in MODES:
        raise InputError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    if name == "magihuman":
        missing = _missing_weights(weights, resolution, mode)
        if missing:
            where = f" in {weights}" if weights is not None and Path(weights).is_dir() else ""
            raise InputError(
                f"magihuman engine needs weights; missing{where}: {', '.join(missing[:8])}"
                + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
                + " (fetch them with: dubkit models pull magihuman --weights DIR, then pass --weights DIR)"
            )


def select_engine(
    name: str = "auto",
    *,
    weights: Path | None = None,
    resolution: str = BASE_RESOLUTION,
    mode: str = DEFAULT_MODE,
) -> EngineChoice:
    """Build the engine named `name` (auto, preview, magihuman).

    auto: magihuman when CUDA and complete weights are present, else preview with the reason.
    magihuman by name: InputError listing what is missing from the weights folder; without CUDA it
    runs on the CPU (slow, but the user asked for it).
    """
    check_engine_request(name, weights=weights, resolution=resolution, mode=mode)
    if name == "preview":
        return EngineChoice(_preview(), "preview engine requested (--engine preview)")
    cuda = cuda_available()
    missing = _missing_weights(weights, resolution, mode)
    if name == "magihuman":
        device = "cuda" if cuda else "cpu"
        engine = MagiHumanEngine.from_weights(Path(weights), resolution=resolution, mode=mode, device=device)
        return EngineChoice(engine, "magihuman requested" + ("" if cuda else " (no CUDA device: running on CPU)"))
    if not cuda:
        return EngineChoice(_preview(), "preview chosen: no CUDA device, magihuman needs a GPU")
    if missing:
        return EngineChoice(
            _preview(),
            "preview chosen: magihuman weights incomplete, missing " + ", ".join(missing[:4])
            + " (fetch them with: dubkit models pull magihuman --weights DIR, then pass --weights DIR)",
        )
    engine = MagiHumanEngine.from_weights(Path(weights), resolution=resolution, mode=mode, device="cuda")
    return EngineChoice(engine, "magihuman chosen: CUDA device and complete weights present")


def _preview() -> Engine:
    return PreviewEngine()
