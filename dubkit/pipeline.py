"""`dubkit localize`: one source video into several languages, as a numbered recipe of stages.

Each step calls one stage module and passes typed values on; no stage logic lives here. Every
stage result is cached under OUT/.dubkit-cache (see dubkit.store.cache), so a run that is killed and
started again redoes no finished work, and --force recomputes everything.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from dubkit.engines import EngineChoice, select_engine
from dubkit.engines.base import Engine
from dubkit.options import LocalizeOptions, checked
from dubkit.stages.deliver import LanguageOutput, finish_language
from dubkit.stages.plan import MAX_WINDOW, first_frames, plan_windows, shot_cuts
from dubkit.stages.probe import probe_source
from dubkit.stages.render import WindowOutcome, render_language, speech_scorer
from dubkit.stages.report import build_report, write_report
from dubkit.stages.transcribe import load_source_script
from dubkit.stages.translate import translate_languages
from dubkit.store.cache import StageCache, remove_stale_temps
from dubkit.store.files import RunLock, check_output_dir, file_digest

Progress = Callable[[str, int, int], None]
"""(what is happening, units done, units in all) — the CLI draws it; tests may record it."""


@dataclass(frozen=True)
class LocalizeResult:
    """What a localize job produced."""

    out: Path
    outputs: dict[str, LanguageOutput]
    report_json: Path
    report_html: Path
    passed: bool  # every language passed the gate (and its glossary check)
    engine: str
    engine_reason: str
    timings: dict[str, float]


def localize(
    options: LocalizeOptions,
    *,
    engine: Engine | None = None,
    recognizer=None,
    progress: Progress | None = None,
) -> LocalizeResult:
    """Run the whole job. `engine`/`recognizer` override the automatic choice (tests, the Python API)."""
    say = progress or (lambda what, done, total: None)
    clock = _Clock()
    opts = checked(options)  # 0. every option and referenced file, before anything is written
    out = opts.out_dir
    check_output_dir(out)
    with RunLock(out):
        remove_stale_temps(out)  # what a killed run left half-written
        cache = StageCache(out, enabled=not opts.force)
        asr = _Lazy(lambda: recognizer or _recognizer(opts.asr_model))
        asr_name = recognizer.name if recognizer is not None else _asr_name(opts.asr_model)
        with clock("probe"):  # 1
            say("probe", 0, 1)
            source = probe_source(opts.source)
        with clock("source_script"):  # 2
            say("source script", 0, 1)
            script = load_source_script(source, opts.source_script, cache=cache, recognizer=asr,
                                       asr_name=asr_name, max_cue=MAX_WINDOW)
        with clock("windows"):  # 3
            say("shots and windows", 0, 1)
            cuts = shot_cuts(source.path, source.digest, source.fps, cache)
            windows = plan_windows(script.cues, duration=source.duration, fps=source.fps, cuts=cuts)
        with clock("translate"):  # 4
            say("translations", 0, len(opts.languages))
            scripts = translate_languages(
                source.path, script.cues, opts.languages, windows, scripts_dir=opts.scripts_dir,
                translator_specs=opts.translators, glossary_path=opts.glossary, duration=source.duration,
                source_language=script.language, cache=cache,
            )
        with clock("select_engine"):  # 5
            choice = EngineChoice(engine, "engine given by the caller") if engine is not None else select_engine(
                opts.engine, weights=opts.weights, resolution=opts.resolution, mode=opts.mode)
            references = first_frames(source.path, windows)
        summaries, outputs = [], {}
        total, done = len(windows) * len(opts.languages), 0
        for lang in opts.languages:
            ls = scripts[lang.code]
            with clock("render_gate"):  # 6
                scorer, scorer_id = speech_scorer(asr, lang, opts.threshold, name=asr_name)

                def tick(outcome: WindowOutcome) -> None:
                    nonlocal done
                    done += 1
                    say(f"{lang.code} window {outcome.window_index}", done, total)

                voice = opts.voice_tracks.get(lang.code)
                outcomes = render_language(
                    choice.engine, windows, ls.per_window, lang, reference_frames=references,
                    width=source.width, height=source.height, speakers=dict(opts.speakers), voice_track=voice,
                    scorer=scorer, scorer_identity=scorer_id, cache=cache, max_attempts=opts.max_attempts,
                    base_seed=opts.seed, context={"source": source.digest,
                                                  "voice_track": file_digest(voice) if voice else None},
                    on_window=tick,
                )
            with clock("assemble"):  # 7
                say(f"{lang.code} assemble", done, total)
                summary, output = finish_language(source, ls, outcomes, references, choice.engine, cache, out=out,
                                                  me_track=opts.me_track, loudness=opts.loudness,
                                                  glossary=opts.glossary, scorer=scorer,
                                                  scorer_identity=scorer_id)
            summaries.append(summary)
            outputs[lang.code] = output
        with clock("report"):  # 8
            say("report", total, total)
            timings = clock.totals(summaries)
            job = _job_record(source, opts, script, cuts, windows, choice, asr_name, timings)
            report_json, report_html = write_report(build_report(job, summaries), out)
    return LocalizeResult(
        out=out, outputs=outputs, report_json=report_json, report_html=report_html,
        passed=all(s.passed for s in summaries), engine=choice.engine.name, engine_reason=choice.reason,
        timings=timings,
    )


def _job_record(source, opts, script, cuts, windows, choice, asr_name, timings) -> dict:
    options = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(opts).items() if k != "languages"}
    options["voice_tracks"] = {k: str(v) for k, v in opts.voice_tracks.items()}
    return {
        "source": {"path": str(source.path), "sha256": source.digest, "duration": source.duration,
                   "fps": source.fps, "width": source.width, "height": source.height, "has_audio": source.has_audio},
        "targets": [lang.code for lang in opts.languages],
        "options": options,
        "seed": opts.seed,
        "engine": {"name": choice.engine.name, "preview": choice.engine.is_preview, "reason": choice.reason,
                   "identity": choice.engine.identity()},
        "asr": {"model": asr_name},
        "source_script": {"origin": script.origin, "language": script.language,
                          "cues": [asdict(c) for c in script.cues]},
        "shot_cuts": list(cuts),
        "windows": [{"index": w.index, "start": w.start, "end": w.end, "cues": [asdict(c) for c in w.cues]}
                    for w in windows],
        "timings": timings,
    }


def _asr_name(model: str | None) -> str:
    from eval.whisper_models import resolve_model

    return resolve_model(model).name


def _recognizer(model: str | None):
    from eval.asr import Recognizer

    return Recognizer(model)


class _Lazy:
    """Build a value on first call (the recogniser loads a model; bad input should fail before)."""

    def __init__(self, make):
        self._make, self._value = make, None

    def __call__(self):
        if self._value is None:
            self._value = self._make()
        return self._value


class _Clock:
    """Wall time per recipe step, plus engine and recognition time from the attempts."""

    def __init__(self):
        self.start = time.perf_counter()
        self.steps: dict[str, float] = {}

    def __call__(self, step: str):
        clock = self

        class _Step:
            def __enter__(self):
                self.t0 = time.perf_counter()

            def __exit__(self, *exc):
                clock.steps[step] = clock.steps.get(step, 0.0) + time.perf_counter() - self.t0

        return _Step()

    def totals(self, summaries) -> dict[str, float]:
        attempts = [a for s in summaries for o in s.outcomes for a in o.attempts]
        fresh_engine = sum(a.seconds_render for a in attempts if not a.cached)
        fresh_gate = sum(a.seconds_gate for a in attempts if not a.gate_cached) + sum(
            s.delivered["seconds"] for s in summaries if s.delivered and not s.delivered["cached"])
        return {**{k: round(v, 3) for k, v in self.steps.items()},
                "engine": round(fresh_engine, 3),
                "gate": round(fresh_gate, 3),  # recognition: every window attempt and each delivered file
                "total": round(time.perf_counter() - self.start, 3)}
