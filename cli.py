"""The `dubkit` command: parses arguments, calls `dubkit`, renders results. No stage logic here."""
from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from pathlib import Path

import click
from click.core import ParameterSource
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from dubkit.adapters import package_version
from dubkit.errors import DubkitError, InputError
from dubkit.jobs.evaluate import evaluate
from dubkit.jobs.models import check_weights, default_modes, list_models, pull_model, pull_weights
from dubkit.jobs.review import ReviewServer
from dubkit.jobs.script import make_script_package
from dubkit.jobs.transcribe import transcribe
from dubkit.options import LocalizeOptions, parse_pairs
from dubkit.pipeline import localize
from dubkit.stages.composite import LIPSYNC_MODES
from dubkit.stages.delivery.profiles import DEFAULT_PROFILE, PROFILES
from dubkit.store.paths import MAGIHUMAN
from eval.errors import EvalError
from eval.whisper_models import models_dir
from langs import MAX_SPEED_FACTOR, LanguageError, parse_languages
from model.config import BASE_RESOLUTION, MODES, RESOLUTIONS
from model.errors import ModelError

# Exit statuses shared by every command.
EXIT_OK, EXIT_FAILED_GATE, EXIT_BAD_INPUT = 0, 1, 2
USER_ERRORS = (DubkitError, EvalError, LanguageError, ModelError)


def _version() -> str:
    return package_version("dubkit", "0.0.0+source")  # the fallback: a source tree run without installing


