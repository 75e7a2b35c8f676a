"""Stage 7, deliver: one language's windows spliced into the original timeline, mixed, brought to the
delivery profile's loudness, muxed; then the language judged (every window's gate, the delivered file's
integrity, the glossary).

Recipe:
  1-2. the dialogue and M&E stems on the 48 kHz stereo timeline by the one mix rule the gate already
     heard (stages/mix.py): each window's speech in its span over the bed (the music-and-effects stem
     when given, else the original audio ducked across the window), the bed untouched between windows;
  3. loudness to the profile (dubkit/stages/delivery/loudness.py): ffmpeg's two-pass loudnorm, linear when the
     target is reachable under the true-peak ceiling, true-peak limited otherwise; the stems get the
     mix's gain, so dialogue + M&E = mix;
  4. subtitles: cues wrapped to the language's line length (two lines at most; source + target lines with
     --bilingual), checked against the language's subtitle rules; the SRT (preview outputs carry a note cue);
  5. mux picture + audio + mov_text as the profile says (H.264/AAC mp4, or ProRes 422 HQ/24-bit PCM mov),
     subtitles burned in when asked, the picture = the source's with frames from generating engines
     overlaid in their window spans (preview outputs also carry a small "PREVIEW" badge, tags in the
     container); with --stems the dialogue, M&E and mix as 48 kHz 24-bit WAV;
  6. measure the delivered file (ffmpeg ebur128 integrated and true peak, pyloudnorm).
Every file is written to a temporary name in the output folder, then renamed into place. The file is
not recognised again: its verdict is assembled from the windows' (`delivered_verdict`), and a cheap
integrity check (stages/integrity.py) proves it carries what was gated.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from dubkit.adapters import ffmpeg, package_version
from dubkit.adapters.audio import fit_blocks, float_wav_blocks, write_wav24_blocks
from dubkit.adapters.av import video_packets_digest
from dubkit.adapters.fonts import Font, missing_characters
from dubkit.adapters.images import thumbnail_uri
from dubkit.adapters.subtitles import PREVIEW_NOTE, write_script
from dubkit.engines.base import WindowRender
from dubkit.errors import InputError, MediaError, OutputError, require_file
from dubkit.stages.composite import FacePlan, composite_render
from dubkit.stages.delivery.burn_in import burn_in_files
from dubkit.stages.delivery.loudness import Loudness, level, measure_delivered
from dubkit.stages.delivery.profiles import DEFAULT_PROFILE, PROFILES, DeliveryProfile
from dubkit.stages.delivery.subtitle_rules import SubtitleViolation, check_cues, wrap
from dubkit.stages.integrity import Heard, check_delivered, check_picture, gaps_between
from dubkit.stages.mix import SAMPLE_RATE, Bed, StemFiles, bed_for, window_spans, write_stems
from dubkit.stages.plan import Plan
from dubkit.stages.probe import SourceInfo
from dubkit.stages.render import (
    Verdict,
    WindowOutcome,
    load_chosen_render,
    render_has_picture,
)
from dubkit.stages.translate import LanguageScript
from dubkit.store.cache import StageCache, cache_key
from dubkit.store.files import file_digest, write_failed
from dubkit.translate.glossary import GlossaryViolation, check_speech, load_glossary
from dubkit.translate.timing import LineFit
from eval.types import Cue
from langs import Language

PREVIEW_TAG = "dubkit PREVIEW"
STEM_NAMES = {"dialogue": "dialogue", "effects": "me", "mix": "mix"}  # stem -> file name part


def identity() -> dict:
    """What besides the inputs changes assembled files (for cache keys): mix constants and encoder versions."""
    return {"stage": "assemble", "version": 4, "mix": Bed().identity(),
            "imageio-ffmpeg": package_version("imageio-ffmpeg"), "pyloudnorm": package_version("pyloudnorm")}


@dataclass(frozen=True)
class PlacedRender:
    """An engine's render for the window spanning [start, end) of the source timeline. `clip`: its frames
    already encoded as a splice clip (the localize job encodes each window's clip and drops its frames,
    so a language's frames are never all in memory); else `render.frames`, when present, are encoded here."""

    start: float
    end: float
    render: WindowRender
    clip: Path | None = None


@dataclass(frozen=True)
class Pictures:
    """Where an encoded picture is kept and found again: the cache and the picture's key (stage "picture").
    Languages whose pictures are the same (the preview's, or voice-only windows) share one encode."""

    cache: StageCache
    key: str
    cached: bool = False  # found in the cache before the windows were loaded: their frames were not kept


@dataclass(frozen=True)
class Deliverable:
    """One file handed over: what it is ("video", "subtitles", "stem:dialogue", "stem:me", "stem:mix",
    "master"), where, and its sha256."""

    kind: str
    path: Path
    sha256: str

    def to_json(self, folder: Path | None = None) -> dict:
        name = self.path.name if folder is not None else str(self.path)
        return {"kind": self.kind, "path": name, "sha256": self.sha256}


@dataclass(frozen=True)
class Delivery:
    """How one language is delivered: the profile, a loudness override, stems, burned-in subtitles (the
    font), bilingual subtitles (the source's cues and language), and whether the master needs the mix."""

    profile: DeliveryProfile = PROFILES[DEFAULT_PROFILE]
    loudness: float | None = None  # overrides the profile's target
    stems: bool = False
    burn_in: Font | None = None
    bilingual: tuple[Cue, ...] | None = None
    source_language: Language | None = None
    keep_mix: Path | None = None  # where to keep the levelled mix as 24-bit WAV (for the master)

    @property
    def target(self) -> float:
        return self.profile.loudness if self.loudness is None else self.loudness


@dataclass(frozen=True)
class AssemblyResult:
    """The files written for one language and what was measured on them."""

    video: Path
    subtitles: Path
    language: str
    duration: float
    loudness_lufs: float  # of the delivered file, by pyloudnorm
    preview: bool
    loudness: Loudness | None = None
    deliverables: tuple[Deliverable, ...] = ()
    violations: tuple[SubtitleViolation, ...] = ()


def assemble(
    source: SourceInfo,
    renders: Sequence[PlacedRender],
    cues: Sequence[Cue],
    language: Language,
    out_dir: Path,
    *,
    me_track: Path | None = None,
    loudness: float | None = None,
    preview: bool = False,
    stem: str | None = None,
    delivery: Delivery = Delivery(),
    pictures: Pictures | None = None,
) -> AssemblyResult:
    """Write `<stem>.<lang>.<mp4|mov>` and `<stem>.<lang>.srt` (and with stems `<stem>.<lang>.dialogue.wav`,
    `.me.wav`, `.mix.wav`) as `delivery` says; `loudness` overrides its target.

    The output lasts exactly the source's duration. `preview=True` tags the file's title/comment and
    the SRT. With no cues at all (and not a preview) the SRT is empty and the file has no subtitle track.
    `pictures`: where the encoded picture is cached (else it is encoded in the scratch folder). The sound
    is streamed through files block by block, so memory does not grow with the source's length.
    """
    if loudness is not None:
        delivery = replace(delivery, loudness=loudness)
    out_dir = Path(out_dir)
    _check_inputs(source, renders, delivery.target, me_track)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot create output folder {out_dir}: {err}") from err
    base = out_dir / f"{stem or source.path.stem}.{language.code}"
    subtitle_cues, violations = _subtitles(cues, language, source, preview, delivery)  # step 4
    try:
        with tempfile.TemporaryDirectory(dir=out_dir, prefix=".assemble-") as tmp:
            tmp = Path(tmp)
            mixed = mix_stems(source, renders, me_track, tmp)  # steps 1-2, streamed to files
            stems = {"dialogue": mixed.dialogue, "effects": mixed.effects} if delivery.stems else {}
            levelled, measured = level(mixed.mix, stems, delivery.target, delivery.profile.true_peak,
                                       delivery.profile.headroom, tmp)  # step 3
            files = _encode(source, renders, _Levelled(levelled, mixed.samples), subtitle_cues, language,
                            preview, delivery, tmp, base, pictures)  # step 5
            measured = measure_delivered(files["video"], measured)  # step 6
            finals = {kind: _final_path(kind, base, delivery) for kind in files}
            for kind, path in files.items():
                os.replace(path, finals[kind])
    except OSError as err:  # full disk, permissions: name the folder (and its free space), keep earlier outputs
        raise write_failed(_final_path("video", base, delivery), err) from err
    deliverables = tuple(Deliverable(kind, path, file_digest(path)) for kind, path in finals.items()
                         if kind != "keep_mix")
    return AssemblyResult(finals["video"], finals["subtitles"], language.code, source.duration,
                          float(measured.delivered_pyloudnorm), preview, measured, deliverables, violations)


def _final_path(kind: str, base: Path, delivery: Delivery) -> Path:
    if kind == "video":
        return base.with_name(f"{base.name}.{delivery.profile.container}")
    if kind == "subtitles":
        return base.with_name(f"{base.name}.srt")
    if kind == "keep_mix":
        return delivery.keep_mix
    return base.with_name(f"{base.name}.{kind.partition(':')[2]}.wav")


def mix_stems(source: SourceInfo, renders: Sequence[PlacedRender], me_track: Path | None, folder: Path) -> StemFiles:
    """The mix before loudness, written to `folder` block by block: the dialogue and M&E stems and their sum,
    each 48 kHz stereo float32 over the source's duration, by the one mix rule the gate heard
    (stages/mix.py). The bed is the music-and-effects stem when given, else the original audio ducked
    across each window, else silence."""
    spans = window_spans([(r.start, r.end) for r in renders])
    laid = [(span, r.render.audio, r.render.sample_rate) for span, r in zip(spans, renders, strict=True)]
    return write_stems(bed_for(source, me_track), source.duration, laid, folder)


@dataclass(frozen=True)
class _Levelled:
    """The levelled float WAVs by name ("mix", and "dialogue", "effects" with stems) and the timeline's
    length in samples, which every delivered WAV has exactly."""

    files: dict[str, Path]
    samples: int

    def wav24(self, name: str, path: Path) -> Path:
        blocks = fit_blocks(float_wav_blocks(self.files[name]), self.samples)
        return write_wav24_blocks(path, blocks, SAMPLE_RATE, 2, frames=self.samples)


def _subtitles(cues: Sequence[Cue], language: Language, source: SourceInfo, preview: bool,
               delivery: Delivery) -> tuple[list[Cue], tuple[SubtitleViolation, ...]]:
    """The delivered cues (wrapped, bilingual when asked, the preview note) and the rules they break
    (the preview note aside)."""
    timed = [Cue(wrap(c.text, language), c.start, c.end) for c in _subtitle_cues(cues, source.duration)]
    line_languages = None
    if delivery.bilingual is not None:  # the source line checked by its own language's rules when known
        timed = [Cue(f"{c.text.replace(chr(10), ' ')}\n{_source_line(c, delivery.bilingual)}".rstrip(),
                     c.start, c.end) for c in timed]
        line_languages = (language, delivery.source_language or language)
    violations = check_cues(timed, language, source.fps, line_languages)
    return (_with_preview_note(timed, source.duration) if preview else timed), violations


def _source_line(cue: Cue, source_cues: Sequence[Cue]) -> str:
    """The source cues overlapping `cue`, as one line."""
    return " ".join(s.text.replace("\n", " ") for s in source_cues
                    if s.timed and min(s.end, cue.end) - max(s.start, cue.start) > 0).strip()


def _encode(source: SourceInfo, renders: Sequence[PlacedRender], levelled: _Levelled, cues: Sequence[Cue],
            language: Language, preview: bool, delivery: Delivery, tmp: Path, base: Path,
            pictures: Pictures | None) -> dict[str, Path]:
    """Step 5 in the scratch folder: the mix as WAV, the SRT, the stems, the picture (or the cached one),
    then the mux. Returns the finished files by kind."""
    profile = delivery.profile
    wav = levelled.wav24("mix", tmp / "mix.wav")  # converted once; the mix stem and the kept mix are copies
    files = {"subtitles": _write_srt(cues, tmp / f"{base.name}.srt")}
    if delivery.stems:
        for name, part in STEM_NAMES.items():
            stem_path = tmp / f"{base.name}.{part}.wav"
            if name == "mix":
                files[f"stem:{part}"] = Path(shutil.copyfile(wav, stem_path))
            else:
                files[f"stem:{part}"] = levelled.wav24(name, stem_path)
    if delivery.keep_mix is not None:
        delivery.keep_mix.parent.mkdir(parents=True, exist_ok=True)
        files["keep_mix"] = Path(shutil.copyfile(wav, tmp / "keep-mix.wav"))
    metadata = ()
    if preview:
        metadata = (("title", f"{PREVIEW_TAG} ({language.code})"),
                    ("comment", f"{PREVIEW_TAG}: synthetic voice-over, original picture"))
    burn_languages = None
    if delivery.burn_in is not None and cues:
        missing = missing_characters(delivery.burn_in.path, "".join(c.text for c in cues))
        if missing:
            raise InputError(f"subtitle font {delivery.burn_in.path} has no glyph for {missing[:12]!r} in the "
                             f"{language.code} subtitles; give --subtitle-font with a font that covers them")
        burn_languages = ((language, delivery.source_language or language) if delivery.bilingual is not None
                          else (language,))

    def make_picture(path: Path) -> Path:
        overlays = tuple(
            ffmpeg.Overlay(r.clip or ffmpeg.encode_frames(r.render.frames, r.render.fps, tmp / f"window{i}.mp4"),
                           r.start, r.end)
            for i, r in enumerate(renders) if r.clip is not None or r.render.frames is not None)
        burn = (burn_in_files(cues, delivery.burn_in, source.width, source.height, tmp / "burn", burn_languages)
                if burn_languages else None)
        return ffmpeg.encode_picture(ffmpeg.PictureSpec(
            source=source.path, duration=source.duration, fps=source.fps, width=source.width, height=source.height,
            overlays=overlays, badge=_preview_badge(tmp, source.height) if preview else None,
            container=profile.container, video_codec=profile.video_codec, video_options=profile.video_options,
            burn_in=burn), path)

    def vanished(path: Path) -> Path:
        raise OutputError(f"the cached picture {pictures.key}{suffix} vanished or was damaged while this run "
                          f"assembled {base.name}; run again (it will be encoded afresh)")

    suffix = f".{profile.container}"
    picture = (pictures.cache.file("picture", pictures.key, suffix, vanished if pictures.cached else make_picture)
               if pictures is not None else make_picture(tmp / f"picture{suffix}"))
    files["video"] = ffmpeg.mux(ffmpeg.MuxSpec(
        picture=picture, audio=wav, subtitles=files["subtitles"] if cues else None,
        out=tmp / f"{base.name}.{profile.container}", duration=source.duration, language=language.iso639_2,
        metadata=metadata, container=profile.container, audio_codec=profile.audio_codec,
        audio_bitrate=profile.audio_bitrate,
    ))
    return files


def _check_inputs(source: SourceInfo, renders, loudness: float, me_track: Path | None) -> None:
    require_file(source.path, "source", MediaError)
    if not source.fps or not source.width:
        raise MediaError(f"source {source.path} has no video stream to assemble onto")
    if not -70.0 <= loudness <= -5.0:
        raise InputError(f"loudness target {loudness} LUFS is outside the sensible range [-70, -5]")
    if me_track is not None:
        require_file(me_track, "music-and-effects track", MediaError)
    for r in renders:
        if not 0 <= r.start < r.end <= source.duration + 1e-3:
            raise InputError(f"window [{r.start:.3f}, {r.end:.3f}] lies outside {source.path} "
                             f"(0 to {source.duration:.3f} s)")
        audio = r.render.audio
        if audio.ndim != 2 or audio.shape[1] not in (1, 2):
            raise InputError(f"window at {r.start:.3f} s: audio must be (samples, 1|2), got {audio.shape}")


def _preview_badge(folder: Path, height: int) -> Path:
    """A "PREVIEW" label (white on translucent black) sized to the picture, as an RGBA PNG."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=max(10, height // 22))
    left, top, right, bottom = font.getbbox("PREVIEW")
    pad = max(3, height // 80)
    badge = Image.new("RGBA", (right - left + 2 * pad, bottom - top + 2 * pad), (0, 0, 0, 150))
    ImageDraw.Draw(badge).text((pad - left, pad - top), "PREVIEW", font=font, fill=(255, 255, 255, 235))
    path = folder / "preview-badge.png"
    badge.save(path)
    return path


def _subtitle_cues(cues: Sequence[Cue], duration: float) -> list[Cue]:
    timed = [c for c in cues if c.timed and c.start < duration]
    # Viewers' subtitles: no speaker names on screen (the scripts and the report keep them, docs/speakers.md).
    return [Cue(c.text, c.start, min(c.end, duration)) for c in timed]


def _with_preview_note(timed: list[Cue], duration: float) -> list[Cue]:
    # The note takes the silence before the first line, else after the last; else it leads line one.
    first = min((c.start for c in timed), default=duration)
    last = max((c.end for c in timed), default=0.0)
    if first >= 0.3:
        return [Cue(PREVIEW_NOTE, 0.0, min(first, 3.0)), *timed]
    if duration - last >= 0.3:
        return [*timed, Cue(PREVIEW_NOTE, last, min(duration, last + 3.0))]
    head = sorted(timed, key=lambda c: c.start)
    return [Cue(f"{PREVIEW_NOTE}\n{head[0].text}", head[0].start, head[0].end), *head[1:]]


def _write_srt(cues: Sequence[Cue], path: Path) -> Path:
    return write_script(sorted(cues, key=lambda c: c.start), path)


# The stage as the localize job runs it: reuse finished files, judge the language.


@dataclass(frozen=True)
class DeliverySettings:
    """Where and how a job delivers: the output folder, the cache, the mix's bed, the delivery (profile,
    loudness override, stems, burn-in, bilingual), whether outputs are labelled PREVIEW, and the glossary
    checked against what was heard."""

    out: Path
    cache: StageCache
    preview: bool = False
    me_track: Path | None = None
    loudness: float | None = None  # overrides the profile's target
    glossary: Path | None = None
    faces: FacePlan | None = None  # which windows get new picture, and where (None: every window, full frame)
    delivery: Delivery = Delivery()

    @property
    def resolved(self) -> Delivery:
        """The delivery with the loudness override applied."""
        if self.loudness is None:
            return self.delivery
        return replace(self.delivery, loudness=self.loudness)


@dataclass(frozen=True)
class LanguageOutput:
    """The files written for one language and its verdict."""

    language: str
    video: Path
    subtitles: Path
    passed: bool
    loudness_lufs: float
    duration: float
    reasons: tuple[str, ...] = ()  # why it failed, in words (empty when it passed)
    deliverables: tuple[Deliverable, ...] = ()


@dataclass(frozen=True)
class LanguageSummary:
    """Everything the report says about one target language."""

    language: str
    passed: bool
    outcomes: tuple[WindowOutcome, ...]
    script_origin: str
    glossary_violations: tuple[GlossaryViolation, ...] = ()
    timing_overflows: tuple[LineFit, ...] = ()
    video: Path | None = None
    subtitles: Path | None = None
    loudness_lufs: float | None = None
    duration: float | None = None
    thumbnails: dict[int, str] = field(default_factory=dict)  # window index -> data URI
    reasons: tuple[str, ...] = ()  # why the language failed, in words
    delivered: Verdict | None = None  # the finished file's verdict, assembled from its windows
    loudness: Loudness | None = None  # the loudness step and the delivered file's measurement
    deliverables: tuple[Deliverable, ...] = ()  # every file handed over, with its sha256
    subtitle_violations: tuple[SubtitleViolation, ...] = ()
    master_mix: Path | None = None  # the levelled mix kept for the master (24-bit WAV)

    @property
    def output(self) -> LanguageOutput:
        return LanguageOutput(self.language, self.video, self.subtitles, self.passed, self.loudness_lufs,
                              self.duration, self.reasons, self.deliverables)


def _picture_key(source: SourceInfo, ls: LanguageScript, outcomes, settings: DeliverySettings) -> str:
    """What the delivered picture is made of: the source, the windows that get new picture (their chosen
    renders and the face plan), the badge, burned-in subtitles and the profile's video encoder. Languages
    with the same key share one encode: the preview's picture, or a job whose windows are all voice-only."""
    d = settings.resolved
    pictured = [[o.start, o.end, o.chosen_attempt.render_key] for o in outcomes if _gets_picture(o, settings)]
    burn = None
    if d.burn_in is not None:
        burn = {"font": [str(d.burn_in.path), d.burn_in.family], "language": ls.language.code,
                "cues": [[c.text, c.start, c.end] for c in ls.cues],
                "bilingual": [[c.text, c.start, c.end] for c in d.bilingual] if d.bilingual is not None else None,
                "source_language": d.source_language.code if d.source_language else None}
    return cache_key(
        "picture", version=1, ffmpeg=package_version("imageio-ffmpeg"), source=source.digest, windows=pictured,
        faces=settings.faces.key if settings.faces is not None and pictured else None, badge=settings.preview,
        burn_in=burn, video=[d.profile.container, d.profile.video_codec, list(map(list, d.profile.video_options))],
    )


