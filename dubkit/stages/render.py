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
from dubkit.errors import ReviewError
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
    pinned: bool = False  # the chosen take was approved in a review: taken from the cache, never rendered

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


def render_has_picture(cache: StageCache, outcome: WindowOutcome) -> bool:
    """Whether the chosen render carries frames (a generating engine's), read from its record alone."""
    meta = cache.get_json("render", outcome.chosen_attempt.render_key)
    return bool(meta and meta.get("n_frames"))


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
class TakePlan:
    """What a review asks of one window's takes (docs/review.md; built by dubkit.stages.review).

    `new_take`: render takes up to this number (the next seed after those the reviewer saw) and use it;
    `one_more`: `--retake`: render one take more than the cache already holds and use it;
    `pinned`: an approved take, read from the cache and never rendered, not even with --force.
    `entry` names the review entry in messages ("review.json: zh line 3").
    """

    new_take: int | None = None
    one_more: bool = False
    pinned: int | None = None
    entry: str = ""


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
    takes: Mapping[int, TakePlan] = field(default_factory=dict)  # per window index, what a review asks
    bed: Bed = field(default_factory=Bed)  # what delivery lays under the speech; the gate hears it too
    spans: Mapping[int, WindowSpan] = field(default_factory=dict)  # per window index, its place in the mix
    # per window index, its first source frame (the plan's, decoded on access): read only when the engine renders
    references: Mapping[int, np.ndarray] = field(default_factory=dict)


def _attempt_count(engine: Engine, max_attempts: int) -> int:
    """An engine whose output does not depend on the seed (preview) gets one attempt: another
    seed would render the same audio."""
    return max_attempts if engine.uses_seed else 1


def _render_attempt(settings: RenderSettings, request: WindowRequest,
                    may_render: bool = True, reference: Callable[[], np.ndarray] | None = None
                    ) -> tuple[str, dict | None, WindowRender | None]:
    """The render for one attempt: from the cache when finished there, else from the engine (given the
    window's reference frame, decoded by `reference` only then), or None in place of its record when
    `may_render` is False and the cache lacks it."""
    rkey = render_key(settings.engine.identity(), request, dict(settings.context))
    # A finished render is known by its JSON alone: a resumed run reads no pixels it does not need.
    meta = settings.cache.get_json("render", rkey)
    if meta is not None and not _complete(settings.cache, rkey, meta):
        meta = None  # a damaged entry is rendered again, never trusted
    render = None
    if meta is None and may_render:
        if request.reference_frame is not None or not settings.engine.uses_reference:
            pass  # given already, or the engine never looks at it (the preview): nothing to decode
        elif reference is not None:
            request = replace(request, reference_frame=reference())
        elif request.index in settings.references:
            request = replace(request, reference_frame=settings.references[request.index])
        t0 = time.perf_counter()
        render = settings.engine.render(request)
        meta = _store_render(settings.cache, rkey, render, time.perf_counter() - t0)
    return rkey, meta, render


def _verdict(gate_: SpeechGate, settings: RenderSettings, span: WindowSpan, rkey: str,
             render: WindowRender | None, lines: tuple[str, ...]) -> tuple[Verdict, bool]:
    """The gate's verdict on a render as delivery mixes it, from the cache when this render was scored
    by this gate in this mix."""
    gkey = _gate_key(gate_, settings, span, rkey, lines)
    hit = settings.cache.get_json("gate", gkey)
    if hit is not None:
        return Verdict.from_json(hit), True
    audio, rate = (render.audio, render.sample_rate) if render is not None else _cached_audio(settings.cache, rkey)
    verdict = gate_.score(to_asr_audio(mix_window(settings.bed, span, audio, rate), SAMPLE_RATE), lines)
    settings.cache.put_json("gate", gkey, verdict.to_json())
    return verdict, False


def _span(settings: RenderSettings, request: WindowRequest) -> WindowSpan:
    """The window's place in the mix: from `settings.spans`, else its own span with no neighbour joined."""
    return settings.spans.get(request.index) or WindowSpan(request.start, request.end)


def _gate_key(gate_: SpeechGate, settings: RenderSettings, span: WindowSpan, rkey: str,
              lines: tuple[str, ...]) -> str:
    return cache_key("gate", render=rkey, scorer=gate_.identity, lines=lines, mix=settings.bed.identity(),
                     span=[span.start, span.end, span.joined_before, span.joined_after])


def _attempt(settings: RenderSettings, request: WindowRequest, gate_: SpeechGate, number: int,
             may_render: bool = True, reference: Callable[[], np.ndarray] | None = None) -> Attempt | None:
    """Take `number` of a window: rendered (or read back) and gated as delivery mixes it; None when it
    may not be rendered and the cache lacks it."""
    lines = tuple(c.text for c in request.lines)
    seed = window_seed(settings.base_seed, request.index, request.language.code, number)
    rkey, meta, render = _render_attempt(settings, replace(request, seed=seed), may_render, reference)
    if meta is None:
        return None
    verdict, gate_cached = _verdict(gate_, settings, _span(settings, request), rkey, render, lines)
    return Attempt(
        number=number, seed=seed, passed=verdict.passed, error_rate=verdict.error_rate,
        metric=verdict.metric, threshold=verdict.threshold, heard=verdict.heard, reference=" ".join(lines),
        render_key=rkey, seconds_render=float(meta["seconds"]), seconds_gate=verdict.seconds,
        cached=render is None, gate_cached=gate_cached, errors=verdict.errors, units=verdict.units,
        info=dict(meta["info"]),
    )


