"""`dubkit localize`: one source video into several languages, as a numbered recipe of stages.

    0. check     every option and referenced file, before anything is written
    1. probe     the source video                                   stages/probe.py
    2. script    the source's timed lines (given, or recognised)    stages/transcribe.py
    3. plan      shot cuts, windows, reference frames               stages/plan.py
    4. translate a timed script per language                        stages/translate.py
    5. engine    preview or magihuman, with the reason              engines/
    6. render    each window through the engine, the mix, the gate  stages/render.py
    7. deliver   mix, loudness, mux, subtitles; integrity; verdict  stages/deliver.py
    8. report    report.json and report.html                        stages/report.py

Each step is one call with typed values in and out; no stage logic lives here. Every stage result is
cached under OUT/.dubkit-cache (dubkit.store.cache), so a run that is killed and started again redoes
no finished work, and --force recomputes everything.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from dubkit.engines import EngineChoice, select_engine
from dubkit.engines.base import Engine
from dubkit.options import LocalizeOptions, checked
from dubkit.stages.deliver import (
    DeliverySettings,
    LanguageOutput,
    LanguageSummary,
    deliver_language,
)
from dubkit.stages.diarize import SpeakerSettings, speaker_flags
from dubkit.stages.mix import bed_for
from dubkit.stages.plan import Plan, make_plan
from dubkit.stages.probe import SourceInfo, probe_source
from dubkit.stages.render import (
    RenderSettings,
    WindowOutcome,
    render_language,
    speech_gate,
)
from dubkit.stages.report import build_report, write_report
from dubkit.stages.transcribe import SourceScript, load_source_script
from dubkit.stages.translate import (
    LanguageScript,
    TranslateSettings,
    translate_languages,
)
from dubkit.store.cache import StageCache, check_cache_folder, remove_stale_temps
from dubkit.store.files import RunLock, check_output_dir, file_digest
from eval.asr import LazyRecognizer, Recognizer

Progress = Callable[[str, int, int], None]
"""(what is happening, units done, units in all) — the CLI draws it; tests may record it."""

STEPS = {1: "probe", 2: "source_script", 3: "windows", 4: "translate", 5: "select_engine", 6: "render_gate",
         7: "assemble", 8: "report"}
"""Step number -> the name its wall time is reported under (report.json `timings`)."""


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
    recognizer: Recognizer | None = None,
    progress: Progress | None = None,
) -> LocalizeResult:
    """Run the whole job. `engine`/`recognizer` override the automatic choice (tests, the Python API)."""
    opts = checked(options)  # step 0
    check_output_dir(opts.out_dir)
    with RunLock(opts.out_dir):
        check_cache_folder(opts.out_dir)
        remove_stale_temps(opts.out_dir)  # what a killed run left half-written
        job = _Job(opts, StageCache(opts.out_dir, enabled=not opts.force),
                   LazyRecognizer(opts.asr_model, recognizer=recognizer), _Steps(progress))
        source = job.step(1, "probe", probe_source, opts.source)
        script = job.step(2, "source script", load_source_script, source, opts.source_script, job.cache, job.asr,
                          _speaker_settings(opts))
        plan = job.step(3, "shots and windows", make_plan, source, script.cues, job.cache)
        scripts = job.step(4, "translations", translate_languages, source, script, opts.languages, plan,
                           _translate_settings(opts), job.cache)
        choice = job.step(5, "engine", _choose_engine, opts, engine)
        summaries = [_one_language(job, source, plan, scripts[lang.code], choice, script.pitch)
                     for lang in opts.languages]
        report_json, report_html = job.step(8, "report", _report, job, source, script, plan, choice, summaries)
    return LocalizeResult(
        out=opts.out_dir, outputs={s.language: s.output for s in summaries}, report_json=report_json,
        report_html=report_html, passed=all(s.passed for s in summaries), engine=choice.engine.name,
        engine_reason=choice.reason, timings=job.steps.totals(summaries),
    )


def _one_language(job: _Job, source: SourceInfo, plan: Plan, ls: LanguageScript,
                  choice: EngineChoice, pitch: Mapping[str, float]) -> LanguageSummary:
    """Steps 6 and 7 for one language: render and gate every window, then deliver and judge."""
    opts = job.options
    gate = speech_gate(job.asr, ls.language, opts.threshold)
    voice = opts.voice_tracks.get(ls.language.code)
    tracks = {key.partition(":")[2]: path for key, path in opts.voice_tracks.items()
              if key.startswith(f"{ls.language.code}:")}
    settings = RenderSettings(
        engine=choice.engine, cache=job.cache, max_attempts=opts.max_attempts, base_seed=opts.seed,
        speakers=speaker_flags(opts.speakers)[1], voice_track=voice,
        context={"source": source.digest, "voice_track": file_digest(voice) if voice else None,
                 **({"speaker_tracks": {k: file_digest(p) for k, p in tracks.items()}} if tracks else {})},
        speaker_pitch=pitch, speaker_tracks=tracks, bed=bed_for(source, opts.me_track),
    )
    outcomes = job.step(6, f"{ls.language.code} windows", render_language, settings, plan, ls.per_window, gate,
                        job.steps.window_ticker(ls.language.code, len(plan.windows) * len(opts.languages)))
    delivery = DeliverySettings(out=opts.out_dir, cache=job.cache, preview=choice.engine.is_preview,
                                me_track=opts.me_track, loudness=opts.loudness, glossary=opts.glossary)
    return job.step(7, f"{ls.language.code} assemble", deliver_language, source, plan, ls, outcomes, delivery)


def _speaker_settings(opts: LocalizeOptions) -> SpeakerSettings:
    return SpeakerSettings(diarize=opts.diarize, count=opts.n_speakers, names=speaker_flags(opts.speakers)[0])


def _translate_settings(opts: LocalizeOptions) -> TranslateSettings:
    return TranslateSettings(scripts_dir=opts.scripts_dir, translators=tuple(opts.translators),
                             glossary=opts.glossary)


def _choose_engine(opts: LocalizeOptions, engine: Engine | None) -> EngineChoice:
    if engine is not None:
        return EngineChoice(engine, "engine given by the caller")
    return select_engine(opts.engine, weights=opts.weights, resolution=opts.resolution, mode=opts.mode)


def _report(job: _Job, source: SourceInfo, script: SourceScript, plan: Plan, choice: EngineChoice,
            summaries: list[LanguageSummary]) -> tuple[Path, Path]:
    record = _job_record(job, source, script, plan, choice, job.steps.totals(summaries))
    return write_report(build_report(record, summaries), job.options.out_dir)


def _job_record(job: _Job, source: SourceInfo, script: SourceScript, plan: Plan, choice: EngineChoice,
                timings: dict[str, float]) -> dict:
    opts = job.options
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
        "asr": {"model": job.asr.name},
        "source_script": {"origin": script.origin, "language": script.language,
                          "cues": [asdict(c) for c in script.cues]},
        "shot_cuts": list(plan.cuts),
        "windows": [{"index": w.index, "start": w.start, "end": w.end, "cues": [asdict(c) for c in w.cues]}
                    for w in plan.windows],
        "timings": timings,
    }


class _Steps:
    """The one wrapper around every step: progress for the CLI and wall time per step for the report."""

    def __init__(self, progress: Progress | None):
        self.say = progress or (lambda what, done, total: None)
        self.start = time.perf_counter()
        self.seconds: dict[str, float] = {}
        self.done, self.total = 0, 1

    @contextmanager
    def __call__(self, number: int, what: str) -> Iterator[None]:
        self.say(what, self.done, self.total)
        t0 = time.perf_counter()
        try:
            yield
        finally:
            name = STEPS[number]
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0

    def window_ticker(self, language: str, total: int) -> Callable[[WindowOutcome], None]:
        """Called after each window: advances the bar over all windows of all languages."""
        self.total = max(total, 1)

        def tick(outcome: WindowOutcome) -> None:
            self.done += 1
            self.say(f"{language} window {outcome.window_index}", self.done, self.total)

        return tick

    def totals(self, summaries: list[LanguageSummary]) -> dict[str, float]:
        """Wall time per step, plus the engine's and the recogniser's own time this run."""
        attempts = [a for s in summaries for o in s.outcomes for a in o.attempts]
        fresh_engine = sum(a.seconds_render for a in attempts if not a.cached)
        fresh_gate = sum(a.seconds_gate for a in attempts if not a.gate_cached)
        return {**{k: round(v, 3) for k, v in self.seconds.items()},
                "engine": round(fresh_engine, 3),
                "gate": round(fresh_gate, 3),  # recognition: every window attempt, heard as delivered
                "total": round(time.perf_counter() - self.start, 3)}


@dataclass(frozen=True)
class _Job:
    """What every step of one run shares: the checked options, the cache, the recogniser, the steps' clock."""

    options: LocalizeOptions
    cache: StageCache
    asr: LazyRecognizer
    steps: _Steps

    def step(self, number: int, what: str, stage: Callable, *args):
        """Run one stage call as recipe step `number`, timed and shown as `what`."""
        with self.steps(number, what):
            return stage(*args)
