"""Where the real MagiHuman weights live on disk, what is missing, and how to fetch them.

A models folder holds one snapshot per hub repository, each in its own sub-folder ("dubkit" layout):

    <models>/daVinci-MagiHuman/{base,distill,540p_sr,1080p_sr}/   GAIR/daVinci-MagiHuman (the four DiTs)
    <models>/daVinci-MagiHuman/turbo_vae/                         its Turbo VAE decoder (JSON config + .ckpt)
    <models>/t5gemma-9b-9b-ul2/                                   google/t5gemma-9b-9b-ul2 (text encoder + tokenizer)
    <models>/Wan2.2-TI2V-5B-Diffusers/vae/                        Wan-AI/Wan2.2-TI2V-5B-Diffusers (video VAE)
    <models>/stable-audio-open-1.0/vae/                           stabilityai/stable-audio-open-1.0 (audio VAE)

The folder the official README and example configs produce ("official" layout) is accepted too: the
GAIR/daVinci-MagiHuman download itself, its sub-folders (base/, distill/, ..., turbo_vae/) at the top, with the
other models placed inside it. `detect_layout` tells them apart; `check_folder` says which it found and what is
missing (see docs/model.md, "Weights").

A DiT folder holds `model.safetensors`, or `model.safetensors.index.json` plus every shard it lists. The HF
folders are the libraries' own formats (config.json + safetensors). The Turbo VAE `.ckpt` is read with
`torch.load(weights_only=True)`, which refuses pickled code; everything else is safetensors.

`check()` says exactly which files are missing; `pull()` downloads with huggingface_hub's `snapshot_download`
(endpoint configurable) and then verifies every LFS file against the sha256 the hub reports for it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from model.config import BASE_RESOLUTION, DEFAULT_MODE, MODES, RESOLUTIONS
from model.errors import ModelError

DIT_VARIANTS = ("base", "distill", "540p_sr", "1080p_sr")
LAYOUTS = ("dubkit", "official")
LAYOUT_NOTES = {
    "dubkit": "dubkit's own: one sub-folder per hub repository (daVinci-MagiHuman/base/ ...)",
    "official": "the official download: GAIR/daVinci-MagiHuman's sub-folders (base/, distill/, ..., turbo_vae/) at "
                "the top, the other models inside it",
}
VAE_DECODERS = ("turbo", "wan")  # the Turbo VAE (default, as the official pipeline) or the full Wan2.2 decoder
TURBO_CONFIG_NAME = "TurboV3-Wan22-TinyShallow_7_7.json"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class WeightsError(ModelError):
    """Base of the weights-folder errors."""


class WeightsMissingError(WeightsError):
    """Files the generator needs are not in the models folder. `.missing` lists them (paths in the folder)."""

    def __init__(self, folder: Path, missing: Iterable[str], extra: str = ""):
        self.folder = Path(folder)
        self.missing = tuple(missing)
        listing = "\n  ".join(self.missing)
        super().__init__(
            f"model weights missing in {self.folder}:\n  {listing}{extra}\n"
            f"fetch them with model.weights.pull({str(self.folder)!r}, ...) (dubkit: `dubkit models pull`)"
        )


class WeightsVerificationError(WeightsError):
    """A downloaded file's sha256 differs from the one the hub reports (names the file and both hashes)."""


@dataclass(frozen=True)
class Component:
    """One thing the generator loads: which hub repository it comes from and where it lands locally."""

    name: str
    repo_id: str
    local_dir: str  # snapshot folder inside the models folder
    subfolder: str  # the component's files inside the snapshot ("" = the repository root)
    kind: str  # "dit" | "transformers" | "diffusers" | "turbo"

    @property
    def path(self) -> str:
        """The component's folder relative to the models folder."""
        return f"{self.local_dir}/{self.subfolder}" if self.subfolder else self.local_dir

    @property
    def allow_patterns(self) -> list[str]:
        """Hub paths to download (the repositories hold much more than MagiHuman needs)."""
        if self.kind == "transformers":
            return ["*.json", "*.safetensors", "*.model", "*.txt"]
        return [f"{self.subfolder}/*"]


