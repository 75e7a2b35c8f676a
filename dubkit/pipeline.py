"""`dubkit localize`: one source video into several languages, as a numbered recipe of stages.

    0. check     every option and referenced file, before anything is written
    1. probe     the source video                                   stages/probe.py
    2. script    the source's timed lines (given, or recognised)    stages/transcribe.py
    3. plan      shot cuts, windows, reference frames               stages/plan.py
   3b. faces     which windows get new picture (--lipsync)          stages/composite.py
    4. translate a timed script per language                        stages/translate.py
       review    a reviewer's edits, retakes and approvals           stages/review.py
    5. engine    preview or magihuman, with the reason              engines/
    6. render    each window through the engine, the mix, the gate  stages/render.py
    7. deliver   composite, mix, loudness, mux, subtitles;          stages/deliver.py
                 integrity; verdict (+ the master with --master)     stages/master.py
    8. report    report.json and report.html                        stages/report.py

Each step is one call with typed values in and out; no stage logic lives here. Every stage result is
cached under OUT/.dubkit-cache (dubkit.store.cache), so a run that is killed and started again redoes
no finished work, and --force recomputes everything.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from dubkit.engines import EngineChoice, select_engine
from dubkit.engines.base import Engine, WindowRequest
from dubkit.options import LocalizeOptions, checked
from dubkit.stages.composite import FacePlan, find_faces, mask_previews
from dubkit.stages.deliver import (
    Deliverable,
    Delivery,
    DeliverySettings,
    LanguageOutput,
    LanguageSummary,
    deliver_language,
)
from dubkit.stages.delivery.burn_in import choose_font
from dubkit.stages.delivery.profiles import get_profile
from dubkit.stages.diarize import SpeakerSettings, speaker_flags
from dubkit.stages.master import MasterSettings, write_master
from dubkit.stages.mix import bed_for
from dubkit.stages.plan import Plan, make_plan
from dubkit.stages.probe import SourceInfo, probe_source
from dubkit.stages.render import (
    RenderSettings,
    SpeechGate,
    WindowOutcome,
    render_language,
    request_spans,
    speech_gate,
    window_requests,
)
from dubkit.stages.report import MASK_DIR, build_report, write_report
from dubkit.stages.review import Review, Reviewed, ReviewSettings, apply_review, find_review, parse_line_refs
from dubkit.stages.transcribe import SourceScript, load_source_script
from dubkit.stages.translate import (
    LanguageScript,
    TranslateSettings,
    translate_languages,
)
from dubkit.store.cache import StageCache, check_cache_folder, remove_stale_temps
from dubkit.store.files import RunLock, check_output_dir, file_digest
from eval.asr import LazyRecognizer, Recognizer
from langs import LanguageError, get_language

Progress = Callable[[str, int, int], None]
"""(what is happening, units done, units in all) — the CLI draws it; tests may record it."""

STEPS = {1: "probe", 2: "source_script", 3: "windows", "3b": "faces", 4: "translate", 5: "select_engine",
         6: "render_gate", 7: "assemble", 8: "report"}
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
    master: Deliverable | None = None  # the multi-language master (--master)


def localize(
    options: LocalizeOptions,
    *,
    engine: Engine | None = None,
    recognizer: Recognizer | None = None,
    progress: Progress | None = None,
) -> LocalizeResult:
    """Run the whole job. `engine`/`recognizer` override the automatic choice (tests, the Python API)."""
    opts = checked(options)  # step 0
    review = find_review(opts.out_dir, opts.review)  # a bad review is refused before anything is written
    check_output_dir(opts.out_dir)
    with RunLock(opts.out_dir):
        job = open_job(opts, recognizer=recognizer, progress=progress)
        prepared = prepare(job, engine, review)  # steps 1-5
        summaries = []
        for lang in opts.languages:
            work = language_work(job, prepared, lang.code, prepared.choice.engine)
            outcomes = job.step(6, f"{lang.code} windows", render_language, work.settings, prepared.plan,
                                prepared.scripts[lang.code].per_window, work.gate,
                                job.steps.window_ticker(lang.code, len(prepared.plan.windows) * len(opts.languages)))
            summaries.append(job.step(7, f"{lang.code} assemble", deliver, job, prepared, work, outcomes))
        return finish(job, prepared, summaries)  # step 8


# The seams a campaign (dubkit/campaign/) runs one spot through: each step callable on its own, in any
# process that sees the output folder, with the cache keys localize() uses.


@dataclass(frozen=True)
class Prepared:
    """Steps 1-5 of one job: what every window and assembly of it needs. `choice` is None once the
    engine has been dropped for sending to another process (`portable()`); `engine` describes it."""

    options: LocalizeOptions
    source: SourceInfo
    script: SourceScript
    plan: Plan
    faces: FacePlan  # step 3b: lip-sync or voice-only per window
    reviewed: Reviewed  # step 4: the scripts with a review's edits, and the take plan per window
    choice: EngineChoice | None
    engine: dict  # name, preview, reason, identity

    @property
    def scripts(self) -> dict[str, LanguageScript]:
        return self.reviewed.scripts

    def portable(self) -> Prepared:
        """This without the engine instance (it may hold loaded models), for another process."""
        return replace(self, choice=None)


@dataclass(frozen=True)
class LanguageWork:
    """Steps 6-7 of one language: its render settings and gate, and the windows to render."""

    language: str
    settings: RenderSettings
    gate: SpeechGate
    requests: tuple[WindowRequest, ...]


def open_job(options: LocalizeOptions, *, recognizer: Recognizer | None = None, progress: Progress | None = None,
             owner: bool = True) -> _Job:
    """The context every step of a checked job shares. The `owner` (the process holding the run lock)
    first checks the cache folder and clears what a killed run left half-written."""
    if owner:
        check_cache_folder(options.out_dir)
        remove_stale_temps(options.out_dir, (MASK_DIR,))
    return _Job(options, StageCache(options.out_dir, enabled=not options.force),
                LazyRecognizer(options.asr_model, recognizer=recognizer), _Steps(progress))


def prepare(job: _Job, engine: Engine | None, review: Review | None) -> Prepared:
    """Steps 1-5: probe, source script, plan, faces, translations and the review (`find_review`), engine."""
    opts = job.options
    source = job.step(1, "probe", probe_source, opts.source)
    script = job.step(2, "source script", load_source_script, source, opts.source_script, job.cache, job.asr,
                      _speaker_settings(opts))
    plan = job.step(3, "shots and windows", make_plan, source, script.cues, job.cache)
    faces = job.step("3b", "faces", find_faces, source, plan, opts.lipsync, job.cache)
    scripts = job.step(4, "translations", translate_languages, source, script, opts.languages, plan,
                       _translate_settings(opts), job.cache)
    reviewed = job.step(4, "review", apply_review, scripts, plan, _review_settings(opts, review))
    choice = job.step(5, "engine", choose_engine, opts, engine)
    info = {"name": choice.engine.name, "preview": choice.engine.is_preview, "reason": choice.reason,
            "identity": choice.engine.identity()}
    return Prepared(opts, source, script, plan, faces, reviewed, choice, info)


def language_work(job: _Job, prepared: Prepared, code: str, engine: Engine) -> LanguageWork:
    """One language's render settings, gate and window requests (step 6's input)."""
    opts, ls = job.options, prepared.scripts[code]
    gate = speech_gate(job.asr, ls.language, opts.threshold)
    voice = opts.voice_tracks.get(code)
    tracks = {key.partition(":")[2]: path for key, path in opts.voice_tracks.items() if key.startswith(f"{code}:")}
    settings = RenderSettings(
        engine=engine, cache=job.cache, max_attempts=opts.max_attempts, base_seed=opts.seed,
        speakers=speaker_flags(opts.speakers)[1], voice_track=voice,
        context={"source": prepared.source.digest, "voice_track": file_digest(voice) if voice else None,
                 **({"speaker_tracks": {k: file_digest(p) for k, p in tracks.items()}} if tracks else {})},
        speaker_pitch=prepared.script.pitch, speaker_tracks=tracks, takes=prepared.reviewed.takes[code],
        bed=bed_for(prepared.source, opts.me_track),
    )
    requests = window_requests(settings, prepared.plan, ls.per_window, ls.language)
    settings = replace(settings, spans=request_spans(requests), references=prepared.plan.references)
    return LanguageWork(code, settings, gate, requests)


def deliver(job: _Job, prepared: Prepared, work: LanguageWork, outcomes: Sequence[WindowOutcome]) -> LanguageSummary:
    """Step 7 for one language: assemble, check the delivered file's integrity, judge."""
    opts = job.options
    ls = prepared.scripts[work.language]
    delivery = DeliverySettings(out=opts.out_dir, cache=job.cache, preview=prepared.engine["preview"],
                                me_track=opts.me_track, loudness=opts.loudness, glossary=opts.glossary,
                                faces=prepared.faces, delivery=_delivery(job, prepared.source, ls, prepared.script))
    return deliver_language(prepared.source, prepared.plan, ls, outcomes, delivery)


