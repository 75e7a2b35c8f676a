"""`dubkit eval`, `dubkit transcribe` and `dubkit models` through click's runner, and once for real."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from dubkit.adapters.subtitles import read_script, write_script
from eval import whisper_models
from eval.types import Cue
from tests import speech_data
from tests.hub_server import serve_hub

REPO = Path(__file__).resolve().parents[3]


def _run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def files(tmp_path_factory, short_english_clip):
    """The short English clip and its script, plus the broken inputs the CLI must reject."""
    d = tmp_path_factory.mktemp("cli")
    write_script(short_english_clip.cues, d / "en.srt")
    (d / "en.txt").write_text(short_english_clip.cues[0].text + "\n")
    (d / "wrong.txt").write_text("the quick brown fox jumps over the lazy dog\n")
    (d / "empty.srt").write_text("")
    (d / "junk.srt").write_text("no subtitles in here\n")
    write_script([Cue("too late", 3.0, short_english_clip.duration + 5)], d / "late.srt")
    (d / "notes.mp4").write_text("not a video")
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i",
                    "color=c=gray:s=64x48:r=25:d=2", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                    str(d / "mute.mp4")], check=True)
    # The speech inside a video: eval must find the audio stream of an mp4 too.
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"color=c=gray:s=64x48:r=25:d={short_english_clip.duration:.3f}",
                    "-i", str(short_english_clip.path), "-c:v", "libx264", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-shortest", str(d / "spot.mp4")], check=True)
    speech_data.write_wav(d / "silence.wav", np.zeros(3 * 16000, np.float32))
    write_script([Cue("hello there", 0.5, 2.0)], d / "silence.srt")
    return d


@pytest.mark.slow
def test_a_video_matching_its_script_passes_with_exit_0_and_writes_both_reports(files, short_english_clip, recognizer):
    result = _run("eval", files / "spot.mp4", "--script", files / "en.srt", "--lang", "en",
                  "--json", files / "r.json", "--html", files / "r.html")
    assert result.exit_code == 0, result.output
    assert "PASSED" in result.output
    report = json.loads((files / "r.json").read_text(encoding="utf-8"))
    assert report["passed"] is True and report["language"] == "en" and report["metric"] == "wer"
    assert len(report["segments"]) == 1 and report["segments"][0]["start"] == short_english_clip.cues[0].start
    assert "PASSED" in (files / "r.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_mismatched_script_fails_the_gate_with_exit_1(files, short_english_clip, recognizer):
    # Also: --asr-model given as a local CTranslate2 folder (here the reassembled base).
    folder = whisper_models.packaged_base()
    result = _run("eval", short_english_clip.path, "--script", files / "wrong.txt", "--lang", "en",
                  "--asr-model", folder, "--json", files / "wrong.json")
    assert result.exit_code == 1, result.output
    assert "FAILED" in result.output
    report = json.loads((files / "wrong.json").read_text())
    assert report["passed"] is False and report["error_rate"] > 0.8
    assert report["model"] == str(folder)


@pytest.mark.slow
def test_a_preview_outputs_own_subtitles_are_scored_without_the_preview_label(files, short_english_clip, recognizer):
    from dubkit.adapters.subtitles import PREVIEW_NOTE

    first, *rest = short_english_clip.cues
    labelled = [Cue(f"{PREVIEW_NOTE}\n{first.text}", first.start, first.end), *rest]
    write_script(labelled, files / "labelled.srt")
    plain = _run("eval", files / "spot.mp4", "--script", files / "en.srt", "--lang", "en", "--json", files / "p.json")
    result = _run("eval", files / "spot.mp4", "--script", files / "labelled.srt", "--lang", "en",
                  "--json", files / "l.json")
    assert result.exit_code == plain.exit_code == 0, result.output
    assert "PREVIEW label" in result.output
    scored = [json.loads((files / n).read_text())["error_rate"] for n in ("p.json", "l.json")]
    assert scored[0] == scored[1]


@pytest.mark.slow
def test_the_threshold_flag_and_config_file_decide_the_verdict(files, short_english_clip, recognizer):
    # The clip scores 1/8 ("ill disposed" is heard as "ill-sposed"): a zero threshold fails it.
    config = files / "strict.toml"
    config.write_text("[thresholds]\nen = 0.0\n")
    assert _run("eval", short_english_clip.path, "--script", files / "en.txt", "--lang", "en",
                "--config", config).exit_code == 1
    assert _run("eval", short_english_clip.path, "--script", files / "en.txt", "--lang", "en",
                "--config", config, "--threshold", "0.5").exit_code == 0


@pytest.mark.slow
def test_silence_is_scored_as_error_one_with_a_note_not_a_crash(files, recognizer):
    result = _run("eval", files / "silence.wav", "--script", files / "silence.srt", "--lang", "en",
                  "--json", files / "silence.json")
    assert result.exit_code == 1, result.output
    report = json.loads((files / "silence.json").read_text())
    assert report["error_rate"] == 1.0
    assert any("no speech" in n for n in report["notes"])
    assert "note: no speech" in result.output


@pytest.mark.parametrize(
    "media, script, lang, message",
    [
        ("missing.wav", "en.srt", "en", "missing.wav does not exist"),
        ("notes.mp4", "en.srt", "en", "notes.mp4 is not a media file"),
        ("mute.mp4", "en.srt", "en", "mute.mp4 has no audio stream"),
        ("CLIP", "empty.srt", "en", "empty.srt is empty"),
        ("CLIP", "junk.srt", "en", "junk.srt has no cues"),
        ("CLIP", "missing.srt", "en", "missing.srt does not exist"),
        ("CLIP", "late.srt", "en", "late.srt: cue 1 .* ends after the media"),
        ("CLIP", "en.srt", "klingon", "klingon"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(files, short_english_clip, media, script, lang, message):
    media_path = short_english_clip.path if media == "CLIP" else files / media
    result = _run("eval", media_path, "--script", files / script, "--lang", lang)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert re.search(message, result.output), result.output
    assert result.output.startswith("error: ")


def test_a_report_into_a_missing_folder_is_refused_before_transcribing(files, short_english_clip):
    result = _run("eval", short_english_clip.path, "--script", files / "en.srt", "--lang", "en",
                  "--json", files / "no" / "r.json")
    assert result.exit_code == 2 and "r.json" in result.output


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc, a folder nobody can create files in")
def test_a_report_into_a_folder_that_refuses_files_is_exit_2_naming_it(files, recognizer):
    # /proc exists (so the up-front folder check passes) but refuses new files, even for root
    result = _run("eval", files / "silence.wav", "--script", files / "silence.srt", "--lang", "en",
                  "--json", "/proc/dubkit-report.json")
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: cannot write report /proc/dubkit-report.json"), result.output


def test_an_unknown_asr_model_is_bad_usage(files, short_english_clip):
    result = _run("eval", short_english_clip.path, "--script", files / "en.srt", "--lang", "en",
                  "--asr-model", "huge-v9")
    assert result.exit_code == 2 and "huge-v9" in result.output


def test_a_missing_required_option_is_bad_usage(files, short_english_clip):
    assert _run("eval", short_english_clip.path, "--lang", "en").exit_code == 2


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".srt", ".vtt", ".json"])
def test_transcribe_writes_the_timed_source_script_by_extension(files, short_english_clip, recognizer, suffix):
    out = files / f"heard{suffix}"
    result = _run("transcribe", short_english_clip.path, "--lang", "en", "-o", out)
    assert result.exit_code == 0, result.output
    script = read_script(out, duration=short_english_clip.duration)
    assert script.timed and "young man" in script.text.lower()
    cue = short_english_clip.cues[0]
    assert cue.start <= script.cues[0].start < script.cues[-1].end <= cue.end


@pytest.mark.slow
def test_transcribe_of_silence_writes_an_empty_script_and_says_so(files, recognizer):
    result = _run("transcribe", files / "silence.wav", "--lang", "en", "-o", files / "silence-heard.srt")
    assert result.exit_code == 0, result.output
    assert "no speech recognised" in result.output
    assert (files / "silence-heard.srt").read_text() == ""


def test_transcribe_of_a_file_without_audio_is_exit_2(files):
    result = _run("transcribe", files / "mute.mp4", "-o", files / "x.srt")
    assert result.exit_code == 2 and "mute.mp4 has no audio stream" in result.output


def test_transcribe_to_an_unknown_extension_is_refused_before_reading_the_media(files):
    # mute.mp4 would fail later (no audio): the output name is checked first, before any recognition
    result = _run("transcribe", files / "mute.mp4", "-o", files / "x.docx")
    assert result.exit_code == 2, result.output
    assert "x.docx: unsupported extension '.docx'" in result.output and "no audio" not in result.output


def test_models_list_shows_the_packaged_base_and_known_names(monkeypatch, tmp_path):
    monkeypatch.setenv("DUBKIT_HOME", str(tmp_path))
    result = _run("models", "list")
    assert result.exit_code == 0
    assert str(tmp_path / "models") in result.output
    assert "large-v3" in result.output and "not pulled" in result.output


@pytest.mark.slow
def test_models_pull_fetches_into_the_models_folder(monkeypatch, tmp_path):
    base = whisper_models.packaged_base()
    repo = tmp_path / "hub" / whisper_models.KNOWN_MODELS["large-v3"]
    repo.mkdir(parents=True)
    for name in ("model.bin", "config.json", "tokenizer.json", "vocabulary.json"):
        (repo / name).symlink_to(base / name)
    monkeypatch.setenv("DUBKIT_HOME", str(tmp_path / "home"))
    with serve_hub(tmp_path / "hub") as endpoint:
        result = _run("models", "pull", "large-v3", "--endpoint", endpoint)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "home" / "models" / "large-v3" / "model.bin").is_file()
    listed = [line for line in _run("models", "list").output.splitlines() if "large-v3 " in line]
    assert listed and "not pulled" not in listed[0]


def test_models_pull_of_an_unknown_name_is_exit_2():
    result = _run("models", "pull", "huge-v9")
    assert result.exit_code == 2 and "huge-v9" in result.output


@pytest.mark.slow
def test_the_real_command_exits_1_on_a_failed_gate_and_2_on_bad_input(files, short_english_clip):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    failed = subprocess.run(
        [sys.executable, "-m", "cli", "eval", str(short_english_clip.path), "--script",
         str(files / "wrong.txt"), "--lang", "en"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert failed.returncode == 1, failed.stderr
    assert "FAILED" in failed.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "cli", "eval", str(files / "missing.wav"), "--script",
         str(files / "en.srt"), "--lang", "en"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert bad.returncode == 2
    assert "missing.wav does not exist" in bad.stderr and "Traceback" not in bad.stderr