def _gets_picture(outcome: WindowOutcome, settings: DeliverySettings) -> bool:
    """Whether the window's chosen render puts new picture into the file: it has frames (a generating
    engine's) and the window is lip-sync (or no face plan limits it)."""
    faces = settings.faces
    if faces is not None and not faces.windows[outcome.window_index].lipsync:
        return False
    return render_has_picture(settings.cache, outcome)


def _assembly_key(source: SourceInfo, ls: LanguageScript, outcomes, settings: DeliverySettings, picture: str) -> str:
    d = settings.resolved
    return cache_key(
        "assemble", mix=identity(), source=source.digest, language=ls.language.code, picture=picture,
        renders=[[o.start, o.end, o.chosen_attempt.render_key] for o in outcomes],
        cues=[[c.text, c.start, c.end, c.speaker] for c in ls.cues], preview=settings.preview,
        me_track=file_digest(settings.me_track) if settings.me_track else None,
        delivery={"profile": d.profile.name, "target": d.target, "stems": d.stems,
                  "font": [str(d.burn_in.path), d.burn_in.family] if d.burn_in else None,
                  "bilingual": [[c.text, c.start, c.end] for c in d.bilingual] if d.bilingual is not None else None,
                  "source_language": d.source_language.code if d.source_language else None,
                  "keep_mix": d.keep_mix is not None},
        **({"faces": settings.faces.key} if settings.faces is not None else {}),
    )


