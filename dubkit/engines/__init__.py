"""The engine registry: pick `preview` or `magihuman` by name, or automatically with the reason.

`auto` takes magihuman only when a CUDA device and a complete weights folder are both present; the
reason it fell back to preview is returned so the CLI and the report can say what to do about it.
What "complete" means follows the job's recipes (model.recipe): a job with voice tracks needs the
base model (the official A2V path), a super-resolution job needs it too (the released SR configs run
it first), unless the job asked for the distilled variants.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dubkit.engines.base import Engine, WindowRender, WindowRequest, cuda_available
from dubkit.engines.magihuman import MagiHumanEngine, required_components
from dubkit.engines.preview import PreviewEngine
from dubkit.errors import InputError
from model.recipe import RecipeChoice
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


def _missing_weights(weights: Path | None, recipes: RecipeChoice, kinds: tuple[str, ...]) -> list[str]:
    if weights is None:
        return ["--weights DIR (no weights folder given)"]
    if not Path(weights).is_dir():
        return [f"{weights} (not a folder)"]
    return list(check(Path(weights), required_components(recipes, kinds)))


def _why_base(recipes: RecipeChoice, kinds: tuple[str, ...]) -> str:
    """Why a job needs the base model, when it does and the user did not ask for it by name."""
    if "base" not in recipes.modes(kinds) or recipes.mode == "base":
        return ""
    if "a2v" in kinds and recipes.recipe(True).mode == "base":
        return ("; voice-track windows run the base model (the official A2V path; the distilled one regenerates "
                "supplied audio: --a2v-distill-experimental)")
    return f"; the released {recipes.resolution} configs run the base model before SR (--sr-fast: distilled)"


def _fetch_hint(recipes: RecipeChoice, kinds: tuple[str, ...]) -> str:
    """The `models pull` command that fetches what this job's recipes load."""
    modes = " ".join(f"--mode {m}" for m in recipes.modes(kinds))
    res = f" --resolution {recipes.resolution}" if recipes.resolution != "256p" else ""
    return f" (fetch them with: dubkit models pull magihuman --weights DIR {modes}{res}, then pass --weights DIR)"


def check_engine_request(
    name: str, *, weights: Path | None, recipes: RecipeChoice | None = None, kinds: tuple[str, ...] = ("t2v",)
) -> None:
    """InputError for an unknown engine, or magihuman asked for by name without the weights its recipes need
    (`kinds`: the job's window kinds, "t2v" and/or "a2v"); cheap (no model is loaded), so a job checks it
    before any slow stage."""
    if name not in ENGINES:
        raise InputError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
    recipes = recipes or RecipeChoice()
    if name == "magihuman":
        missing = _missing_weights(weights, recipes, kinds)
        if missing:
            where = f" in {weights}" if weights is not None and Path(weights).is_dir() else ""
            raise InputError(
                f"magihuman engine needs weights; missing{where}: {', '.join(missing[:8])}"
                + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
                + _why_base(recipes, kinds)
                + _fetch_hint(recipes, kinds)
            )


def select_engine(
    name: str = "auto",
    *,
    weights: Path | None = None,
    recipes: RecipeChoice | None = None,
    kinds: tuple[str, ...] = ("t2v",),
) -> EngineChoice:
    """Build the engine named `name` (auto, preview, magihuman) for a job with these recipe settings and window
    kinds.

    auto: magihuman when CUDA and complete weights are present, else preview with the reason.
    magihuman by name: InputError listing what is missing from the weights folder; without CUDA it
    runs on the CPU (slow, but the user asked for it).
    """
    recipes = recipes or RecipeChoice()
    check_engine_request(name, weights=weights, recipes=recipes, kinds=kinds)
    if name == "preview":
        return EngineChoice(_preview(), "preview engine requested (--engine preview)")
    cuda = cuda_available()
    missing = _missing_weights(weights, recipes, kinds)
    if name == "magihuman":
        device = "cuda" if cuda else "cpu"
        engine = MagiHumanEngine.from_weights(Path(weights), recipes=recipes, kinds=kinds, device=device)
        return EngineChoice(engine, "magihuman requested" + ("" if cuda else " (no CUDA device: running on CPU)"))
    if not cuda:
        return EngineChoice(_preview(), "preview chosen: no CUDA device, magihuman needs a GPU")
    if missing:
        return EngineChoice(
            _preview(),
            "preview chosen: magihuman weights incomplete, missing " + ", ".join(missing[:4])
            + _why_base(recipes, kinds)
            + _fetch_hint(recipes, kinds),
        )
    engine = MagiHumanEngine.from_weights(Path(weights), recipes=recipes, kinds=kinds, device="cuda")
    return EngineChoice(engine, "magihuman chosen: CUDA device and complete weights present")


def _preview() -> Engine:
    return PreviewEngine()