def finish(job: _Job, prepared: Prepared, summaries: list[LanguageSummary]) -> LocalizeResult:
    """The multi-language master (step 7, with --master), then step 8: the report, and the job's result."""
    master = job.step(7, "master", write_master, prepared.source, prepared.script, summaries,
                      _master_settings(job)) if job.options.master else None
    report_json, report_html = job.step(8, "report", _report, job, prepared, summaries, master)
    return LocalizeResult(
        out=job.options.out_dir, outputs={s.language: s.output for s in summaries}, report_json=report_json,
        report_html=report_html, passed=all(s.passed for s in summaries), engine=prepared.engine["name"],
        engine_reason=prepared.engine["reason"], timings=job.steps.totals(summaries), master=master,
    )


def _delivery(job: _Job, source: SourceInfo, ls: LanguageScript, script: SourceScript) -> Delivery:
    """The language's delivery: the profile, stems, burned-in font, bilingual lines, the mix the master needs."""
    opts = job.options
    font = choose_font(ls.language, opts.subtitle_font, "".join(c.text for c in ls.cues)) if opts.burns_in else None
    source_language = None
    if opts.bilingual and script.language:
        try:
            source_language = get_language(script.language)
        except LanguageError:
            source_language = None
    keep = job.cache.root / "mixes" / f"{source.path.stem}.{ls.language.code}.mix.wav" if opts.master else None
    return Delivery(profile=get_profile(opts.deliver), stems=opts.stems, burn_in=font,
                    bilingual=tuple(script.cues) if opts.bilingual else None, source_language=source_language,
                    keep_mix=keep)


