"""`dubkit script`: source script, per-language templates, fit tables, read-back, the command."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from dubkit.adapters.subtitles import read_script, write_script
from dubkit.errors import OutputError, ScriptError
from dubkit.jobs.script import make_script_package, write_script_package
from dubkit.translate.template import parse_template_text, read_template, template_text
from eval.types import Cue
from langs import get_language

ZH, KO, DE = get_language("zh"), get_language("ko"), get_language("de")
REPO = Path(__file__).resolve().parents[3]
SOURCE = (
    Cue("Welcome to Acme.", 0.5, 2.5, "A"),
    Cue("Free shipping on every order, today and every day of the week.", 3.0, 4.0, "B"),
)


def read_tsv(path: Path) -> list[dict[str, str]]:
    header, *rows = path.read_text(encoding="utf-8").splitlines()
    return [dict(zip(header.split("\t"), row.split("\t"), strict=False)) for row in rows]


def fill(template: Path, translations: list[str], language=ZH) -> None:
    """What a translator does in a text editor: type after each 'ZH:' marker."""
    text = template.read_text(encoding="utf-8")
    for line in translations:
        text = text.replace(f"\n{language.code.upper()}:\n", f"\n{language.code.upper()}: {line}\n", 1)
    template.write_text(text, encoding="utf-8")


def test_writes_source_script_templates_and_fit_tables(tmp_path):
    package = write_script_package(SOURCE, [ZH, KO], tmp_path, "ad")
    # SRT carries speakers as a "NAME: " prefix (docs/speakers.md)
    assert read_script(package.source).cues == SOURCE
    for code in ("zh", "ko"):
        pkg = package.packages[code]
        assert pkg.template == tmp_path / f"ad.{code}.template.srt"
        assert (pkg.filled, pkg.total, pkg.kept) == (0, 2, False)
        cues = read_script(pkg.template).cues
        assert [(c.start, c.end) for c in cues] == [(0.5, 2.5), (3.0, 4.0)]
        assert cues[0].text.startswith("SRC: Welcome to Acme.") and f"{code.upper()}:" in cues[0].text
    rows = read_tsv(tmp_path / "ad.zh.fit.tsv")
    assert [r["budget_s"] for r in rows] == ["2.000", "1.000"]
    assert rows[0]["source"] == "Welcome to Acme." and rows[0]["translation"] == "" and rows[0]["fits"] == ""
    assert int(rows[0]["max_units"]) > int(rows[1]["max_units"]) > 0


def test_templates_carry_each_line_speaker_and_translations_keep_it(tmp_path):
    package = write_script_package(SOURCE, [ZH], tmp_path, "ad")
    template = package.packages["zh"].template
    raw = template.read_text("utf-8")
    assert "A: SRC: Welcome to Acme." in raw and "B: SRC: Free shipping" in raw
    fill(template, ["欢迎来到 Acme。", "免运费。"])
    cues, unfilled = read_template(template, ZH)
    assert unfilled == 0 and [(c.text, c.speaker) for c in cues] == [("欢迎来到 Acme。", "A"), ("免运费。", "B")]


def test_unfilled_template_reads_back_as_empty_lines(tmp_path):
    package = write_script_package(SOURCE, [ZH], tmp_path, "ad")
    cues, unfilled = read_template(package.packages["zh"].template, ZH)
    assert unfilled == 2 and [c.text for c in cues] == ["", ""]


def test_rerun_keeps_filled_template_and_flags_lines_that_cannot_fit(tmp_path):
    first = write_script_package(SOURCE, [ZH], tmp_path, "ad").packages["zh"]
    fill(first.template, ["欢迎来到Acme。", "每一份订单都包邮，今天以及一周中的每一天都是如此，绝无例外。"])
    again = write_script_package(SOURCE, [ZH], tmp_path, "ad").packages["zh"]
    assert again.kept and (again.filled, again.total) == (2, 2)
    assert [f.index for f in again.overflow] == [1]
    rows = read_tsv(again.fit_table)
    assert [r["fits"] for r in rows] == ["yes", "NO"]
    assert float(rows[1]["speed_factor"]) > 1.15 and rows[0]["translation"] == "欢迎来到Acme。"
    cues, unfilled = read_template(again.template, ZH)
    assert unfilled == 0 and cues[0].text == "欢迎来到Acme。" and cues[1].start == 3.0


def test_filled_template_for_another_source_is_never_overwritten(tmp_path):
    template = write_script_package(SOURCE, [ZH], tmp_path, "ad").packages["zh"].template
    fill(template, ["欢迎。"])
    before = template.read_bytes()
    with pytest.raises(OutputError, match="holds translations for a different source script"):
        write_script_package(SOURCE[:1], [ZH], tmp_path, "ad")
    assert template.read_bytes() == before


def test_empty_template_for_another_source_is_replaced(tmp_path):
    write_script_package(SOURCE, [ZH], tmp_path, "ad")
    package = write_script_package(SOURCE[:1], [ZH], tmp_path, "ad").packages["zh"]
    assert package.total == 1 and len(read_script(package.template).cues) == 1


def test_finished_translation_is_checked_against_its_own_timing(tmp_path):
    translation = [Cue("Willkommen bei Acme.", 0.5, 2.5),
                   Cue("Kostenloser Versand für jede Bestellung, heute und an jedem Tag der Woche.", 3.0, 4.0)]
    package = write_script_package(SOURCE, [DE], tmp_path, "ad", translations={"de": translation}).packages["de"]
    assert package.filled == 2 and [f.fits for f in package.fits] == [True, False]
    assert read_tsv(package.fit_table)[1]["source"] == SOURCE[1].text


def test_template_text_round_trips_through_the_marker():
    assert parse_template_text(template_text("Hi.\nThere.", ZH, "你好。"), ZH, 0, "t") == "你好。"
    assert parse_template_text("SRC: Hi. ZH: 你好。 再见。", ZH, 0, "t") == "你好。 再见。"  # lines joined by a reader
    assert parse_template_text("你好。", ZH, 0, "t") == "你好。"  # a plain line is taken as it is
    with pytest.raises(ScriptError, match="line 3 has no 'ZH:' marker"):
        parse_template_text("SRC: Hi. 你好", ZH, 2, "t")


@pytest.mark.parametrize("cues, message", [((), "no lines"), ((Cue("Hi."),), "has no timing")])
def test_source_script_must_be_timed_and_non_empty(tmp_path, cues, message):
    with pytest.raises(ScriptError, match=message):
        write_script_package(cues, [ZH], tmp_path, "ad")


def test_script_command_on_a_script_file_flags_overflow(tmp_path):
    source = tmp_path / "ad.srt"
    write_script(SOURCE, source)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["script", str(source), "--to", "zh,de", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "zh: template" in result.output and "0/2 line(s) translated" in result.output
    fill(out / "ad.zh.template.srt", ["欢迎。", "每一份订单都包邮，今天以及一周中的每一天都是如此，绝无例外。"])
    result = CliRunner().invoke(main, ["script", str(source), "--to", "zh", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "kept" in result.output and "line 2 (3.00-4.00 s) too long" in result.output


def test_output_folder_that_is_a_file_is_an_error(tmp_path):
    (tmp_path / "taken").write_text("x")
    with pytest.raises(OutputError, match="taken exists and is not a folder"):
        write_script_package(SOURCE, [ZH], tmp_path / "taken", "ad")
    with pytest.raises(OutputError, match="cannot create output folder .*taken/out"):
        write_script_package(SOURCE, [ZH], tmp_path / "taken" / "out", "ad")


def test_script_command_rejects_unknown_language_with_status_2(tmp_path):
    source = tmp_path / "ad.srt"
    write_script(SOURCE, source)
    result = CliRunner().invoke(main, ["script", str(source), "--to", "zh,xx", "-o", str(tmp_path / "o")])
    assert result.exit_code == 2 and "xx" in result.output


def _video_with_speech(clip_wav: Path, path: Path, duration: float) -> Path:
    import imageio_ffmpeg

    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", f"color=c=gray:s=64x64:r=25:d={duration:.3f}", "-i", str(clip_wav),
         "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)],
        check=True,
    )
    return path


@pytest.mark.slow  # loads Whisper base and transcribes a few seconds of real speech
def test_script_job_recognises_the_speech_of_a_video(tmp_path, short_english_clip, recognizer):
    video = _video_with_speech(short_english_clip.path, tmp_path / "spot.mp4", short_english_clip.duration)
    package = make_script_package(video, [ZH], tmp_path / "out", recognizer=recognizer)
    cues = read_script(package.source).cues
    heard = " ".join(c.text for c in cues).lower()
    expected = short_english_clip.cues[0].text.lower().split()
    assert sum(word.strip(".,;") in heard for word in expected) >= len(expected) // 2
    assert package.packages["zh"].total == len(cues) and all(c.end <= short_english_clip.duration + 0.1 for c in cues)


def test_script_command_runs_as_a_real_subprocess(tmp_path):
    source = tmp_path / "ad.vtt"
    write_script(SOURCE, source)
    done = subprocess.run(
        [sys.executable, "-m", "cli", "script", str(source), "--to", "ko", "-o", str(tmp_path / "o"),
         "--format", "vtt"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "o" / "ad.ko.template.vtt").is_file() and (tmp_path / "o" / "ad.source.srt").is_file()


def test_script_job_checks_a_finished_translation_beside_the_source(tmp_path):
    source = tmp_path / "ad.srt"
    write_script(SOURCE, source)
    write_script([Cue("Willkommen bei Acme.", 0.5, 2.5), Cue("Versand gratis.", 3.0, 4.0)], tmp_path / "ad.de.srt")
    package = make_script_package(source, [DE, ZH], tmp_path / "out")
    assert (package.packages["de"].filled, package.packages["zh"].filled) == (2, 0)
    assert [r["translation"] for r in read_tsv(package.packages["de"].fit_table)] == [
        "Willkommen bei Acme.", "Versand gratis."]


@pytest.mark.parametrize("name", ["ad.en.srt", "ad.source.srt"])
def test_a_source_script_named_with_its_language_or_as_source_names_the_job_by_the_bare_stem(tmp_path, name):
    source = tmp_path / name
    write_script(SOURCE, source)
    write_script([Cue("Willkommen bei Acme.", 0.5, 2.5), Cue("Versand gratis.", 3.0, 4.0)], tmp_path / "ad.de.srt")
    package = make_script_package(source, [DE], tmp_path / "out")
    assert package.source.name == "ad.source.srt"
    assert package.packages["de"].template.name == "ad.de.template.srt"
    assert package.packages["de"].filled == 2  # ad.de.srt beside it was found