_MAGI = "GAIR/daVinci-MagiHuman"
COMPONENTS: dict[str, Component] = {
    **{v: Component(v, _MAGI, "daVinci-MagiHuman", v, "dit") for v in DIT_VARIANTS},
    "turbo_vae": Component("turbo_vae", _MAGI, "daVinci-MagiHuman", "turbo_vae", "turbo"),
    "t5gemma": Component("t5gemma", "google/t5gemma-9b-9b-ul2", "t5gemma-9b-9b-ul2", "", "transformers"),
    "wan22_vae": Component("wan22_vae", "Wan-AI/Wan2.2-TI2V-5B-Diffusers", "Wan2.2-TI2V-5B-Diffusers", "vae",
                           "diffusers"),
    "sao_vae": Component("sao_vae", "stabilityai/stable-audio-open-1.0", "stable-audio-open-1.0", "vae", "diffusers"),
}
ALWAYS_NEEDED = ("t5gemma", "wan22_vae", "sao_vae")
SR_COMPONENT = {"540p": "540p_sr", "1080p": "1080p_sr"}


def component_names(
    modes: Iterable[str] = (DEFAULT_MODE,), resolutions: Iterable[str] = (BASE_RESOLUTION,), vae: str = "turbo"
) -> list[str]:
    """Components a generator needs for these sampling modes and output resolutions (model.config) and video
    decoder (`vae`: "turbo" also needs the Turbo VAE; the Wan2.2 VAE is always needed, to encode images)."""
    if vae not in VAE_DECODERS:
        raise WeightsError(f"unknown video decoder {vae!r}; expected 'turbo' or 'wan'")
    names = list(ALWAYS_NEEDED) + (["turbo_vae"] if vae == "turbo" else [])
    for mode in modes:
        if mode not in MODES:
            raise WeightsError(f"unknown sampling mode {mode!r}; expected one of {', '.join(MODES)}")
        names.append(mode)
    for res in resolutions:
        if res not in RESOLUTIONS:
            raise WeightsError(f"unknown resolution {res!r}; expected one of {', '.join(RESOLUTIONS)}")
        if res in SR_COMPONENT:
            names.append(SR_COMPONENT[res])
    return list(dict.fromkeys(names))


def detect_layout(folder: str | Path) -> str:
    """"dubkit" when the folder holds `daVinci-MagiHuman/` (or nothing yet), "official" when the
    GAIR/daVinci-MagiHuman sub-folders (base/, distill/, ..., turbo_vae/) sit at its top."""
    folder = Path(folder)
    if (folder / COMPONENTS["base"].local_dir).is_dir():
        return "dubkit"
    magi = [c.subfolder for c in COMPONENTS.values() if c.repo_id == _MAGI]
    return "official" if any((folder / sub).is_dir() for sub in magi) else "dubkit"