def _pinned_takes(settings: RenderSettings, request: WindowRequest, gate_: SpeechGate,
                  plan: TakePlan) -> list[Attempt]:
    """An approved window: its takes up to the approved one, all from the cache, even under --force."""
    assert plan.pinned is not None
    lines = tuple(c.text for c in request.lines)
    for number in range(1, plan.pinned + 1):  # the approved take and the earlier ones, readable again
        seed = window_seed(settings.base_seed, request.index, request.language.code, number)
        rkey = render_key(settings.engine.identity(), replace(request, seed=seed), dict(settings.context))
        settings.cache.pin("render", rkey)
        settings.cache.pin("gate", _gate_key(gate_, settings, _span(settings, request), rkey, lines))
    takes = [_attempt(settings, request, gate_, n, may_render=False) for n in range(1, plan.pinned + 1)]
    if takes[-1] is None:
        raise ReviewError(f"{plan.entry}: approved take {plan.pinned} of window {request.index} is no longer in "
                          f"the cache; release it with --unpin {request.language.code}:LINE")
    return [t for t in takes if t is not None]


def run_window(settings: RenderSettings, request: WindowRequest, gate_: SpeechGate,
               span: WindowSpan | None = None, reference: Callable[[], np.ndarray] | None = None) -> WindowOutcome:
    """Render, gate and retry one (window, language); returns every attempt and the chosen one.

    `request.seed` is ignored: attempt k uses window_seed(base_seed, index, language, k). A review's
    TakePlan for the window adds a retake, or pins an approved take (docs/review.md). `span` places the
    window among its neighbours for the mix (default: `settings.spans`, else its own span, no neighbour
    joined); `reference` gives the reference frame when the request has none and the engine must render.
    """
    if span is not None:
        settings = replace(settings, spans={**settings.spans, request.index: span})
    plan = settings.takes.get(request.index, TakePlan())
    if plan.pinned:
        attempts = _pinned_takes(settings, request, gate_, plan)
        return _outcome(request, attempts, len(attempts) - 1, pinned=True)
    attempts: list[Attempt] = []
    for number in range(1, _attempt_count(settings.engine, settings.max_attempts) + 1):
        attempts.append(_attempt(settings, request, gate_, number, reference=reference))  # type: ignore[arg-type]
        if attempts[-1].passed:
            break
    while plan.one_more and (kept := _attempt(settings, request, gate_, len(attempts) + 1, False)):
        attempts.append(kept)  # the takes earlier retakes left in the cache
    last = len(attempts) + 1 if plan.one_more else (plan.new_take or 0)
    for number in range(len(attempts) + 1, last + 1):
        attempts.append(_attempt(settings, request, gate_, number))  # type: ignore[arg-type]
    if last:
        return _outcome(request, attempts, last - 1)
    best = next((i for i, a in enumerate(attempts) if a.passed),
                min(range(len(attempts)), key=lambda i: attempts[i].error_rate))
    return _outcome(request, attempts, best)


def _outcome(request: WindowRequest, attempts: Sequence[Attempt], chosen: int, pinned: bool = False) -> WindowOutcome:
    return WindowOutcome(
        window_index=request.index, language=request.language.code, start=request.start,
        end=request.end, lines=tuple(c.text for c in request.lines), attempts=tuple(attempts), chosen=chosen,
        speakers=tuple(c.speaker for c in request.lines), pinned=pinned,
    )


def window_requests(settings: RenderSettings, plan: Plan, lines_per_window: Sequence[Sequence],
                    language: Language) -> tuple[WindowRequest, ...]:
    """One request per window of one language that has lines, in order (the unit a campaign schedules).

    A window whose language has no line (the translator merged it into a neighbour) gets none: its
    original frames and sound stay, which is what the source had there besides speech. Requests carry no
    reference frame: the engine gets it from `settings.references` only when it renders (a resumed run, or
    a long source's hundreds of windows, decode no picture ahead).
    """
    return tuple(
        WindowRequest(
            index=window.index, start=window.start, end=window.end, language=language,
            lines=tuple(lines), seed=0, reference_frame=None,
            speaker_descriptions=dict(settings.speakers), voice_track=settings.voice_track,
            width=plan.width, height=plan.height, speaker_pitch=dict(settings.speaker_pitch),
            speaker_tracks=dict(settings.speaker_tracks),
        )
        for window, lines in zip(plan.windows, lines_per_window, strict=False) if lines
    )


def request_spans(requests: Sequence[WindowRequest]) -> dict[int, WindowSpan]:
    """Each requested window's place in the mix (stages/mix.py: which neighbours continue it)."""
    return dict(zip((r.index for r in requests), window_spans([(r.start, r.end) for r in requests]), strict=True))


def render_language(
    settings: RenderSettings,
    plan: Plan,
    lines_per_window: Sequence[Sequence],
    gate_: SpeechGate,
    on_window: Callable[[WindowOutcome], None] | None = None,
) -> tuple[WindowOutcome, ...]:
    """run_window for every window of one language that has lines (window_requests), in order."""
    outcomes = []
    requests = window_requests(settings, plan, lines_per_window, gate_.language)
    settings = replace(settings, spans={**request_spans(requests), **settings.spans},
                       references=settings.references or plan.references)
    for request in requests:
        outcome = run_window(settings, request, gate_)
        outcomes.append(outcome)
        if on_window is not None:
            on_window(outcome)
    return tuple(outcomes)
