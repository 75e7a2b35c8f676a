"""Stage 6, render: each (window, language) through the engine, its delivered sound scored by the gate, retried.

Each attempt is rendered with a new seed, mixed into the window's span exactly as delivery will mix it
(stages/mix.py: over the M&E stem or the ducked original), transcribed by the recogniser and scored
against the window's lines, so the gate hears what the client will hear; the loop stops at the first
attempt that passes or after `max_attempts`. Every attempt is kept (seed, prompt, what was heard, error
rate, timings) because a reviewer must be able to see why a window was accepted or not. Renders and gate
verdicts are cached separately: a killed run never calls the engine again for a finished attempt, and a
new threshold re-scores cached transcripts without re-rendering.
"""
from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from dubkit.adapters.audio import resample, to_mono
from dubkit.engines.base import Engine, WindowRender, WindowRequest
from dubkit.stages.mix import SAMPLE_RATE, Bed, WindowSpan, mix_window, window_spans
from dubkit.stages.plan import Plan
from dubkit.store.cache import StageCache, cache_key
from eval.asr import LazyRecognizer
from eval.gate import gate, resolve_threshold
from langs import Language

ASR_RATE = 16_000


@dataclass(frozen=True)
class Attempt:
    """One render of a window and the gate's verdict on it."""

    number: int  # 1-based
    seed: int
    passed: bool
    error_rate: float
    metric: str  # "wer" | "cer"
    threshold: float
    heard: str  # what the recogniser heard
    reference: str  # the line(s) it was scored against
    render_key: str
    seconds_render: float  # engine time of the render (for a cached attempt, the time it took then)
    seconds_gate: float
    cached: bool  # True when this run took the render from the cache
    gate_cached: bool = False  # True when this run took the verdict from the cache
    errors: int = 0  # the verdict's error count and reference units (error_rate = errors / units)
    units: int = 0
    info: dict[str, Any] = field(default_factory=dict)  # the engine's record (prompt, voice, speed ...)


@dataclass(frozen=True)
class WindowOutcome:
    """All attempts at one (window, language) and which one is used."""

    window_index: int
    language: str
    start: float
    end: float
    lines: tuple[str, ...]
    attempts: tuple[Attempt, ...]
    chosen: int  # index into attempts: the first pass, else the lowest error rate
    speakers: tuple[str | None, ...] = ()  # the speaker of each line, when the script names them

    @property
    def passed(self) -> bool:
        return self.attempts[self.chosen].passed if self.attempts else True

    @property
    def chosen_attempt(self) -> Attempt:
        return self.attempts[self.chosen]