def _reused(hit: dict | None, out: Path) -> dict | None:
    """A cache entry whose files are all still there with the same content, as absolute paths."""
    if hit is None or "files" not in hit:
        return None
    files = [*hit["files"], *([hit["keep_mix"]] if hit.get("keep_mix") else [])]
    if all((out / f["path"]).is_file() and file_digest(out / f["path"]) == f["sha256"] for f in files):
        return hit
    return None


def _placed(source: SourceInfo, plan: Plan, outcome: WindowOutcome, settings: DeliverySettings,
            clips: Path | None) -> tuple[PlacedRender, str]:
    """One window as delivered, and its thumbnail: the chosen render (composited around the face when
    brand-safe), its frames encoded as a splice clip into `clips` (None: the picture is already encoded)
    and dropped, so only the window's sound stays in memory."""
    render = load_chosen_render(settings.cache, outcome)
    if settings.faces is not None:  # brand-safe: new picture only around faces, the rest the source's
        render = composite_render(source, plan.windows[outcome.window_index], render,
                                  settings.faces.windows[outcome.window_index])
    frames = render.frames
    thumbnail = thumbnail_uri(frames[len(frames) // 2] if frames is not None and len(frames)
                 else plan.small_reference(outcome.window_index))
    clip = None
    if frames is not None and clips is not None:
        clip = ffmpeg.encode_frames(frames, render.fps, clips / f"window{outcome.window_index}.mp4")
    return PlacedRender(outcome.start, outcome.end, replace(render, frames=None), clip), thumbnail


def _assembled(source: SourceInfo, plan: Plan, ls: LanguageScript, outcomes, settings: DeliverySettings) -> dict:
    """The language's files, reused when the same inputs already produced them in the output folder.
    The entry names them relative to that folder, so a moved or copied folder is reused too. Windows are
    loaded one at a time; the picture is taken from the cache when another language (or an earlier run)
    already encoded the same one."""
    picture_key = _picture_key(source, ls, outcomes, settings)
    key = _assembly_key(source, ls, outcomes, settings, picture_key)
    hit = _reused(settings.cache.get_json("assemble", key), settings.out)
    if hit is None:
        cached = settings.cache.exists("picture", picture_key, f".{settings.resolved.profile.container}")
        pictures = Pictures(settings.cache, picture_key, cached)
        with tempfile.TemporaryDirectory(dir=settings.out, prefix=".assemble-clips-") as clips:
            placed, thumbnails = zip(*(_placed(source, plan, o, settings, None if cached else Path(clips))
                                       for o in outcomes), strict=True) if outcomes else ((), ())
            result = assemble(source, placed, ls.cues, ls.language, settings.out, me_track=settings.me_track,
                              preview=settings.preview, delivery=settings.resolved, pictures=pictures)
        keep = settings.resolved.keep_mix
        hit = {"video": result.video.name, "subtitles": result.subtitles.name,  # the two every profile writes
               "files": [{**d.to_json(), "path": d.path.name} for d in result.deliverables],
               "keep_mix": {"path": str(keep.relative_to(settings.out)), "sha256": file_digest(keep)} if keep else None,
               "loudness_lufs": round(result.loudness_lufs, 9),  # as the cache keeps it: a resumed run reports the same
               "duration": result.duration, "loudness": result.loudness.to_json(),
               "violations": [asdict(v) for v in result.violations],
               "thumbnails": {str(o.window_index): t for o, t in zip(outcomes, thumbnails, strict=True)},
               "integrity": _integrity(source, outcomes, placed, settings, result)}
        hit = settings.cache.put_json("assemble", key, hit)  # as a resumed run will read it
    by_kind = {f["kind"]: settings.out / f["path"] for f in hit["files"]}
    return {**hit, "video": by_kind["video"], "subtitles": by_kind["subtitles"],
            "video_sha256": next(f["sha256"] for f in hit["files"] if f["kind"] == "video"),
            "deliverables": tuple(Deliverable(f["kind"], settings.out / f["path"], f["sha256"]) for f in hit["files"]),
            "keep_mix": settings.out / hit["keep_mix"]["path"] if hit.get("keep_mix") else None}


def delivered_verdict(outcomes: Sequence[WindowOutcome]) -> Verdict | None:
    """The delivered file's verdict, assembled from its windows (each scored as delivered, stages/mix.py):
    it passes when every window passed; its error rate is all windows' errors over all their reference
    units (what jiwer gives on the concatenation); `heard` joins what was heard window by window."""
    if not outcomes:
        return None
    chosen = [o.chosen_attempt for o in outcomes]
    errors, units = sum(a.errors for a in chosen), sum(a.units for a in chosen)
    return Verdict(passed=all(o.passed for o in outcomes), error_rate=round(errors / units, 9) if units else 0.0,
                   metric=chosen[0].metric, threshold=chosen[0].threshold,
                   heard=" / ".join(a.heard for a in chosen), errors=errors, units=units,
                   notes=(f"assembled from {len(outcomes)} window(s), each recognised as mixed for delivery",))


def _integrity(source: SourceInfo, outcomes, placed: Sequence[PlacedRender], settings: DeliverySettings,
               result: AssemblyResult) -> list[str]:
    """stages/integrity.py on the freshly assembled file. The "one gain" assertion holds only for the
    linear loudness method: a true-peak limiter's gain varies (slowly) along the file, so with it each
    span is still checked to carry what was gated (correlation) but not for a common gain. Burned-in
    subtitles change the picture, so with them the picture outside the windows is not compared."""
    spans = window_spans([(o.start, o.end) for o in outcomes])
    heard = [Heard(span, p.render.audio, p.render.sample_rate) for span, p in zip(spans, placed, strict=True)]
    limited = result.loudness is not None and result.loudness.method == "limited"
    reasons = list(check_delivered(result.video, source.path, source.duration, bed_for(source, settings.me_track),
                                   heard, badge=settings.preview, one_gain=not limited, picture=False))
    if settings.resolved.burn_in is None:
        reasons += _picture_integrity(source, spans, settings, result.video)
    return reasons


def _picture_integrity(source: SourceInfo, spans, settings: DeliverySettings, video: Path) -> list[str]:
    """The picture outside the windows compared with the source's (stages/integrity.py `check_picture`),
    once per coded picture: the verdict is kept under the digest of the file's video packets, so every
    language file that carries the same picture (copied from one encode) reuses it, and a file whose
    picture differs in any byte is compared afresh."""
    gaps = gaps_between(spans, source.duration)
    key = cache_key("picture_check", version=1, source=source.digest, packets=video_packets_digest(video),
                    gaps=[list(g) for g in gaps], badge=settings.preview)
    hit = settings.cache.get_json("picture_check", key)
    if hit is None:
        hit = settings.cache.put_json("picture_check", key,
                                      {"reasons": check_picture(video, source.path, gaps, settings.preview)})
    return list(hit["reasons"])


def _heard_violations(outcomes, ls: LanguageScript, glossary: Path | None) -> tuple[GlossaryViolation, ...]:
    """Glossary terms missing from what the recogniser heard in each window."""
    if glossary is None:
        return ()
    terms = load_glossary(glossary)
    return tuple(v for o in outcomes for v in check_speech(
        " ".join(o.lines), o.chosen_attempt.heard, terms, ls.language, index=o.window_index, start=o.start,
        end=o.end))


def _reasons(outcomes, violations, integrity: Sequence[str], loudness: Loudness | None = None) -> tuple[str, ...]:
    """Why a language fails, in words: windows that failed the gate, glossary terms missing from a
    script or translation, a delivered file that is not what was gated or missed the profile's loudness."""
    reasons = [
        f"window {o.start:.2f}-{o.end:.2f} s failed the speech gate: {a.metric.upper()} {a.error_rate:.2f} > "
        f"{a.threshold:.2f} after {len(o.attempts)} attempt(s)"
        for o in outcomes if not o.passed for a in (o.chosen_attempt,)
    ] + [f'glossary term "{v.term}" missing from the {v.where}: {v.text}' for v in violations if v.where != "speech"]
    reasons += integrity
    if loudness is not None and not loudness.within_spec():
        reasons.append(f"the delivered file misses the loudness spec: {loudness.delivered_i:.1f} LUFS "
                       f"(target {loudness.target:.1f} +/- 0.5), true peak {loudness.delivered_tp:.1f} dBTP "
                       f"(ceiling {loudness.ceiling:.1f})")
    return tuple(reasons)


def deliver_language(
    source: SourceInfo,
    plan: Plan,
    ls: LanguageScript,
    outcomes: Sequence[WindowOutcome],
    settings: DeliverySettings,
) -> LanguageSummary:
    """Assemble (or reuse) the language's files as the delivery says and judge it: it passes when every window
    passed the gate (each heard as mixed for delivery), the file passes the integrity check and the profile's
    loudness spec, and its script keeps every glossary term. Glossary terms missing from what was heard are
    reported but do not fail it on their own (the gate already scores the speech)."""
    files = _assembled(source, plan, ls, outcomes, settings)
    violations = ls.glossary_violations + _heard_violations(outcomes, ls, settings.glossary)
    loudness = Loudness(**files["loudness"])
    reasons = _reasons(outcomes, violations, files.get("integrity", ()), loudness)
    thumbs = {int(i): uri for i, uri in files["thumbnails"].items()}
    return LanguageSummary(
        language=ls.language.code, passed=not reasons, outcomes=tuple(outcomes), script_origin=ls.origin,
        glossary_violations=violations, timing_overflows=ls.timing_overflows, video=Path(files["video"]),
        subtitles=Path(files["subtitles"]), loudness_lufs=files["loudness_lufs"], duration=files["duration"],
        thumbnails=thumbs, reasons=reasons, delivered=delivered_verdict(outcomes),
        loudness=loudness, deliverables=files["deliverables"],
        subtitle_violations=tuple(SubtitleViolation(**v) for v in files["violations"]), master_mix=files["keep_mix"],
    )