class DubkitGroup(click.Group):
    """A click group that turns dubkit's named errors into a one-line message and exit status 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except USER_ERRORS as err:
            click.secho(f"error: {err}", err=True, fg="red")
            sys.exit(EXIT_BAD_INPUT)


def _notes_on_stderr() -> None:
    """dubkit's notes (a damaged cache entry computed again) as one `note:` line each on stderr."""
    logger = logging.getLogger("dubkit")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("note: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING)
        logger.propagate = False


@click.group(cls=DubkitGroup)
@click.version_option(_version(), prog_name="dubkit")
def main() -> None:
    """dubkit: localize and dub video with lip-synced speech, gated by a Whisper quality check."""
    _notes_on_stderr()

# Commands are defined below, one function each.


# --- eval / transcribe / models ---


@main.command("eval")
@click.argument("media", type=click.Path(path_type=Path))
@click.option("--script", "script", required=True, type=click.Path(path_type=Path),
              help="The reference script: .txt (untimed), .srt, .vtt, .ass or .json.")
@click.option("--lang", "lang", required=True, help="Language code or alias (zh, yue, en, ja, ko, de, fr ...).")
@click.option(
    "--asr-model",
    default=None,
    help="A CTranslate2 Whisper folder or a pulled name (large-v3); default: packaged base.",
)
@click.option("--threshold", type=float, default=None, help="Pass if the error rate is at or below this (0.25 = 25 %).")
@click.option(
    "--config",
    type=click.Path(path_type=Path),
    default=None,
    help="TOML/JSON file with a [thresholds] table per language.",
)
@click.option("--json", "json_out", type=click.Path(path_type=Path), default=None, help="Write the JSON report here.")
@click.option("--html", "html_out", type=click.Path(path_type=Path), default=None, help="Write the HTML report here.")
def eval_command(media, script, lang, asr_model, threshold, config, json_out, html_out) -> None:
    """Score the speech in MEDIA against SCRIPT. Exit 0 passed, 1 gate failed, 2 bad input."""

    result = evaluate(
        media,
        script,
        lang,
        asr_model=asr_model,
        threshold=threshold,
        config=config,
        json_out=json_out,
        html_out=html_out,
    )
    verdict = click.style("PASSED" if result.passed else "FAILED", fg="green" if result.passed else "red", bold=True)
    sign = "<=" if result.passed else ">"
    click.echo(
        f"{verdict}  {result.metric.upper()} {100 * result.error_rate:.1f} % {sign} threshold "
        f"{100 * result.threshold:.1f} %  ({result.language}, {len(result.segments)} line(s), model {result.model})"
    )
    w = result.whole
    click.echo(f"  hits {w.hits}, substitutions {w.substitutions}, deletions {w.deletions}, insertions {w.insertions}")
    for note in result.notes:
        click.echo(f"  note: {note}")
    for path in (json_out, html_out):
        if path is not None:
            click.echo(f"  wrote {path}")
    sys.exit(EXIT_OK if result.passed else EXIT_FAILED_GATE)


@main.command("transcribe")
@click.argument("media", type=click.Path(path_type=Path))
@click.option("--lang", "lang", default=None, help="Force the language (default: detected).")
@click.option(
    "-o",
    "--output",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="Script to write: .srt, .vtt, .ass, .json or .txt.",
)
@click.option(
    "--asr-model", default=None, help="A CTranslate2 Whisper folder or a pulled name; default: packaged base."
)
@click.option("--diarize", is_flag=True, help="Find who speaks when: each cue gets a speaker (S1, S2 ...).")
@click.option(
    "--speakers",
    "n_speakers",
    type=click.IntRange(min=1),
    default=None,
    help="The number of speakers (implies --diarize; default: found automatically).",
)
@click.option("--speaker", "names", multiple=True, help="S1=Anna: name a speaker found by --diarize; repeatable.")
def transcribe_command(media, lang, out, asr_model, diarize, n_speakers, names) -> None:
    """Write the timed source script of MEDIA (speech recognition with Whisper)."""

    script = transcribe(
        media,
        out,
        lang=lang,
        asr_model=asr_model,
        diarize=diarize,
        speakers=n_speakers,
        names=parse_pairs(names, flag="--speaker"),
    )
    if not script.cues:
        click.echo(f"no speech recognised in {media}; wrote an empty script {out}")
    else:
        found = sorted({c.speaker for c in script.cues if c.speaker})
        who = f", speakers {', '.join(found)}" if found else ""
        click.echo(f"wrote {out}: {len(script.cues)} cue(s){who}")


@main.group("models")
def models_group() -> None:
    """Models: list the speech recognition models, or pull a known one (or the MagiHuman weights) from the hub."""


@models_group.command("list")
def models_list_command() -> None:
    """List the packaged model, the known names and what is in the models folder."""

    click.echo(f"models folder: {models_dir()}")
    for entry in list_models():
        where = str(entry.path) if entry.installed else "not pulled"
        click.echo(f"  {entry.name:<16} {where}  [{entry.source}]")


@models_group.command("pull")
@click.argument("name")
@click.option("--endpoint", default=None, envvar="HF_ENDPOINT", help="Hub address (a mirror); default: huggingface.co.")
@click.option(
    "--weights",
    type=click.Path(path_type=Path),
    default=None,
    help="magihuman only: weights folder (default: $DUBKIT_WEIGHTS, else $DUBKIT_HOME/models/magihuman).",
)
@click.option(
    "--mode",
    "modes",
    multiple=True,
    type=click.Choice(list(MODES)),
    help="magihuman only: sampling modes to fetch (default: distill at 256p, base before SR; voice-track jobs "
    "also need base); repeatable.",
)
@click.option(
    "--resolution",
    "resolutions",
    multiple=True,
    type=click.Choice(list(RESOLUTIONS)),
    help="magihuman only: output resolutions to fetch (540p/1080p add an SR model); repeatable.",
)
@click.option(
    "--token",
    default=None,
    envvar="HF_TOKEN",
    help="magihuman only: hub token of an account that accepted the T5Gemma and Stable Audio Open terms.",
)
def models_pull_command(name, endpoint, weights, modes, resolutions, token) -> None:
    """Fetch the known model NAME (large-v3 ..., or magihuman for the generator's weights)."""

    if name == MAGIHUMAN:
        path = pull_weights(
            weights,
            modes=modes or None,
            resolutions=resolutions or (BASE_RESOLUTION,),
            endpoint=endpoint,
            token=token,
        )
        click.echo(f"pulled {name} into {path}; use it with: dubkit localize ... --weights {path}")
        return
    path = pull_model(name, endpoint=endpoint)
    click.echo(f"pulled {name} into {path}")


@models_group.command("check")
@click.argument("folder", required=False, type=click.Path(path_type=Path))
@click.option(
    "--mode",
    "modes",
    multiple=True,
    type=click.Choice(list(MODES)),
    help="Sampling modes to check for (default: distill at 256p, base before SR; voice-track jobs also need "
    "base); repeatable.",
)
@click.option(
    "--resolution",
    "resolutions",
    multiple=True,
    type=click.Choice(list(RESOLUTIONS)),
    help="Output resolutions to check for (540p/1080p need an SR model); repeatable.",
)
def models_check_command(folder, modes, resolutions) -> None:
    """Check a MagiHuman weights FOLDER (default: $DUBKIT_WEIGHTS, else where `models pull` puts it): which layout
    it has (dubkit's or the official download), what is missing, and whether the Turbo VAE checkpoint's tensor
    names and shapes match the released config. Exit status 0 when complete and matching, 1 otherwise."""

    resolutions = resolutions or (BASE_RESOLUTION,)
    modes = modes or default_modes(resolutions)
    result = check_weights(folder, modes=modes, resolutions=resolutions)
    click.echo(f"weights folder: {result.folder}")
    click.echo(f"layout: {result.layout} ({result.layout_note})")
    click.echo(f"needed for {'+'.join(modes)} at {'+'.join(resolutions)}: {', '.join(result.components)}")
    if result.missing:
        click.echo(f"missing ({len(result.missing)}):")
        for item in result.missing:
            click.echo(f"  {item}")
    else:
        click.echo("missing: nothing")
    for line in result.turbo_lines:
        click.echo(line)
    click.echo("ok" if result.ok else "not ready: see above")
    sys.exit(EXIT_OK if result.ok else EXIT_FAILED_GATE)


# --- localize ---


@main.command("localize")
# readable=False: dubkit says itself which file cannot be read, in one line (click would print usage)
@click.argument("sources", nargs=-1, type=click.Path(path_type=Path, readable=False))
@click.option("--to", "languages", default=None, help="Target languages, comma-separated: zh,ko,ja.")
@click.option(
    "--manifest",
    type=click.Path(path_type=Path, readable=False),
    default=None,
    help="A campaign manifest (TOML): spots, their sources and options (docs/campaigns.md).",
)
@click.option("--jobs", type=int, default=1, show_default=True, help="Worker processes on this machine.")
@click.option("--ray", "ray_address", default=None, metavar="auto|ADDRESS",
              help="Run on a Ray cluster (auto: this machine's, else a local one); needs the ray extra.")
@click.option(
    "-o",
    "--out",
    "out",
    type=click.Path(path_type=Path, readable=False),
    default=None,
    help="Output folder (default: <source dir>/out).",
)
@click.option(
    "--source-script",
    type=click.Path(path_type=Path, readable=False),
    default=None,
    help="The source's timed script (SRT, VTT, ASS, JSON) instead of speech recognition.",
)
@click.option(
    "--scripts",
    "scripts_dir",
    type=click.Path(path_type=Path, readable=False),
    default=None,
    help="Folder of translated scripts (<stem>.<lang>.srt); default: beside the source.",
)
@click.option(
    "--translator",
    "translators",
    multiple=True,
    help="ct2:FOLDER[#nllb|#m2m] or openai:URL[#MODEL], optionally LANG=... for one language; repeatable.",
)
@click.option(
    "--glossary",
    type=click.Path(path_type=Path, readable=False),
    default=None,
    help="Glossary (TOML/JSON) to enforce and check.",
)
@click.option(
    "--engine",
    type=click.Choice(["auto", "preview", "magihuman"]),
    default="auto",
    show_default=True,
    help="auto: magihuman when CUDA and complete --weights are present, else the CPU preview.",
)
@click.option(
    "--weights",
    type=click.Path(path_type=Path, readable=False),
    default=None,
    envvar="DUBKIT_WEIGHTS",
    help="MagiHuman models folder (default: $DUBKIT_WEIGHTS, else where `dubkit models pull magihuman` "
    "puts them when that folder exists).",
)
@click.option(
    "--resolution",
    type=click.Choice(["auto", *RESOLUTIONS]),
    default="auto",
    show_default=True,
    help="magihuman output resolution; auto follows the source: 1080p above 720 lines, else 540p (both add "
    "the SR model); 256p only when asked for.",
)
@click.option(
    "--lipsync",
    type=click.Choice(list(LIPSYNC_MODES)),
    default="auto",
    show_default=True,
    help="auto: new picture only in windows with a face large enough to lip-sync, composited around it; "
    "elsewhere the original frames with the new speech. always: every window; never: speech only.",
)
@click.option(
    "--mode",
    type=click.Choice(list(MODES)),
    default=None,
    help="magihuman first stage of windows without a voice track (default: the official recipe: distill, 8 steps, at "
    "256p; base, 32 steps with CFG, before SR). Voice-track windows run base.",
)
@click.option(
    "--sr-fast",
    is_flag=True,
    help="FAST MODE (no released config): at 540p/1080p run the distilled model before super-resolution instead "
    "of base; voice-track windows still run base.",
)
@click.option(
    "--voice-track",
    "voice_tracks",
    multiple=True,
    help="LANG=FILE: a voice actor's track (audio-conditioned mode: the official A2V path, base model, 32 steps "
    "with CFG, the track kept as it is).",
)
@click.option(
    "--a2v-distill-experimental",
    is_flag=True,
    help="EXPERIMENTAL: run voice-track windows on the distilled model (8 steps, track kept fixed); no official "
    "code runs this (the official distilled sampler regenerates supplied audio).",
)
@click.option(
    "--me-track",
    type=click.Path(path_type=Path, readable=False),
    default=None,
    help="Music-and-effects stem to mix the speech over.",
)
@click.option(
    "--deliver",
    type=click.Choice(list(PROFILES)),
    default=DEFAULT_PROFILE,
    show_default=True,
    help="Delivery profile: loudness, true peak, codecs, container (docs/delivery.md).",
)
@click.option(
    "--loudness", type=float, default=None, help="Integrated loudness target, LUFS (default: the profile's)."
)
@click.option("--stems", is_flag=True, help="Also write dialogue, M&E and mix as 48 kHz 24-bit WAV per language.")
@click.option(
    "--master",
    type=click.Choice(["mov", "mkv"]),
    is_flag=False,
    flag_value="mov",
    default=None,
    help="Also write one master with the picture once and every language's audio and subtitles (default mov).",
)
@click.option(
    "--burn-in/--no-burn-in", "burn_in", default=None, help="Burn subtitles into the picture (default: on for social)."
)
@click.option(
    "--subtitle-font",
    type=click.Path(path_type=Path, readable=False),
    default=None,
    help="Font file for burned-in subtitles (default: an installed font that covers the language).",
)
@click.option("--bilingual", is_flag=True, help="Subtitles with the translated line over the source line.")
@click.option(
    "--speaker",
    "speakers",
    multiple=True,
    help='S1=Anna renames a speaker; Anna="warm female voice, 30s" describes one for the prompt; repeatable.',
)
@click.option("--diarize", is_flag=True, help="Find who speaks when in a recognised source script (S1, S2 ...).")
@click.option(
    "--speakers",
    "n_speakers",
    type=click.IntRange(min=1),
    default=None,
    help="The number of speakers in the source (implies --diarize; default: found automatically).",
)
@click.option("--max-attempts", type=int, default=3, show_default=True, help="Renders per window before giving up.")
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Job seed; each attempt's seed derives from (seed, window, language, attempt).",
)
@click.option("--asr-model", default=None, help="Whisper folder or pulled name for recognition and the gate.")
@click.option(
    "--threshold", type=float, default=None, help="Gate threshold for every language (default: per language)."
)
@click.option("--force", is_flag=True, help="Recompute every stage, ignoring the cache (approved takes are kept).")
@click.option(
    "--review",
    type=click.Path(path_type=Path, readable=False),
    default=None,
    help="A review's decisions (review.json from the report page); default: OUT/review.json when it exists.",
)
@click.option("--retake", "retakes", multiple=True, help="LANG:LINE, e.g. zh:3: render that line's window again "
              "with the next seed; repeatable.")