def window_seed(base_seed: int, window_index: int, language: str, attempt: int) -> int:
    """A deterministic seed per (job seed, window, language, attempt), so a rerun reproduces every
    attempt and attempts differ from each other."""
    digest = hashlib.sha256(f"{base_seed}:{window_index}:{language}:{attempt}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def to_asr_audio(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """float32 (n,) mono at 16 kHz, as the recogniser takes it."""
    return resample(to_mono(audio), sample_rate, ASR_RATE)


def render_key(engine_identity: dict, request: WindowRequest, context: dict) -> str:
    """Cache key of a render: engine identity, everything in the request that changes the output
    (the reference frame and voice track enter through `context`: the source and track digests)."""
    return cache_key(
        "render",
        engine=engine_identity,
        window=[request.index, request.start, request.end],
        language=request.language.code,
        lines=[[c.text, c.start, c.end, c.speaker] for c in request.lines],
        seed=request.seed,
        speakers=request.speaker_descriptions,
        **({"pitch": request.speaker_pitch} if request.speaker_pitch else {}),
        **({"speaker_tracks": sorted(request.speaker_tracks)} if request.speaker_tracks else {}),
        size=[request.width, request.height],
        context=context,
    )


def _load_render(cache: StageCache, key: str, frames: bool = True) -> tuple[WindowRender, dict] | None:
    meta = cache.get_json("render", key)
    arrays = cache.get_arrays("render", key)
    if meta is None or arrays is None:
        return None
    picture = None
    if meta.get("n_frames") and not frames and not cache.exists("render", key, ".mp4"):
        return None  # the picture is part of the render: without its clip the entry is incomplete
    if meta.get("n_frames") and frames:
        picture = cache.get_video("render", key, int(meta["n_frames"]), float(meta["fps"]))
        if picture is None:
            return None
    render = WindowRender(audio=arrays["audio"], sample_rate=int(meta["sample_rate"]), frames=picture,
                          fps=float(meta["fps"]), info=meta["info"])
    return render, meta


def _store_render(cache: StageCache, key: str, render: WindowRender, seconds: float) -> dict:
    # Audio and picture first, then the JSON: an entry counts as finished only once its JSON exists.
    cache.put_arrays("render", key, {"audio": np.asarray(render.audio, dtype=np.float32)})
    if render.frames is not None:
        cache.put_video("render", key, render.frames, render.fps)
    meta = {"sample_rate": render.sample_rate, "fps": render.fps, "info": render.info, "seconds": seconds,
            "n_frames": 0 if render.frames is None else len(render.frames)}
    cache.put_json("render", key, meta)
    return meta


def _complete(cache: StageCache, key: str, meta: dict) -> bool:
    return cache.exists("render", key, ".npz") and (not meta.get("n_frames") or cache.exists("render", key, ".mp4"))


def _cached_audio(cache: StageCache, key: str) -> tuple[np.ndarray, int]:
    meta, arrays = cache.get_json("render", key), cache.get_arrays("render", key)
    assert meta is not None and arrays is not None, f"render {key} is incomplete in the cache"
    return arrays["audio"], int(meta["sample_rate"])


def load_chosen_render(cache: StageCache, outcome: WindowOutcome, frames: bool = True) -> WindowRender:
    """The render an outcome settled on, read back from the cache (`frames=False`: its sound only; the
    picture stays in the cache's clip, `StageCache.video_file`)."""
    loaded = _load_render(cache, outcome.chosen_attempt.render_key, frames)
    assert loaded is not None, f"render {outcome.chosen_attempt.render_key} vanished from the cache"
    return loaded[0]


@dataclass(frozen=True)
class Verdict:
    """The gate's verdict on one piece of audio: what was heard and how it scored."""

    passed: bool
    error_rate: float
    metric: str  # "wer" | "cer"
    threshold: float
    heard: str
    notes: tuple[str, ...] = ()
    seconds: float = 0.0  # recognition time
    errors: int = 0  # substitutions + deletions + insertions, in the metric's units
    units: int = 0  # reference units (words or characters): error_rate = errors / units

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Verdict:
        return cls(passed=bool(data["passed"]), error_rate=float(data["error_rate"]), metric=str(data["metric"]),
                   threshold=float(data["threshold"]), heard=str(data["heard"]),
                   notes=tuple(data.get("notes", ())), seconds=float(data.get("seconds", 0.0)),
                   errors=int(data.get("errors", 0)), units=int(data.get("units", 0)))


@dataclass(frozen=True)
class SpeechGate:
    """One language's gate: the recogniser hears 16 kHz mono audio, eval.gate scores it against lines.

    `identity` (model, language, threshold) keys cached verdicts, so a new threshold re-scores
    without re-rendering and a resumed run whose verdicts are cached never loads the model.
    """

    recognizer: LazyRecognizer
    language: Language
    threshold: float

    @property
    def identity(self) -> dict:
        return {"asr": self.recognizer.name, "language": self.language.code, "threshold": self.threshold}

    def score(self, audio: np.ndarray, lines: Sequence[str]) -> Verdict:
        t0 = time.perf_counter()
        # Scored as one text (eval.gate, untimed lines): no word timestamps needed.
        transcript = self.recognizer.transcribe(audio, self.language, words=False)
        result = gate(" ".join(lines), transcript, self.language, self.threshold)
        # rounded as the cache stores it (9 places), so a resumed run reports what a fresh one does
        return Verdict(passed=result.passed, error_rate=round(result.error_rate, 9), metric=result.metric,
                       threshold=result.threshold, heard=transcript.text, notes=tuple(result.notes),
                       seconds=time.perf_counter() - t0, errors=result.whole.errors,
                       units=result.whole.reference_units)


def speech_gate(recognizer: LazyRecognizer, language: Language, threshold: float | None) -> SpeechGate:
    """The gate for `language` at `threshold` (None: the language's default, eval.gate)."""
    return SpeechGate(recognizer, language, resolve_threshold(language, threshold))


@dataclass(frozen=True)
class RenderSettings:
    """How a job renders: the engine, where results are cached, how hard it retries, what it conditions on.

    `context` identifies inputs a request holds by value (the source's and voice track's digests).
    """

    engine: Engine
    cache: StageCache
    max_attempts: int = 3
    base_seed: int = 0
    speakers: Mapping[str, str] = field(default_factory=dict)
    voice_track: Path | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    speaker_pitch: Mapping[str, float] = field(default_factory=dict)  # per speaker, median F0 of the source (Hz)
    speaker_tracks: Mapping[str, Path] = field(default_factory=dict)  # per speaker, a human recording
    bed: Bed = field(default_factory=Bed)  # what delivery lays under the speech; the gate hears it too


def _attempt_count(engine: Engine, max_attempts: int) -> int:
    """An engine whose output does not depend on the seed (preview) gets one attempt: another
    seed would render the same audio."""
    return max_attempts if engine.uses_seed else 1


def _render_attempt(settings: RenderSettings, request: WindowRequest,
                    reference: Callable[[], np.ndarray] | None = None) -> tuple[str, dict, WindowRender | None]:
    """The render for one attempt: from the cache when finished there, else from the engine (given the
    window's reference frame, decoded by `reference` only then: a resumed run decodes no picture)."""
    rkey = render_key(settings.engine.identity(), request, dict(settings.context))
    # A finished render is known by its JSON alone: a resumed run reads no pixels it does not need.
    meta = settings.cache.get_json("render", rkey)
    if meta is not None and not _complete(settings.cache, rkey, meta):
        meta = None  # a damaged entry is rendered again, never trusted
    render = None
    if meta is None:
        if request.reference_frame is None and reference is not None:
            request = replace(request, reference_frame=reference())
        t0 = time.perf_counter()
        render = settings.engine.render(request)
        meta = _store_render(settings.cache, rkey, render, time.perf_counter() - t0)
    return rkey, meta, render


def _verdict(gate_: SpeechGate, settings: RenderSettings, span: WindowSpan, rkey: str,
             render: WindowRender | None, lines: tuple[str, ...]) -> tuple[Verdict, bool]:
    """The gate's verdict on a render as delivery mixes it, from the cache when this render was scored
    by this gate in this mix."""
    gkey = cache_key("gate", render=rkey, scorer=gate_.identity, lines=lines, mix=settings.bed.identity(),
                     span=[span.start, span.end, span.joined_before, span.joined_after])
    hit = settings.cache.get_json("gate", gkey)
    if hit is not None:
        return Verdict.from_json(hit), True
    audio, rate = (render.audio, render.sample_rate) if render is not None else _cached_audio(settings.cache, rkey)
    verdict = gate_.score(to_asr_audio(mix_window(settings.bed, span, audio, rate), SAMPLE_RATE), lines)
    settings.cache.put_json("gate", gkey, verdict.to_json())
    return verdict, False


def run_window(settings: RenderSettings, request: WindowRequest, gate_: SpeechGate,
               span: WindowSpan | None = None, reference: Callable[[], np.ndarray] | None = None) -> WindowOutcome:
    """Render, gate and retry one (window, language); returns every attempt and the chosen one.

    `request.seed` is ignored: attempt k uses window_seed(base_seed, index, language, k). `span` places
    the window among its neighbours for the mix (default: the request's span, no neighbour joined);
    `reference` gives the reference frame when the request has none and the engine must render.
    """
    lines = tuple(c.text for c in request.lines)
    span = span or WindowSpan(request.start, request.end)
    attempts: list[Attempt] = []
    for number in range(1, _attempt_count(settings.engine, settings.max_attempts) + 1):
        seed = window_seed(settings.base_seed, request.index, request.language.code, number)
        rkey, meta, render = _render_attempt(settings, replace(request, seed=seed), reference)
        verdict, gate_cached = _verdict(gate_, settings, span, rkey, render, lines)
        attempts.append(Attempt(
            number=number, seed=seed, passed=verdict.passed, error_rate=verdict.error_rate,
            metric=verdict.metric, threshold=verdict.threshold, heard=verdict.heard, reference=" ".join(lines),
            render_key=rkey, seconds_render=float(meta["seconds"]), seconds_gate=verdict.seconds,
            cached=render is None, gate_cached=gate_cached, errors=verdict.errors, units=verdict.units,
            info=dict(meta["info"]),
        ))
        if verdict.passed:
            break
    best = next((i for i, a in enumerate(attempts) if a.passed),
                min(range(len(attempts)), key=lambda i: attempts[i].error_rate))
    return WindowOutcome(
        window_index=request.index, language=request.language.code, start=request.start,
        end=request.end, lines=lines, attempts=tuple(attempts), chosen=best,
        speakers=tuple(c.speaker for c in request.lines),
    )


def render_language(
    settings: RenderSettings,
    plan: Plan,
    lines_per_window: Sequence[Sequence],
    gate_: SpeechGate,
    on_window: Callable[[WindowOutcome], None] | None = None,
) -> tuple[WindowOutcome, ...]:
    """run_window for every window of one language that has lines, in order.

    A window whose language has no line (the translator merged it into a neighbour) is skipped:
    its original frames and sound stay, which is what the source had there besides speech.
    """
    outcomes = []
    voiced = [(w, lines) for w, lines in zip(plan.windows, lines_per_window, strict=False) if lines]
    spans = window_spans([(w.start, w.end) for w, _ in voiced])
    for (window, lines), span in zip(voiced, spans, strict=True):
        request = WindowRequest(
            index=window.index, start=window.start, end=window.end, language=gate_.language,
            lines=tuple(lines), seed=0, reference_frame=None,
            speaker_descriptions=dict(settings.speakers), voice_track=settings.voice_track,
            width=plan.width, height=plan.height, speaker_pitch=dict(settings.speaker_pitch),
            speaker_tracks=dict(settings.speaker_tracks),
        )
        outcome = run_window(settings, request, gate_, span,
                             lambda index=window.index: plan.references[index])
        outcomes.append(outcome)
        if on_window is not None:
            on_window(outcome)
    return tuple(outcomes)