def _relative(comp: Component, layout: str) -> str:
    """The component's folder relative to the models folder in `layout`."""
    if layout not in LAYOUTS:
        raise WeightsError(f"unknown weights layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    return comp.subfolder if layout == "official" and comp.repo_id == _MAGI else comp.path


def _snapshot_dir(comp: Component, layout: str) -> str:
    """Where the component's hub repository is downloaded to, relative to the models folder."""
    return "" if layout == "official" and comp.repo_id == _MAGI else comp.local_dir


def component_path(folder: str | Path, name: str, layout: str | None = None) -> Path:
    """Absolute folder of one component inside the models folder (layout detected unless given)."""
    return Path(folder) / _relative(_component(name), layout or detect_layout(folder))


def _component(name: str) -> Component:
    if name not in COMPONENTS:
        raise WeightsError(f"unknown weights component {name!r}; known: {', '.join(COMPONENTS)}")
    return COMPONENTS[name]


def _missing_weights(folder: Path, rel: str, single: str) -> list[str]:
    """Missing files of a safetensors checkpoint stored as `single` or `single.index.json` + shards."""
    index = folder / f"{single}.index.json"
    if index.is_file():
        try:
            shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return [f"{rel}/{index.name} (unreadable: not a safetensors index with a weight_map)"]
        out = []
        for shard in shards:
            if not (folder / shard).is_file():
                hint = " (only a .zst copy is present: decompress it with `zstd -d`)" \
                    if (folder / f"{shard}.zst").is_file() else ""
                out.append(f"{rel}/{shard}{hint}")
        return out
    if (folder / single).is_file():
        return []
    return [f"{rel}/{single} (or {single}.index.json + shards)"]


# Files the official layout holds where dubkit needs the diffusers copy (same weights, other format).
_OFFICIAL_FORMAT = {
    "wan22_vae": ("Wan2.2-TI2V-5B/Wan2.2_VAE.pth", "the original Wan-format pickle, which dubkit does not load"),
    "sao_vae": ("stable-audio-open-1.0/model.safetensors",
                "the stable-audio-tools file; dubkit loads the repository's diffusers vae/ sub-folder"),
}


def missing_files(folder: str | Path, name: str, layout: str | None = None) -> list[str]:
    """What one component lacks in `folder`, as paths relative to it ([] when complete)."""
    comp = _component(name)
    rel = _relative(comp, layout or detect_layout(folder))
    base = Path(folder) / rel
    if not base.is_dir():
        hint = ""
        if name in _OFFICIAL_FORMAT and (Path(folder) / _OFFICIAL_FORMAT[name][0]).is_file():
            hint = f"; {_OFFICIAL_FORMAT[name][0]} is present but is {_OFFICIAL_FORMAT[name][1]}"
        return [f"{rel}/ (the whole folder; from {comp.repo_id}{hint})"]
    if comp.kind == "dit":
        return _missing_weights(base, rel, "model.safetensors")
    if comp.kind == "turbo":
        return _missing_turbo(base, rel)
    missing = [] if (base / "config.json").is_file() else [f"{rel}/config.json"]
    if comp.kind == "transformers":
        if not ((base / "tokenizer.json").is_file() or (base / "tokenizer.model").is_file()):
            missing.append(f"{rel}/tokenizer.json (or tokenizer.model)")
        return missing + _missing_weights(base, rel, "model.safetensors")
    return missing + _missing_weights(base, rel, "diffusion_pytorch_model.safetensors")


def _turbo_checkpoints(base: Path) -> list[Path]:
    return sorted(p for p in base.iterdir() if p.is_file() and p.suffix in (".ckpt", ".safetensors"))


def _missing_turbo(base: Path, rel: str) -> list[str]:
    missing = [] if (base / TURBO_CONFIG_NAME).is_file() else [f"{rel}/{TURBO_CONFIG_NAME}"]
    if not _turbo_checkpoints(base):
        missing.append(f"{rel}/*.ckpt (the Turbo VAE checkpoint, checkpoint-340000.ckpt in the release)")
    return missing


def turbo_vae_files(folder: str | Path, layout: str | None = None) -> tuple[Path, Path]:
    """(config JSON, checkpoint) of the Turbo VAE in the models folder; WeightsMissingError or WeightsError
    (several checkpoints, naming them) otherwise."""
    missing = missing_files(folder, "turbo_vae", layout)
    if missing:
        raise WeightsMissingError(Path(folder), missing)
    base = component_path(folder, "turbo_vae", layout)
    checkpoints = _turbo_checkpoints(base)
    if len(checkpoints) > 1:
        raise WeightsError(f"{base} holds several Turbo VAE checkpoints ({', '.join(p.name for p in checkpoints)});"
                           f" keep one")
    return base / TURBO_CONFIG_NAME, checkpoints[0]


def check(folder: str | Path, components: Iterable[str] | None = None, layout: str | None = None) -> list[str]:
    """Everything missing for `components` (default: all) in the models folder; [] when all is present."""
    names = list(COMPONENTS) if components is None else list(components)
    layout = layout or detect_layout(folder)
    missing: list[str] = []
    for name in names:
        missing += missing_files(folder, name, layout)
    return missing


@dataclass(frozen=True)
class FolderCheck:
    """Which layout a models folder has and what it lacks for some components."""

    folder: Path
    layout: str  # "dubkit" | "official"
    components: tuple[str, ...]
    missing: tuple[str, ...]  # paths relative to the folder, each shard named

    @property
    def complete(self) -> bool:
        return not self.missing


def check_folder(folder: str | Path, components: Iterable[str] | None = None) -> FolderCheck:
    """Detect the layout of `folder` and list what `components` (default: all) lack in it."""
    names = tuple(COMPONENTS) if components is None else tuple(components)
    layout = detect_layout(folder)
    return FolderCheck(Path(folder), layout, names, tuple(check(folder, names, layout)))


def pull(
    folder: str | Path,
    components: Iterable[str] | None = None,
    *,
    endpoint: str | None = None,
    token: str | bool | None = None,
    revision: str | None = None,
    verify: bool = True,
) -> Path:
    """Download `components` (default: all) into the models folder with huggingface_hub, then verify them.

    `endpoint` overrides the hub URL (else huggingface_hub's own default / HF_ENDPOINT). Gated repositories
    (T5Gemma, Stable Audio Open) need a `token` of an account that accepted their terms. Raises
    WeightsMissingError if files are still missing afterwards, WeightsVerificationError on a hash mismatch.
    """
    from huggingface_hub import snapshot_download

    folder = Path(folder)
    names = list(COMPONENTS) if components is None else list(components)
    comps = [_component(n) for n in names]
    layout = detect_layout(folder)  # an official-layout folder is completed in place
    by_repo: dict[tuple[str, str], list[str]] = {}  # one download per repository, all wanted sub-folders at once
    for comp in comps:
        by_repo.setdefault((comp.repo_id, _snapshot_dir(comp, layout)), []).extend(comp.allow_patterns)
    for (repo_id, local_dir), patterns in by_repo.items():
        snapshot_download(
            repo_id, revision=revision, local_dir=folder / local_dir, allow_patterns=sorted(set(patterns)),
            endpoint=endpoint, token=token,
        )
        if verify:
            verify_download(folder / local_dir, repo_id, patterns, endpoint=endpoint, token=token, revision=revision)
    missing = check(folder, names, layout)
    if missing:
        raise WeightsMissingError(folder, missing, extra="\n(the hub repositories did not provide these files)")
    return folder


def verify_download(
    local_dir: Path, repo_id: str, patterns: Iterable[str], *, endpoint: str | None = None,
    token: str | bool | None = None, revision: str | None = None,
) -> int:
    """Check every local file matching `patterns` against the sha256 the hub reports for it (LFS files).

    Returns how many files were verified. Files the hub stores in plain git (small JSON) have no sha256
    and are skipped.
    """
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.utils import filter_repo_objects

    local_dir = Path(local_dir)
    files = sorted(
        p.relative_to(local_dir).as_posix() for p in local_dir.rglob("*")
        if p.is_file() and ".cache" not in p.relative_to(local_dir).parts
    )
    verified = 0
    for rel in filter_repo_objects(files, allow_patterns=list(patterns)):
        url = hf_hub_url(repo_id, rel, revision=revision, endpoint=endpoint)
        etag = (get_hf_file_metadata(url, token=token).etag or "").strip('"')
        if not _SHA256.match(etag):
            continue
        actual = _sha256_of(local_dir / rel)
        if actual != etag:
            raise WeightsVerificationError(
                f"{local_dir / rel} is corrupt: sha256 {actual}, but {repo_id} reports {etag}; delete it and pull again"
            )
        verified += 1
    return verified


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 24), b""):
            digest.update(block)
    return digest.hexdigest()