@click.option("--unpin", "unpins", multiple=True, help="LANG:LINE: release the approved take of that line's window; "
              "repeatable.")
def localize_command(sources, manifest, jobs, ray_address, translators, voice_tracks, speakers, retakes, unpins,
                     **params) -> None:
    """Localize each SOURCE (or a --manifest's spots) into each --to language. Exit 0 all passed, 1 a
    language or spot failed, 2 bad input."""
    params.update(translators=tuple(translators), voice_tracks=parse_pairs(voice_tracks, flag="--voice-track"),
                  speakers=parse_pairs(speakers, flag="--speaker"), retakes=tuple(retakes), unpins=tuple(unpins))
    if manifest is not None or len(sources) != 1 or jobs != 1 or ray_address is not None:
        _campaign(sources, manifest, jobs, ray_address, params)
    if not params["languages"]:
        raise InputError("no target language given (--to zh,ko,ja)")
    options = LocalizeOptions(source=sources[0], **params)
    console = Console(stderr=True, soft_wrap=True)  # long paths and reasons stay one line each
    result = _localize_with_progress(options, console)
    console.print(f"engine: {result.engine} ({result.engine_reason})")
    for code, output in result.outputs.items():
        verdict = "[green]PASS[/green]" if output.passed else "[red]FAIL[/red]"
        console.print(f"{verdict} {code}: {output.video}  {output.subtitles}")
        for reason in output.reasons:
            console.print(f"     {reason}", markup=False, highlight=False)
    if result.master is not None:
        console.print(f"master: {result.master.path}", markup=False, highlight=False)
    console.print(f"report: {result.report_html}")
    sys.exit(EXIT_OK if result.passed else EXIT_FAILED_GATE)


