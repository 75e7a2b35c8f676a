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
from dubkit.engines import check_engine_request, source_resolution
from dubkit.errors import InputError, MediaError, OutputError, ReviewError, require_file
from dubkit.stages.composite import check_mode
from dubkit.stages.delivery.burn_in import choose_font
from dubkit.stages.delivery.profiles import DEFAULT_PROFILE, get_profile
from dubkit.stages.review import parse_line_refs
from dubkit.store.cache import CACHE_DIR
from dubkit.store.paths import weights_dir
from dubkit.translate.scripts import find_script
from langs import Language, get_language, parse_languages
from model.recipe import RecipeChoice, RecipeError


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
    resolution: str = "auto"  # auto: follows the source's height (engines.source_resolution)
    mode: str | None = None  # first stage of windows without a voice track; None: the official recipe (model.recipe)
    sr_fast: bool = False  # distilled first stage before SR (no released config runs it)
    a2v_distill_experimental: bool = False  # voice-track windows on the distilled model (experimental)
    voice_tracks: Mapping[str, Path] = field(default_factory=dict)  # "zh" or "zh:Anna" (one speaker) -> file
    me_track: Path | None = None
    loudness: float | None = None  # overrides the delivery profile's target (LUFS)
    deliver: str = DEFAULT_PROFILE  # a profile of dubkit.stages.delivery.profiles (docs/delivery.md)
    stems: bool = False  # dialogue, M&E and mix as 48 kHz 24-bit WAV per language
    master: str | None = None  # "mov" or "mkv": one file with every language's audio and subtitles
    burn_in: bool | None = None  # None: as the profile says (on for social)
    subtitle_font: Path | None = None  # a font file for burned-in subtitles (default: found by fontconfig)
    bilingual: bool = False  # subtitles with the target line over the source line
    speakers: Mapping[str, str] = field(default_factory=dict)  # S1=Anna renames; Anna=description describes
    diarize: bool = False  # find the speakers of a recognised source script (docs/speakers.md)
    n_speakers: int | None = None  # their number (implies diarize); None: found automatically
    max_attempts: int = 3
    seed: int = 0
    asr_model: str | None = None
    threshold: float | None = None
    force: bool = False
    review: Path | None = None  # default: OUT/review.json when it exists (docs/review.md)
    retakes: tuple[str, ...] = ()  # "zh:3": line 3 of zh gets a new take
    unpins: tuple[str, ...] = ()  # "zh:3": release the approved take of line 3's window
    lipsync: str = "auto"  # auto | always | never: which windows get new picture (docs/localize.md)

    @property
    def out_dir(self) -> Path:
        return Path(self.out) if self.out is not None else Path(self.source).parent / "out"

    def recipes(self) -> RecipeChoice:
        """The job's recipe settings (model.recipe); InputError naming contradictory flags."""
        try:
            return RecipeChoice(self.resolution, self.mode, self.sr_fast, self.a2v_distill_experimental)
        except RecipeError as err:
            raise InputError(str(err)) from None

    def window_kinds(self) -> tuple[str, ...]:
        """"t2v" unless every target language has a voice track of its own (its windows are all A2V); "a2v" when
        any voice track is given (a language's, or one speaker's)."""
        languages = parse_languages(self.languages) if isinstance(self.languages, str) else self.languages
        codes = {get_language(lang).code for lang in languages}
        covered = codes <= {k for k in self.voice_tracks if ":" not in k}
        return (() if covered and codes else ("t2v",)) + (("a2v",) if self.voice_tracks else ())

    @property
    def burns_in(self) -> bool:
        return get_profile(self.deliver).burn_in if self.burn_in is None else self.burn_in


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


def _resolution(asked: str, source: Path) -> str:
    """`auto`: from the source's height (engines.source_resolution). A source that cannot be read is left to
    step 1, which names the problem (in a campaign it fails only its own spot)."""
    if asked != "auto":
        return asked
    try:
        height = probe(source).height or 0
    except MediaError:
        height = 0
    return source_resolution(height)


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
    if options.loudness is not None and not -70.0 <= options.loudness <= -5.0:
        raise InputError(f"--loudness {options.loudness} LUFS is outside -70..-5")
    get_profile(options.deliver)
    if options.master not in (None, "mov", "mkv"):
        raise InputError(f"--master {options.master!r}: the master is a mov or an mkv file")
    source = require_file(options.source, "source", MediaError)
    if options.source_script is not None:
        require_file(options.source_script, "--source-script")
    if options.scripts_dir is not None and not Path(options.scripts_dir).is_dir():
        raise InputError(f"--scripts {options.scripts_dir} is not a folder")
    if options.glossary is not None:
        require_file(options.glossary, "--glossary")
    if options.review is not None:
        require_file(options.review, "--review", ReviewError)
    parse_line_refs(options.retakes, "--retake")
    parse_line_refs(options.unpins, "--unpin")
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
    check_mode(options.lipsync)
    weights = options.weights if options.weights is not None else _pulled_weights()
    resolution = _resolution(options.resolution, source)
    me_track = _require_audio_file(Path(options.me_track), "music-and-effects track") if options.me_track else None
    _check_delivery(options, source, languages, me_track)
    done = replace(options, source=source, languages=languages, voice_tracks=voice_tracks, me_track=me_track,
                   weights=weights, resolution=resolution)
    check_engine_request(done.engine, weights=weights, recipes=done.recipes(), kinds=done.window_kinds())
    _check_output_folder(done)
    return done


def _check_delivery(options: LocalizeOptions, source: Path, languages: Sequence[Language],
                    me_track: Path | None) -> None:
    """Stems need a bed (an M&E stem, or source audio to duck); burned-in subtitles need a font that
    covers every target language's script."""
    if options.stems and me_track is None and not probe(source).has_audio:
        raise InputError(f"--stems needs a music-and-effects source: give --me-track, or a source with audio to "
                         f"duck ({source} has no audio stream)")
    if options.burns_in:
        font = require_file(options.subtitle_font, "--subtitle-font") if options.subtitle_font else None
        for lang in languages:
            choose_font(lang, font)


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
    suffixes = (f".{get_profile(options.deliver).container}", ".srt",
                *((".dialogue.wav", ".me.wav", ".mix.wav") if options.stems else ()))
    outputs = [out / f"{stem}.{lang.code}{suffix}" for lang in options.languages for suffix in suffixes]
    if options.master:
        outputs.append(out / f"{stem}.master.{options.master}")
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
