"""Stage 7 as the localize job runs it: assemble one language's files and judge the language.

Assembly itself belongs to `dubkit.assemble`; this module feeds it the chosen render of every
window, skips it when the same inputs already produced the files on disk (a restarted run), checks
the glossary against what was heard, scores the delivered file with the gate, and decides the
language's verdict with its reasons.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from dubkit.cache import StageCache, cache_key, file_digest
from dubkit.gate_loop import ASR_RATE, Scorer, WindowOutcome, load_chosen_render
from dubkit.probe import SourceInfo
from dubkit.report import LanguageSummary, thumbnail_uri
from dubkit.translation_stage import LanguageScript


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


def _assembled(source, ls, outcomes, renders, engine, cache: StageCache, out: Path, me_track, loudness) -> dict:
    from dubkit.assemble import PlacedRender, assemble, identity

    key = cache_key(
        "assemble", mix=identity(), source=source.digest, language=ls.language.code, out=str(out.resolve()),
        renders=[[o.start, o.end, o.chosen_attempt.render_key] for o in outcomes],
        cues=[[c.text, c.start, c.end, c.speaker] for c in ls.cues], preview=engine.is_preview,
        me_track=file_digest(me_track) if me_track else None, loudness=loudness,
    )
    hit = cache.get_json("assemble", key)
    if hit is not None and all(
        Path(hit[k]).is_file() and file_digest(Path(hit[k])) == hit[k + "_sha256"] for k in ("video", "subtitles")
    ):
        return hit
    placed = [PlacedRender(o.start, o.end, renders[o.window_index]) for o in outcomes]
    result = assemble(source.path, source, placed, ls.cues, ls.language, out, me_track=me_track,
                      loudness=loudness, preview=engine.is_preview)
    hit = {"video": str(result.video), "subtitles": str(result.subtitles), "loudness_lufs": result.loudness_lufs,
           "duration": result.duration, "video_sha256": file_digest(result.video),
           "subtitles_sha256": file_digest(result.subtitles)}
    cache.put_json("assemble", key, hit)
    return hit


def _delivered(files: dict, ls: LanguageScript, scorer: Scorer, scorer_identity: dict, cache: StageCache) -> dict:
    """The gate on the finished file: what a client's QA would hear, so a mix that buries the speech
    (or original speech left under it) fails here even when every window passed on its own."""
    from dubkit.media import read_audio

    key = cache_key("delivered", video=files["video_sha256"], scorer=scorer_identity,
                    lines=[c.text for c in ls.cues])
    hit = cache.get_json("delivered", key)
    if hit is not None:
        return {**hit, "cached": True}
    t0 = time.perf_counter()
    hit = scorer(read_audio(Path(files["video"]), sample_rate=ASR_RATE), tuple(c.text for c in ls.cues))
    hit["seconds"] = round(time.perf_counter() - t0, 3)  # recognition time, for the job's timings
    cache.put_json("delivered", key, hit)
    return {**hit, "cached": False}


def finish_language(
    source: SourceInfo,
    ls: LanguageScript,
    outcomes: Sequence[WindowOutcome],
    references: dict[int, np.ndarray],
    engine,
    cache: StageCache,
    *,
    out: Path,
    me_track: Path | None,
    loudness: float,
    glossary: Path | None,
    scorer: Scorer,
    scorer_identity: dict,
) -> tuple[LanguageSummary, LanguageOutput]:
    """Assemble (or reuse) the language's mp4 + srt and judge it: it passes when every window passed
    the gate, the delivered file's speech (after mixing, ducking and loudness) passes it too, and its
    script keeps every glossary term. Glossary terms missing from what was heard are reported but do
    not fail it on their own (the gate already scores the speech)."""
    from dubkit.translate.glossary import check_speech, load_glossary

    renders = {o.window_index: load_chosen_render(cache, o) for o in outcomes}
    files = _assembled(source, ls, outcomes, renders, engine, cache, out, me_track, loudness)
    delivered = _delivered(files, ls, scorer, scorer_identity, cache) if outcomes else None
    violations = list(ls.glossary_violations)
    if glossary is not None:
        terms = load_glossary(glossary)
        for o in outcomes:
            violations += [asdict(v) for v in check_speech(
                " ".join(o.lines), o.chosen_attempt.heard, terms, ls.language,
                index=o.window_index, start=o.start, end=o.end)]
    reasons = [
        f"window {o.start:.2f}-{o.end:.2f} s failed the speech gate: {a.metric.upper()} {a.error_rate:.2f} > "
        f"{a.threshold:.2f} after {len(o.attempts)} attempt(s)"
        for o in outcomes if not o.passed for a in (o.chosen_attempt,)
    ] + [
        f'glossary term "{v["term"]}" missing from the {v["where"]}: {v["text"]}'
        for v in violations if v["where"] != "speech"]
    if delivered is not None and not delivered["passed"]:
        reasons.append(f"the delivered file failed the speech gate: {delivered['metric'].upper()} "
                       f"{delivered['error_rate']:.2f} > {delivered['threshold']:.2f}")
    thumbs = {}
    for o in outcomes:
        frames = renders[o.window_index].frames
        frame = frames[len(frames) // 2] if frames is not None and len(frames) else references[o.window_index]
        thumbs[o.window_index] = thumbnail_uri(frame)
    video, subtitles = Path(files["video"]), Path(files["subtitles"])
    summary = LanguageSummary(
        language=ls.language.code, passed=not reasons, outcomes=tuple(outcomes), script_origin=ls.origin,
        glossary_violations=tuple(violations), timing_overflows=ls.timing_overflows, video=video,
        subtitles=subtitles, loudness_lufs=files["loudness_lufs"], duration=files["duration"],
        thumbnails=thumbs, reasons=tuple(reasons), delivered=delivered,
    )
    return summary, LanguageOutput(ls.language.code, video, subtitles, not reasons, files["loudness_lufs"],
                                   files["duration"], tuple(reasons))
