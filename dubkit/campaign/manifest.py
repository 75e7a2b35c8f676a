"""The spots of a campaign: from several sources on the command line, or from a TOML manifest.

Every spot becomes one checked `LocalizeOptions` before anything runs. The manifest is checked
completely (every key's type, every path, language and option of every spot) and all its problems
are reported at once, each naming the spot and the key (docs/campaigns.md). Paths in a manifest are
relative to the manifest's folder.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from dubkit.errors import DubkitError, InputError
from dubkit.options import LocalizeOptions, checked
from eval.errors import EvalError
from langs import LanguageError, get_language, parse_languages
from model.config import MODES, RESOLUTIONS
from model.errors import ModelError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$")
_CHECK_ERRORS = (DubkitError, EvalError, LanguageError, ModelError)


class ManifestError(InputError):
    """A manifest (or a list of sources) that cannot run: every problem found, each naming spot and key."""


@dataclass(frozen=True)
class Spot:
    """One source of a campaign, under the name that is its folder in OUT (its stem unless named)."""

    name: str
    options: LocalizeOptions


# key in the manifest -> (LocalizeOptions field, kind). Kinds are checked by _VALUE below.
KEYS: dict[str, tuple[str, str]] = {
    "to": ("languages", "languages"), "source_script": ("source_script", "file"), "scripts": ("scripts_dir", "folder"),
    "translators": ("translators", "strings"), "glossary": ("glossary", "file"), "engine": ("engine", "engine"),
    "weights": ("weights", "folder"), "resolution": ("resolution", "resolution"), "mode": ("mode", "mode"),
    "voice_tracks": ("voice_tracks", "file_table"), "me_track": ("me_track", "file"),
    "loudness": ("loudness", "number"), "speakers": ("speakers", "text_table"), "diarize": ("diarize", "bool"),
    "n_speakers": ("n_speakers", "count"), "max_attempts": ("max_attempts", "count"), "seed": ("seed", "seed"),
    "asr_model": ("asr_model", "text"), "threshold": ("threshold", "number"),
}
SPOT_ONLY = ("source", "name")


def _file(value: Any, base: Path) -> Path:
    path = base / _text(value)
    if not path.is_file():
        raise ValueError(f"{path} does not exist" if not path.exists() else f"{path} is not a file")
    return path


def _folder(value: Any, base: Path) -> Path:
    path = base / _text(value)
    if not path.is_dir():
        raise ValueError(f"{path} is not a folder")
    return path


def _text(value: Any, base: Path | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{value!r} is not a non-empty string")
    return value


def _languages(value: Any, base: Path) -> tuple:
    codes = ",".join(value) if isinstance(value, list) else _text(value)
    try:
        return tuple(parse_languages(codes))
    except LanguageError as err:
        raise ValueError(str(err)) from None


def _choice(options: Sequence[str]) -> Callable[[Any, Path], str]:
    def check(value: Any, base: Path) -> str:
        if value not in options:
            raise ValueError(f"{value!r} is not one of {', '.join(options)}")
        return value

    return check


def _number(value: Any, base: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{value!r} is not a number")
    return float(value)


def _integer(least: int) -> Callable[[Any, Path], int]:
    def check(value: Any, base: Path) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{value!r} is not a whole number >= {least}")
        return value

    return check


def _bool(value: Any, base: Path) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{value!r} is not true or false")
    return value


def _strings(value: Any, base: Path) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValueError(f"{value!r} is not a list of strings")
    return tuple(_text(v) for v in value)


def _table(item: Callable[[Any, Path], Any]) -> Callable[[Any, Path], dict]:
    def check(value: Any, base: Path) -> dict:
        if not isinstance(value, dict):
            raise ValueError(f"{value!r} is not a table (NAME = VALUE)")
        return {str(k): item(v, base) for k, v in value.items()}

    return check


_VALUE: dict[str, Callable[[Any, Path], Any]] = {
    "languages": _languages, "file": _file, "folder": _folder, "strings": _strings, "text": _text,
    "engine": _choice(("auto", "preview", "magihuman")), "resolution": _choice(tuple(RESOLUTIONS)),
    "mode": _choice(MODES), "file_table": _table(_file), "text_table": _table(_text), "number": _number,
    "bool": _bool, "count": _integer(1), "seed": _integer(0),
}


def _values(table: Mapping[str, Any], base: Path, where: str, problems: list[str]) -> dict[str, Any]:
    """The LocalizeOptions fields a manifest table sets; each bad key adds a problem naming it."""
    found: dict[str, Any] = {}
    for key, value in table.items():
        if key in SPOT_ONLY:
            continue
        if key not in KEYS:
            problems.append(f"{where}: key {key!r} is not a manifest key (known: {', '.join(sorted(KEYS))})")
            continue
        name, kind = KEYS[key]
        try:
            found[name] = _VALUE[kind](value, base)
        except ValueError as err:
            problems.append(f"{where}: key {key!r}: {err}")
    return found


def _voice_tracks_follow_languages(values: dict[str, Any], where: str, problems: list[str]) -> None:
    codes = {lang.code for lang in values.get("languages", ())}
    for tag in values.get("voice_tracks", {}):
        try:
            code = get_language(tag.partition(":")[0]).code
        except LanguageError as err:
            problems.append(f"{where}: key 'voice_tracks': {err}")
            continue
        if codes and code not in codes:
            problems.append(f"{where}: key 'voice_tracks': {tag} is not among the spot's languages {sorted(codes)}")


def read_manifest(path: Path, out: Path | None, base: Mapping[str, Any] | None = None) -> list[Spot]:
    """The spots of a manifest, each option checked; ManifestError listing every problem.

    `base`: LocalizeOptions fields given on the command line, below the manifest's [defaults];
    `out`: the campaign's output folder (default: `out` beside the manifest).
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except OSError as err:
        raise ManifestError(f"manifest {path} cannot be read: {err.strerror}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ManifestError(f"manifest {path} is not valid TOML: {err}") from None
    problems: list[str] = []
    for key in sorted(set(data) - {"defaults", "spot"}):
        problems.append(f"{path}: top-level key {key!r} is not known (use [defaults] and [[spot]])")
    folder = path.parent
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        problems.append(f"{path}: [defaults] is not a table")
        defaults = {}
    common = {**(base or {}), **_values(defaults, folder, f"{path} [defaults]", problems)}
    entries = data.get("spot", [])
    if not isinstance(entries, list) or not entries:
        problems.append(f"{path}: no [[spot]] entries")
        entries = []
    spots = [_spot(entry, i, folder, common, problems, path) for i, entry in enumerate(entries)]
    return _checked_spots([s for s in spots if s is not None], problems, path, out or folder / "out")


def _spot(entry: Any, i: int, folder: Path, common: dict, problems: list[str], path: Path) -> Spot | None:
    where = f"{path} spot {i + 1}"
    if not isinstance(entry, dict):
        problems.append(f"{where}: is not a table")
        return None
    name = entry.get("name")
    if name is not None:
        where = f"{path} spot {name!r}"
        if not isinstance(name, str) or not _NAME.match(name):
            problems.append(f"{where}: key 'name': use letters, digits, '.', '_' or '-' (a folder name)")
    if "source" not in entry:
        problems.append(f"{where}: key 'source' is missing")
        return None
    try:
        source = _file(entry["source"], folder)
    except ValueError as err:
        problems.append(f"{where}: key 'source': {err}")
        return None
    if name is None:
        where = f"{path} spot {source.stem!r}"
    values = {**common, **_values(entry, folder, where, problems)}
    _voice_tracks_follow_languages(values, where, problems)
    if "languages" not in values:
        problems.append(f"{where}: key 'to' is missing (here, in [defaults] or as --to)")
        return None
    return Spot(str(name or source.stem), LocalizeOptions(source=source, **values))


def spots_from_sources(sources: Sequence[Path], out: Path | None, base: Mapping[str, Any]) -> list[Spot]:
    """One spot per source given on the command line, all with the same options (`out`: default
    `out` beside the first source, as for one source)."""
    spots = [Spot(Path(s).stem, LocalizeOptions(source=Path(s), **base)) for s in sources]
    return _checked_spots(spots, [], None, out or Path(sources[0]).parent / "out")


def _checked_spots(spots: list[Spot], problems: list[str], manifest: Path | None, out: Path) -> list[Spot]:
    """Names distinct, then every spot's options checked (checked() of the single-source job) with
    its output folder: OUT itself for one spot, OUT/<name> for several."""
    seen: dict[str, Spot] = {}
    for spot in spots:
        if spot.name in seen:
            other = seen[spot.name].options.source
            problems.append(f"spots {other} and {spot.options.source} have the same name {spot.name!r}"
                            + ("; give one of them another 'name'" if manifest else
                               "; rename one, or use a manifest (--manifest) that names them"))
        seen[spot.name] = spot
    done = []
    for spot in with_out(spots, out):
        where = f"{manifest} spot {spot.name!r}" if manifest else f"source {spot.options.source}"
        try:
            done.append(replace(spot, options=checked(spot.options)))
        except _CHECK_ERRORS as err:
            problems.append(f"{where}: {err}")
    if problems:
        raise ManifestError("; ".join(problems))
    return done


def with_out(spots: list[Spot], out: Path) -> list[Spot]:
    """Each spot's options with its output folder: OUT itself for one spot, OUT/<name> for several."""
    if len(spots) == 1:
        return [replace(spots[0], options=replace(spots[0].options, out=Path(out)))]
    return [replace(s, options=replace(s.options, out=Path(out) / s.name)) for s in spots]


OPTION_FIELDS = tuple(f.name for f in fields(LocalizeOptions))
