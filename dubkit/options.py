"""The localize job's options, checked once up front before anything is written.

Everything a user can get wrong in the options (a language code, a missing voice track, a bad
`--speaker` or `--voice-track` spelling, a non-positive attempt count) is refused here with a named
error carrying the value, so a run never fails half-way for a reason it could have seen at the start.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from dubkit.adapters.av import probe
from dubkit.engines import check_engine_request
from dubkit.errors import InputError, MediaError, OutputError, require_file
from dubkit.store.cache import CACHE_DIR
from dubkit.store.paths import weights_dir
from dubkit.translate.scripts import find_script
from langs import Language, get_language, parse_languages
from model.config import BASE_RESOLUTION, DEFAULT_MODE


@dataclass(frozen=True)
class LocalizeOptions:
    """What `dubkit localize` was asked to do. Paths as given; `checked()` resolves and validates."""

    source: Path
    languages: tuple[Language, ...] | str
    out: Path | None = None  # default: <source dir>/out
    source_script: Path | None = None
    scripts_dir: Path | None = None
    translators: tuple[str, ...] = ()  # "ct2:DIR", "openai:URL[#MODEL]", optionally "LANG=" first
    glossary: Path | None = None
    engine: str = "auto"  # auto | preview | magihuman
    weights: Path | None = None
    resolution: str = BASE_RESOLUTION
    mode: str = DEFAULT_MODE
    voice_tracks: Mapping[str, Path] = field(default_factory=dict)  # "zh" or "zh:Anna" (one speaker) -> file
    me_track: Path | None = None
    loudness: float = -23.0
    speakers: Mapping[str, str] = field(default_factory=dict)  # S1=Anna renames; Anna=description describes
    diarize: bool = False  # find the speakers of a recognised source script (docs/speakers.md)
    n_speakers: int | None = None  # their number (implies diarize); None: found automatically
    max_attempts: int = 3
    seed: int = 0
    asr_model: str | None = None
    threshold: float | None = None
    force: bool = False

    @property
    def out_dir(self) -> Path:
        return Path(self.out) if self.out is not None else Path(self.source).parent / "out"


def parse_pairs(items: Sequence[str], *, flag: str) -> dict[str, str]:
    """`NAME=VALUE` items (from repeated CLI flags) as a dict; InputError naming the bad item."""
    pairs: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip().strip('"').strip("'")
        if not sep or not name or not value:
            raise InputError(f"{flag} {item!r} is not NAME=VALUE")
        if name in pairs:
            raise InputError(f"{flag} names {name!r} twice")
        pairs[name] = value
    return pairs


def _require_audio_file(path: Path, what: str) -> Path:
    path = require_file(path, what)
    if not probe(path).has_audio:
        raise MediaError(f"{what} {path} has no audio stream")
    return path


def checked(options: LocalizeOptions) -> LocalizeOptions:
    """The options with languages parsed and every referenced file checked; raises on the first problem."""
    languages = options.languages
    if isinstance(languages, str):
        languages = parse_languages(languages)
    languages = tuple(get_language(lang) for lang in languages)
    if not languages:
        raise InputError("no target language given (--to zh,ko,ja)")
    if options.max_attempts < 1:
        raise InputError(f"--max-attempts must be at least 1, got {options.max_attempts}")
    if options.seed < 0:
        raise InputError(f"--seed must be >= 0, got {options.seed}")
    if not -70.0 <= options.loudness <= -5.0:
        raise InputError(f"--loudness {options.loudness} LUFS is outside -70..-5")
    source = require_file(options.source, "source", MediaError)
    if options.source_script is not None:
        require_file(options.source_script, "--source-script")
    if options.scripts_dir is not None and not Path(options.scripts_dir).is_dir():
        raise InputError(f"--scripts {options.scripts_dir} is not a folder")
    if options.glossary is not None:
        require_file(options.glossary, "--glossary")
    codes = {lang.code for lang in languages}
    voice_tracks: dict[str, Path] = {}
    for name, path in options.voice_tracks.items():
        tag, _, speaker = name.partition(":")  # zh=FILE for the language, zh:Anna=FILE for one speaker
        code = get_language(tag).code
        if code not in codes:
            raise InputError(f"--voice-track {name}={path}: {code} is not among the target languages {sorted(codes)}")
        if _ and not speaker.strip():
            raise InputError(f"--voice-track {name}={path}: no speaker name after ':' (use LANG:SPEAKER=FILE)")
        key = f"{code}:{speaker.strip()}" if speaker.strip() else code
        voice_tracks[key] = _require_audio_file(Path(path), f"voice track for {key}")
    weights = options.weights if options.weights is not None else _pulled_weights()
    check_engine_request(options.engine, weights=weights, resolution=options.resolution, mode=options.mode)
    me_track = _require_audio_file(Path(options.me_track), "music-and-effects track") if options.me_track else None
    done = replace(options, source=source, languages=languages, voice_tracks=voice_tracks, me_track=me_track,
                   weights=weights)
    _check_output_folder(done)
    return done


def _inputs(options: LocalizeOptions) -> dict[Path, str]:
    """Every file the job reads, by what it is (the translated scripts as they will be found)."""
    named = {options.source: "the source", options.source_script: "the source script",
             options.glossary: "the glossary", options.me_track: "the music-and-effects track",
             **{path: f"the {code} voice track" for code, path in options.voice_tracks.items()}}
    for lang in options.languages:
        found = find_script(options.source, lang, options.scripts_dir)
        if found is not None:
            named[found.path] = f"the {lang.code} translation"
    return {Path(path).resolve(): what for path, what in named.items() if path is not None}


def _check_output_folder(options: LocalizeOptions) -> None:
    """OutputError, before anything is written, when the output folder lies inside a dubkit cache
    or an output (`<stem>.<lang>.mp4/.srt`, the reports) would replace one of the job's inputs."""
    out = options.out_dir.resolve()
    for folder in (out, *out.parents):
        if folder.name == CACHE_DIR:
            raise OutputError(f"output folder {options.out_dir} is inside the dubkit cache folder {folder}; "
                              "choose a folder outside it")
    stem = Path(options.source).stem
    outputs = [out / f"{stem}.{lang.code}{suffix}" for lang in options.languages for suffix in (".mp4", ".srt")]
    inputs = _inputs(options)
    for output in [*outputs, out / "report.json", out / "report.html"]:
        if output in inputs:
            raise OutputError(f"output {output} would overwrite {output.name}, {inputs[output]}; "
                              "choose another output folder with -o")
    other = _reported_source(out / "report.json")
    if other is not None and other.stem != stem:  # the reports have fixed names: one source per folder
        raise OutputError(f"output folder {options.out_dir} holds the report of {other}; {options.source} would "
                          f"overwrite it: choose another -o, or localize both in one command "
                          f"(dubkit localize {other.name} {Path(options.source).name} ... -o OUT)")


def _reported_source(report: Path) -> Path | None:
    """The source an existing report.json was written for (None when there is none or it is unreadable)."""
    try:
        return Path(json.loads(report.read_text("utf-8"))["source"]["path"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _pulled_weights() -> Path | None:
    """Where `dubkit models pull magihuman` puts the weights by default, when that folder exists."""
    folder = weights_dir()
    return folder if folder.is_dir() else None