def _master_settings(job: _Job) -> MasterSettings:
    return MasterSettings(job.options.out_dir, job.cache, job.options.master, get_profile(job.options.deliver))


def _review_settings(opts: LocalizeOptions, review: Review | None) -> ReviewSettings:
    return ReviewSettings(review=review, out=opts.out_dir, stem=Path(opts.source).stem, base_seed=opts.seed,
                          retakes=parse_line_refs(opts.retakes, "--retake"),
                          unpins=parse_line_refs(opts.unpins, "--unpin"))


def _speaker_settings(opts: LocalizeOptions) -> SpeakerSettings:
    return SpeakerSettings(diarize=opts.diarize, count=opts.n_speakers, names=speaker_flags(opts.speakers)[0])


def _translate_settings(opts: LocalizeOptions) -> TranslateSettings:
    return TranslateSettings(scripts_dir=opts.scripts_dir, translators=tuple(opts.translators),
                             glossary=opts.glossary)


def choose_engine(opts: LocalizeOptions, engine: Engine | None) -> EngineChoice:
    if engine is not None:
        return EngineChoice(engine, "engine given by the caller")
    return select_engine(opts.engine, weights=opts.weights, recipes=opts.recipes(), kinds=opts.window_kinds())


def _report(job: _Job, prepared: Prepared, summaries: list[LanguageSummary],
            master: Deliverable | None) -> tuple[Path, Path]:
    record = _job_record(job, prepared, job.steps.totals(summaries))
    record["delivery"] = {"profile": job.options.deliver, "stems": job.options.stems,
                          "burn_in": job.options.burns_in, "bilingual": job.options.bilingual,
                          "master": master.to_json(job.options.out_dir) if master else None}
    return write_report(build_report(record, summaries, prepared.reviewed), job.options.out_dir,
                        mask_previews(prepared.plan, prepared.faces))


def _job_record(job: _Job, prepared: Prepared, timings: dict[str, float]) -> dict:
    opts, source, script, plan = job.options, prepared.source, prepared.script, prepared.plan
    options = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(opts).items() if k != "languages"}
    options["voice_tracks"] = {k: str(v) for k, v in opts.voice_tracks.items()}
    return {
        "source": {"path": str(source.path), "sha256": source.digest, "duration": source.duration,
                   "fps": source.fps, "width": source.width, "height": source.height, "has_audio": source.has_audio},
        "targets": [lang.code for lang in opts.languages],
        "options": options,
        "seed": opts.seed,
        "engine": dict(prepared.engine),
        "asr": {"model": job.asr.name},
        "source_script": {"origin": script.origin, "language": script.language,
                          "cues": [asdict(c) for c in script.cues]},
        "shot_cuts": list(plan.cuts),
        "windows": [{"index": w.index, "start": w.start, "end": w.end, "cues": [asdict(c) for c in w.cues],
                     "lipsync": prepared.faces.windows[w.index].summary()} for w in plan.windows],
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
    def __call__(self, number: int | str, what: str) -> Iterator[None]:
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

    def step(self, number: int | str, what: str, stage: Callable, *args):
        """Run one stage call as recipe step `number`, timed and shown as `what`."""
        with self.steps(number, what):
            return stage(*args)