def _localize_with_progress(options: LocalizeOptions, console: Console):
    """Run the job with a progress bar on stderr when it is a terminal (there it cannot redraw otherwise,
    and would leave a stray blank line)."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("localize", total=None)

        def progress(what: str, done: int, total: int) -> None:
            bar.update(task, description=what, completed=done, total=max(total, 1))

        return localize(options, progress=progress)


def _campaign(sources, manifest, jobs, ray_address, params) -> None:
    """Several sources, a manifest, or a backend other than this process: a campaign (docs/campaigns.md)."""
    from dubkit.campaign import check_backend_options, localize_campaign
    from dubkit.campaign.backends import make_backend
    from dubkit.campaign.manifest import read_manifest, spots_from_sources

    out = params.pop("out")
    if manifest is not None and sources:
        raise InputError("give sources or --manifest, not both")
    if manifest is None and not sources:
        raise InputError("no source given: dubkit localize SOURCE... --to LANGS, or --manifest FILE")
    if manifest is not None:
        ctx = click.get_current_context()
        typed = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)  # options typed: the manifest's base
        spots = read_manifest(manifest, out, {k: v for k, v in params.items() if ctx.get_parameter_source(k) in typed})
    else:
        if not params["languages"]:
            raise InputError("no target language given (--to zh,ko,ja)")
        spots = spots_from_sources(sources, out, params)
    check_backend_options(spots, jobs, ray_address)
    folder = spots[0].options.out_dir if len(spots) == 1 else spots[0].options.out_dir.parent
    console = Console(stderr=True, soft_wrap=True)
    try:
        with _campaign_progress(console) as progress:
            backend = make_backend(jobs, ray_address, gpu=any(s.options.engine != "preview" for s in spots))
            result = localize_campaign(spots, folder, backend, progress)
    except KeyboardInterrupt:
        console.print("interrupted: finished work is kept in the cache; run the same command again to resume")
        sys.exit(130)
    for run in result.run.spots:
        if run.error:
            console.print(f"[red]FAIL[/red] {run.name}: {run.error}", highlight=False)
        for code in run.languages if run.result else ():
            output = run.result.outputs[code]
            verdict = "[green]PASS[/green]" if output.passed else "[red]FAIL[/red]"
            console.print(f"{verdict} {run.name} {code}: {output.video}  {output.subtitles}", highlight=False)
    report = result.campaign_html or (result.run.spots[0].result.report_html if result.run.spots[0].result else None)
    if report is not None:
        console.print(f"report: {report}")
    sys.exit(EXIT_OK if result.passed else EXIT_FAILED_GATE)


@contextmanager
def _campaign_progress(console: Console):
    """One bar for the whole campaign on a terminal (windows done / total, per language); a line per
    finished spot × language otherwise."""
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("campaign", total=None)

        def progress(tick) -> None:
            per = " · ".join(f"{code} {d}/{t}" for code, (d, t) in tick.per_language.items())
            bar.update(task, description=f"campaign {per}", completed=tick.done, total=max(tick.total, 1))
            if console.is_terminal:
                return
            if tick.kind == "failed":
                console.print(f"FAIL {tick.spot}: {tick.reason}", markup=False, highlight=False)
            elif tick.kind == "language":
                s = tick.summary
                rate = (f" {s.delivered.metric.upper()} {s.delivered.error_rate:.1%} vs {s.delivered.threshold:.0%}"
                        if s.delivered else "")
                console.print(f"{'PASS' if s.passed else 'FAIL'} {tick.spot} {tick.language}{rate} "
                              f"({tick.done}/{tick.total} windows)", markup=False, highlight=False)

        yield progress


# --- script ---


@main.command("script")
@click.argument("media", type=click.Path(path_type=Path))
@click.option("--to", "languages", required=True, help="Target languages, comma-separated: zh,ko,ja.")
@click.option(
    "-o",
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="Folder for the source script, the templates and the fit tables.",
)
@click.option(
    "--source-script",
    type=click.Path(path_type=Path),
    default=None,
    help="The source's timed script instead of speech recognition (MEDIA may also be a script).",
)
@click.option(
    "--scripts",
    "scripts_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder of finished translated scripts to check (default: beside MEDIA).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["srt", "vtt"]), default="srt", show_default=True, help="Template format."
)
@click.option(
    "--asr-model", default=None, help="Whisper folder or pulled name for recognition; default: packaged base."
)
@click.option("--diarize", is_flag=True, help="Find who speaks when in the recognised lines (S1, S2 ...).")
@click.option(
    "--speakers",
    "n_speakers",
    type=click.IntRange(min=1),
    default=None,
    help="The number of speakers (implies --diarize; default: found automatically).",
)
@click.option("--speaker", "names", multiple=True, help="S1=Anna: name a speaker; repeatable.")
def script_command(
    media, languages, out, source_script, scripts_dir, fmt, asr_model, diarize, n_speakers, names
) -> None:
    """Write MEDIA's timed source script and a template per language for translators; flag lines
    too long for their time. Re-run after filling templates to re-check them."""

    package = make_script_package(
        media,
        parse_languages(languages),
        out,
        source_script=source_script,
        scripts_dir=scripts_dir,
        asr_model=asr_model,
        fmt=fmt,
        diarize=diarize,
        n_speakers=n_speakers,
        names=parse_pairs(names, flag="--speaker"),
    )
    click.echo(f"source script: {package.source}")
    for code, lang in package.packages.items():
        state = "kept (filled lines preserved)" if lang.kept else "written"
        click.echo(
            f"{code}: template {lang.template} {state}; {lang.filled}/{lang.total} line(s) translated; "
            f"fit table {lang.fit_table}"
        )
        for fit in lang.overflow:
            click.secho(
                f"  line {fit.index + 1} ({fit.start:.2f}-{fit.end:.2f} s) too long: needs {fit.estimated:.2f} s "
                f"in {fit.budget:.2f} s (x{fit.speed_factor:.3f} > x{MAX_SPEED_FACTOR:.2f}): {fit.text}",
                fg="yellow",
            )



# --- review ---


@main.command("review")
@click.argument("out", type=click.Path(path_type=Path, readable=False))
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port on 127.0.0.1 (0: a free one).")
def review_command(out, port) -> None:
    """Serve OUT's report on 127.0.0.1 so its review buttons save OUT/review.json (Ctrl-C stops)."""
    server = ReviewServer(out, port)
    click.echo(f"review {out} at {server.url}")
    click.echo("decisions are saved to " + str(Path(out) / "review.json") + "; then run dubkit localize again")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()


if __name__ == "__main__":
    main()
