"""Stage 5+6: render one (window, language) with an engine, score its speech with the gate, retry.

Each attempt is rendered with a new seed, transcribed by the recogniser and scored against the
window's lines; the loop stops at the first attempt that passes or after `max_attempts`. Every
attempt is kept (seed, prompt, what was heard, error rate, timings) because a reviewer must be able
to see why a window was accepted or not. Renders and gate verdicts are cached separately: a killed
run never calls the engine again for a finished attempt, and a new threshold re-scores cached
transcripts without re-rendering.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field, replace
from math import gcd
from typing import Any, Callable

import numpy as np

from dubkit.engines.base import Engine, WindowRender, WindowRequest
from dubkit.store.cache import StageCache, cache_key

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
    mono = audio.astype(np.float32).reshape(len(audio), -1).mean(axis=1)
    g = gcd(sample_rate, ASR_RATE)
    from scipy.signal import resample_poly  # heavy import (~1.5 s), only when scoring

    return resample_poly(mono, ASR_RATE // g, sample_rate // g).astype(np.float32)


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
        size=[request.width, request.height],
        context=context,
    )


def _load_render(cache: StageCache, key: str) -> tuple[WindowRender, dict] | None:
    meta = cache.get_json("render", key)
    arrays = cache.get_arrays("render", key)
    if meta is None or arrays is None:
        return None
    frames = None
    if meta.get("n_frames"):
        frames = cache.get_video("render", key, int(meta["n_frames"]), float(meta["fps"]))
        if frames is None:
            return None
    render = WindowRender(audio=arrays["audio"], sample_rate=int(meta["sample_rate"]), frames=frames,
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


def load_chosen_render(cache: StageCache, outcome: WindowOutcome) -> WindowRender:
    """The render an outcome settled on, read back from the cache."""
    loaded = _load_render(cache, outcome.chosen_attempt.render_key)
    assert loaded is not None, f"render {outcome.chosen_attempt.render_key} vanished from the cache"
    return loaded[0]


Scorer = Callable[[np.ndarray, tuple[str, ...]], dict]
"""(16 kHz mono audio, reference lines) -> {"passed", "error_rate", "metric", "threshold", "heard"}."""


def run_window(
    engine: Engine,
    request: WindowRequest,
    *,
    scorer: Scorer,
    scorer_identity: dict,
    cache: StageCache,
    max_attempts: int,
    base_seed: int,
    context: dict,
) -> WindowOutcome:
    """Render, gate and retry one (window, language); returns every attempt and the chosen one.

    `request.seed` is ignored: attempt k uses window_seed(base_seed, index, language, k).
    `context` identifies inputs the request holds by value (source digest, voice-track digest).
    An engine whose output does not depend on the seed (preview: `uses_seed` False, or a preview
    engine without the attribute) gets one attempt: another seed would render the same audio.
    """
    identity = engine.identity()
    if not getattr(engine, "uses_seed", not engine.is_preview):
        max_attempts = 1
    lines = tuple(c.text for c in request.lines)
    attempts: list[Attempt] = []
    for number in range(1, max_attempts + 1):
        seed = window_seed(base_seed, request.index, request.language.code, number)
        attempt_request = replace(request, seed=seed)
        rkey = render_key(identity, attempt_request, context)
        # A finished render is known by its JSON alone: a resumed run reads no pixels it does not need.
        meta = cache.get_json("render", rkey)
        if meta is not None and not _complete(cache, rkey, meta):
            meta = None  # a damaged entry is rendered again, never trusted
        render = None
        if meta is None:
            t0 = time.perf_counter()
            render = engine.render(attempt_request)
            meta = _store_render(cache, rkey, render, time.perf_counter() - t0)
        gkey = cache_key("gate", render=rkey, scorer=scorer_identity, lines=lines)
        verdict = cache.get_json("gate", gkey)
        gate_cached = verdict is not None
        if verdict is None:
            audio, rate = (render.audio, render.sample_rate) if render is not None else _cached_audio(cache, rkey)
            t0 = time.perf_counter()
            verdict = scorer(to_asr_audio(audio, rate), lines)
            verdict["seconds"] = time.perf_counter() - t0
            cache.put_json("gate", gkey, verdict)
        cached = render is None
        attempts.append(Attempt(
            number=number, seed=seed, passed=bool(verdict["passed"]),
            error_rate=float(verdict["error_rate"]), metric=verdict["metric"],
            threshold=float(verdict["threshold"]), heard=verdict["heard"], reference=" ".join(lines),
            render_key=rkey, seconds_render=float(meta["seconds"]), seconds_gate=float(verdict["seconds"]),
            cached=cached, gate_cached=gate_cached, info=dict(meta["info"]),
        ))
        if attempts[-1].passed:
            break
    best = next((i for i, a in enumerate(attempts) if a.passed),
                min(range(len(attempts)), key=lambda i: attempts[i].error_rate))
    return WindowOutcome(
        window_index=request.index, language=request.language.code, start=request.start,
        end=request.end, lines=lines, attempts=tuple(attempts), chosen=best,
    )


def speech_scorer(recognizer, language, threshold: float | None, *, name: str | None = None) -> tuple[Scorer, dict]:
    """A Scorer for one language: the recogniser (eval.asr) hears the audio, the gate (eval.gate)
    scores it against the lines. Returns the scorer and its identity for cache keys.

    `recognizer` is an eval.asr.Recognizer, or a callable that builds one when first needed (then
    `name`, its model identity, is required): a resumed run whose verdicts are all cached never
    loads the model.
    """
    from eval.gate import gate, resolve_threshold

    limit = resolve_threshold(language, threshold)
    get = recognizer if callable(recognizer) and not hasattr(recognizer, "transcribe") else (lambda: recognizer)

    def score(audio: np.ndarray, lines: tuple[str, ...]) -> dict:
        transcript = get().transcribe(audio, language)
        result = gate(" ".join(lines), transcript, language, limit)
        return {"passed": result.passed, "error_rate": result.error_rate, "metric": result.metric,
                "threshold": result.threshold, "heard": transcript.text, "notes": list(result.notes)}

    model = name if name is not None else recognizer.name
    return score, {"asr": model, "language": language.code, "threshold": limit}


def render_language(
    engine: Engine,
    windows,
    lines_per_window,
    language,
    *,
    reference_frames,
    width: int,
    height: int,
    speakers: dict[str, str],
    voice_track,
    scorer: Scorer,
    scorer_identity: dict,
    cache: StageCache,
    max_attempts: int,
    base_seed: int,
    context: dict,
    on_window: Callable[[WindowOutcome], None] | None = None,
) -> tuple[WindowOutcome, ...]:
    """run_window for every window of one language that has lines, in order.

    A window whose language has no line (the translator merged it into a neighbour) is skipped:
    its original frames and sound stay, which is what the source had there besides speech.
    """
    outcomes = []
    for window, lines in zip(windows, lines_per_window):
        if not lines:
            continue
        request = WindowRequest(
            index=window.index, start=window.start, end=window.end, language=language, lines=tuple(lines),
            seed=0, reference_frame=reference_frames[window.index], speaker_descriptions=dict(speakers),
            voice_track=voice_track, width=width, height=height,
        )
        outcome = run_window(engine, request, scorer=scorer, scorer_identity=scorer_identity, cache=cache,
                             max_attempts=max_attempts, base_seed=base_seed, context=context)
        outcomes.append(outcome)
        if on_window is not None:
            on_window(outcome)
    return tuple(outcomes)
