"""Stage 7, deliver: one language's windows spliced into the original timeline, mixed, normalised,
muxed; then the language judged (every window's gate, the delivered file's integrity, the glossary).

Recipe:
  1-2. lay the 48 kHz stereo timeline span by span: between windows the bed (the music-and-effects stem
     when given, else the original audio), inside each window its speech over the bed ducked, by the one
     rule the gate already heard (stages/mix.py);
  3. normalise the mix to the loudness target (EBU R128 integrated, pyloudnorm), guard the peaks;
  4. write the SRT (preview outputs carry a note cue) and mux H.264 + AAC + mov_text into the mp4,
     picture = the source's, with frames from generating engines overlaid in their window spans
     (preview outputs also carry a small "PREVIEW" badge in the corner, tags in the container).
Both files are written to temporary names in the output folder, then renamed into place. The file is
not recognised again: its verdict is assembled from the windows', and a cheap integrity check
(stages/integrity.py) proves it carries what was gated.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dubkit.adapters import ffmpeg, package_version
from dubkit.adapters.audio import float_wav_header
from dubkit.adapters.av import read_frames
from dubkit.adapters.images import thumbnail_uri
from dubkit.adapters.loudness import LoudnessMeter
from dubkit.adapters.subtitles import PREVIEW_NOTE, write_script
from dubkit.engines.base import WindowRender
from dubkit.errors import InputError, MediaError, OutputError, require_file
from dubkit.stages.integrity import Heard, check_delivered
from dubkit.stages.mix import SAMPLE_RATE, Bed, bed_for, timeline, window_spans
from dubkit.stages.plan import Plan
from dubkit.stages.probe import SourceInfo
from dubkit.stages.render import (
    Verdict,
    WindowOutcome,
    load_chosen_render,
)
from dubkit.stages.translate import LanguageScript
from dubkit.store.cache import StageCache, cache_key
from dubkit.store.files import file_digest, write_failed
from dubkit.translate.glossary import GlossaryViolation, check_speech, load_glossary
from dubkit.translate.timing import LineFit
from eval.types import Cue
from langs import Language

PEAK_CEILING = 10 ** (-1.0 / 20)  # -1 dBFS sample peak after normalisation
PREVIEW_TAG = "dubkit PREVIEW"


def identity() -> dict:
    """What besides the inputs changes assembled files (for cache keys): mix constants and encoder versions."""
    return {"stage": "assemble", "version": 2, "mix": Bed().identity(), "peak_ceiling": PEAK_CEILING,
            "imageio-ffmpeg": package_version("imageio-ffmpeg"), "pyloudnorm": package_version("pyloudnorm")}


@dataclass(frozen=True)
class PlacedRender:
    """An engine's render for the window spanning [start, end) of the source timeline. Its picture is
    `render.frames`, or `clip` (an H.264 clip of them, spliced as it is) so a long job holds no frames."""

    start: float
    end: float
    render: WindowRender
    clip: Path | None = None


@dataclass(frozen=True)
class AssemblyResult:
    """The files written for one language and what was measured on them."""

    video: Path
    subtitles: Path
    language: str
    duration: float
    loudness_lufs: float  # of the mix as written (before AAC)
    preview: bool


def assemble(
    source: SourceInfo,
    renders: Sequence[PlacedRender],
    cues: Sequence[Cue],
    language: Language,
    out_dir: Path,
    *,
    me_track: Path | None = None,
    loudness: float = -23.0,
    preview: bool = False,
    stem: str | None = None,
) -> AssemblyResult:
    """Write `<stem>.<lang>.mp4` (H.264 + AAC + language-tagged mov_text) and `<stem>.<lang>.srt`.

    The output lasts exactly the source's duration. `preview=True` tags the mp4 title/comment and
    the SRT. With no cues at all (and not a preview) the SRT is empty and the mp4 has no subtitle track.
    """
    out_dir = Path(out_dir)
    _check_inputs(source, renders, loudness, me_track)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot create output folder {out_dir}: {err}") from err
    stem = stem or source.path.stem
    video, srt = out_dir / f"{stem}.{language.code}.mp4", out_dir / f"{stem}.{language.code}.srt"
    try:
        with tempfile.TemporaryDirectory(dir=out_dir, prefix=".assemble-") as tmp:
            wav, measured = _mix(source, renders, me_track, loudness, Path(tmp))  # steps 1-3
            tmp_video, tmp_srt = _encode(source, renders, wav, cues, language, preview, Path(tmp) / video.name)
            os.replace(tmp_srt, srt)
            os.replace(tmp_video, video)
    except OSError as err:  # full disk, permissions: name the folder (and its free space), keep earlier outputs
        raise write_failed(video, err) from err
    return AssemblyResult(video, srt, language.code, source.duration, measured, preview)


def _mix(source: SourceInfo, renders: Sequence[PlacedRender], me_track: Path | None, loudness: float,
         folder: Path) -> tuple[Path, float]:
    """Steps 1-3 into `folder`/mix.wav: every window mixed by the one rule the gate heard (stages/mix.py),
    the bed between them, then the whole normalised. Streamed through a raw scratch file, so memory
    holds a window at a time however long the source; returns the WAV and its measured loudness."""
    spans = window_spans([(r.start, r.end) for r in renders])
    laid = [(span, r.render.audio, r.render.sample_rate) for span, r in zip(spans, renders, strict=True)]
    raw = folder / "premix.f32"
    with open(raw, "wb") as f:
        for chunk in timeline(bed_for(source, me_track), source.duration, laid):
            f.write(np.ascontiguousarray(chunk, np.float32).tobytes())
    return folder / "mix.wav", _normalise(raw, loudness, folder / "mix.wav")


def _encode(source: SourceInfo, renders: Sequence[PlacedRender], wav: Path, cues: Sequence[Cue],
            language: Language, preview: bool, video: Path) -> tuple[Path, Path]:
    """Step 4 in a scratch folder: the SRT, generated windows as clips, then the mux with the mixed WAV."""
    tmp = video.parent
    subtitle_cues = _subtitle_cues(cues, source.duration, preview)
    srt = _write_srt(subtitle_cues, tmp / video.with_suffix(".srt").name)
    overlays = tuple(
        ffmpeg.Overlay(r.clip or ffmpeg.encode_frames(r.render.frames, r.render.fps, tmp / f"window{i}.mp4"),
                       r.start, r.end)
        for i, r in enumerate(renders) if r.clip is not None or r.render.frames is not None
    )
    metadata = ()
    if preview:
        metadata = (("title", f"{PREVIEW_TAG} ({language.code})"),
                    ("comment", f"{PREVIEW_TAG}: synthetic voice-over, original picture"))
    muxed = ffmpeg.mux(ffmpeg.MuxSpec(
        source=source.path, audio=wav, subtitles=srt if subtitle_cues else None, out=video,
        duration=source.duration, fps=source.fps, width=source.width, height=source.height,
        language=language.iso639_2, overlays=overlays, metadata=metadata,
        badge=_preview_badge(tmp, source.height) if preview else None,
    ))
    return muxed, srt


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


CHUNK = 10 * SAMPLE_RATE  # samples per channel normalised at once


def _normalise(raw: Path, target: float, wav: Path) -> float:
    """Scale the raw stereo float32 mix in `raw` to `target` LUFS integrated, soft-limit peaks above
    -1 dBFS, write it to `wav`; return the measured LUFS. Each pass streams the file in CHUNKs: the
    gain and limiter are per-sample steps, so they compose chunk by chunk exactly as over the whole."""
    frames = raw.stat().st_size // 8
    steps: list[float | None] = []  # a gain, or None for the soft limiter, applied in order
    if frames >= SAMPLE_RATE // 2:  # the R128 gating needs 400 ms blocks
        before = _measure(raw, steps)
        if np.isfinite(before):  # silence stays silence
            steps.append(10 ** ((target - before) / 20))
            for _ in range(3):  # limiting lowers loudness a little; re-aim a few times
                steps.append(None)
                measured = _measure(raw, steps)
                if abs(measured - target) < 0.1:
                    break
                steps.append(10 ** ((target - measured) / 20))
            steps.append(None)
    meter = LoudnessMeter(SAMPLE_RATE, 2)
    with open(wav, "wb") as out:
        out.write(float_wav_header(frames, SAMPLE_RATE, 2))
        for chunk in _chunks(raw, steps):
            meter.add(chunk)
            out.write(chunk.tobytes())
    return meter.integrated() if frames >= SAMPLE_RATE // 2 else float("-inf")


def _chunks(raw: Path, steps: Sequence[float | None]) -> Iterator[np.ndarray]:
    with open(raw, "rb") as f:
        while len(chunk := np.fromfile(f, np.float32, CHUNK * 2)):
            chunk = chunk.reshape(-1, 2)
            for step in steps:
                chunk = _soft_limit(chunk) if step is None else (chunk * step).astype(np.float32)
            yield chunk


def _measure(raw: Path, steps: Sequence[float | None]) -> float:
    meter = LoudnessMeter(SAMPLE_RATE, 2)
    for chunk in _chunks(raw, steps):
        meter.add(chunk)
    return meter.integrated()


def _soft_limit(x: np.ndarray) -> np.ndarray:
    """Leave samples below 0.8 x ceiling alone; bend the rest smoothly into the ceiling."""
    knee = 0.8 * PEAK_CEILING
    mag = np.abs(x)
    over = mag > knee
    if not over.any():
        return x
    room = PEAK_CEILING - knee
    bent = knee + room * np.tanh((mag - knee) / room)
    return np.where(over, np.sign(x) * bent, x).astype(np.float32)


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


def _subtitle_cues(cues: Sequence[Cue], duration: float, preview: bool) -> list[Cue]:
    timed = [c for c in cues if c.timed and c.start < duration]
    # Viewers' subtitles: no speaker names on screen (the scripts and the report keep them, docs/speakers.md).
    timed = [Cue(c.text, c.start, min(c.end, duration)) for c in timed]
    if not preview:
        return timed
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
    """Where and how a job delivers: the output folder, the cache, the mix's bed and loudness target,
    whether outputs are labelled PREVIEW, and the glossary checked against what was heard."""

    out: Path
    cache: StageCache
    preview: bool = False
    me_track: Path | None = None
    loudness: float = -23.0
    glossary: Path | None = None


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

    @property
    def output(self) -> LanguageOutput:
        return LanguageOutput(self.language, self.video, self.subtitles, self.passed, self.loudness_lufs,
                              self.duration, self.reasons)


def _assembled(source: SourceInfo, ls: LanguageScript, outcomes, renders, settings: DeliverySettings) -> dict:
    """The language's files, reused when the same inputs already produced them in the output folder.
    The entry names them relative to that folder, so a moved or copied folder is reused too."""
    key = cache_key(
        "assemble", mix=identity(), source=source.digest, language=ls.language.code,
        renders=[[o.start, o.end, o.chosen_attempt.render_key] for o in outcomes],
        cues=[[c.text, c.start, c.end, c.speaker] for c in ls.cues], preview=settings.preview,
        me_track=file_digest(settings.me_track) if settings.me_track else None, loudness=settings.loudness,
    )
    hit = settings.cache.get_json("assemble", key)
    if hit is not None:
        files = {**hit, **{k: str(settings.out / hit[k]) for k in ("video", "subtitles")}}
        if all(Path(files[k]).is_file() and file_digest(Path(files[k])) == hit[k + "_sha256"]
               for k in ("video", "subtitles")):
            return files
    placed = [PlacedRender(o.start, o.end, renders[o.window_index],
                           settings.cache.video_file("render", o.chosen_attempt.render_key)) for o in outcomes]
    result = assemble(source, placed, ls.cues, ls.language, settings.out, me_track=settings.me_track,
                      loudness=settings.loudness, preview=settings.preview)
    heard = [Heard(span, renders[o.window_index].audio, renders[o.window_index].sample_rate)
             for span, o in zip(window_spans([(o.start, o.end) for o in outcomes]), outcomes, strict=True)]
    integrity = check_delivered(result.video, source.path, source.duration, bed_for(source, settings.me_track),
                                heard, badge=settings.preview)
    hit = {"video": result.video.name, "subtitles": result.subtitles.name, "integrity": list(integrity),
           "loudness_lufs": round(result.loudness_lufs, 9),  # as the cache keeps it: a resumed run reports the same
           "duration": result.duration, "video_sha256": file_digest(result.video),
           "subtitles_sha256": file_digest(result.subtitles)}
    settings.cache.put_json("assemble", key, hit)
    return {**hit, "video": str(result.video), "subtitles": str(result.subtitles)}


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


def _heard_violations(outcomes, ls: LanguageScript, glossary: Path | None) -> tuple[GlossaryViolation, ...]:
    """Glossary terms missing from what the recogniser heard in each window."""
    if glossary is None:
        return ()
    terms = load_glossary(glossary)
    return tuple(v for o in outcomes for v in check_speech(
        " ".join(o.lines), o.chosen_attempt.heard, terms, ls.language, index=o.window_index, start=o.start,
        end=o.end))


def _reasons(outcomes, violations, integrity: Sequence[str]) -> tuple[str, ...]:
    """Why a language fails, in words: windows that failed the gate, glossary terms missing from a
    script or translation, a delivered file that is not what was gated."""
    reasons = [
        f"window {o.start:.2f}-{o.end:.2f} s failed the speech gate: {a.metric.upper()} {a.error_rate:.2f} > "
        f"{a.threshold:.2f} after {len(o.attempts)} attempt(s)"
        for o in outcomes if not o.passed for a in (o.chosen_attempt,)
    ] + [f'glossary term "{v.term}" missing from the {v.where}: {v.text}' for v in violations if v.where != "speech"]
    return (*reasons, *integrity)


def _middle_frame(cache: StageCache, outcome: WindowOutcome, plan: Plan) -> np.ndarray:
    """The window's picture at its middle: from the generated clip, else the source's first frame."""
    clip = cache.video_file("render", outcome.chosen_attempt.render_key)
    if clip is None:
        return plan.references[outcome.window_index]
    return read_frames(clip, [(outcome.end - outcome.start) / 2])[0]


def deliver_language(
    source: SourceInfo,
    plan: Plan,
    ls: LanguageScript,
    outcomes: Sequence[WindowOutcome],
    settings: DeliverySettings,
) -> LanguageSummary:
    """Assemble (or reuse) the language's mp4 + srt and judge it: it passes when every window passed
    the gate (each heard as mixed for delivery), the file passes the integrity check, and its
    script keeps every glossary term. Glossary terms missing from what was heard are reported but do
    not fail it on their own (the gate already scores the speech)."""
    renders = {o.window_index: load_chosen_render(settings.cache, o, frames=False) for o in outcomes}
    files = _assembled(source, ls, outcomes, renders, settings)
    violations = ls.glossary_violations + _heard_violations(outcomes, ls, settings.glossary)
    reasons = _reasons(outcomes, violations, files["integrity"])
    thumbs = {o.window_index: thumbnail_uri(_middle_frame(settings.cache, o, plan)) for o in outcomes}
    return LanguageSummary(
        language=ls.language.code, passed=not reasons, outcomes=tuple(outcomes), script_origin=ls.origin,
        glossary_violations=violations, timing_overflows=ls.timing_overflows, video=Path(files["video"]),
        subtitles=Path(files["subtitles"]), loudness_lufs=files["loudness_lufs"], duration=files["duration"],
        thumbnails=thumbs, reasons=reasons, delivered=delivered_verdict(outcomes),
    )
