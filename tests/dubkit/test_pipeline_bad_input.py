"""Bad input to `dubkit localize`: a clear one-line error, exit status 2, and an output folder from
an earlier approved run left exactly as it was."""
import hashlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
SOURCE_SCRIPT = EXAMPLES / "ad.en.srt"


@pytest.fixture
def approved(tmp_path):
    """An output folder holding an earlier run's files; returns (folder, fingerprint function)."""
    out = tmp_path / "out"
    out.mkdir()
    for name, data in (("ad.zh.mp4", b"approved zh render"), ("ad.zh.srt", b"1\n00:00:00,000 --> 00:00:01,000\nx\n"),
                       ("report.json", b'{"verdict": "pass"}'), ("report.html", b"<html>approved</html>")):
        (out / name).write_bytes(data)

    def fingerprint():
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir()) if p.is_file()
                and not p.name.startswith(".")}

    return out, fingerprint


def _localize(*args: str):
    return CliRunner().invoke(main, ["localize", *args])


def _refused(result, *words: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "error:" in result.output
    for word in words:
        assert word in result.output, (word, result.output)
    assert "Traceback" not in result.output


def test_unreadable_source(tmp_path, approved):
    out, fingerprint = approved
    before = fingerprint()
    broken = tmp_path / "ad.mp4"
    broken.write_bytes(b"this is not a video" * 100)
    _refused(_localize(str(broken), "--to", "zh", "-o", str(out)), "ad.mp4")
    assert fingerprint() == before


def test_missing_and_empty_source(tmp_path, approved):
    out, fingerprint = approved
    before = fingerprint()
    _refused(_localize(str(tmp_path / "nope.mp4"), "--to", "zh", "-o", str(out)), "nope.mp4", "does not exist")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    _refused(_localize(str(empty), "--to", "zh", "-o", str(out)), "empty.mp4")
    assert fingerprint() == before


def test_source_without_a_video_stream(approved):
    out, fingerprint = approved
    before = fingerprint()
    _refused(_localize(str(EXAMPLES / "ad.me.m4a"), "--to", "zh", "-o", str(out)), "ad.me.m4a", "no video stream")
    assert fingerprint() == before


def test_language_with_no_script_and_no_translator(approved):
    out, fingerprint = approved
    before = fingerprint()
    result = _localize(str(EXAMPLES / "ad.mp4"), "--to", "zh,de", "-o", str(out), "--source-script", str(SOURCE_SCRIPT))
    _refused(result, "de")
    assert fingerprint() == before


def test_unknown_language(approved):
    out, _ = approved
    _refused(_localize(str(EXAMPLES / "ad.mp4"), "--to", "zh,xx", "-o", str(out)), "xx")


@pytest.mark.parametrize(
    "cues, words",
    [
        ("1\n00:00:00,400 --> 00:00:03,000\nOne.\n\n2\n00:00:02,500 --> 00:00:04,000\nTwo.\n", ("overlap",)),
        (
            "1\n00:00:00,400 --> 00:00:03,000\nOne.\n\n2\n00:00:06,000 --> 00:00:09,500\nTwo.\n",
            ("after the media", "8.000"),
        ),
    ],
)
def test_source_script_that_overlaps_or_runs_past_the_end(tmp_path, approved, cues, words):
    out, fingerprint = approved
    before = fingerprint()
    script = tmp_path / "bad.srt"
    script.write_text(cues, "utf-8")
    _refused(
        _localize(str(EXAMPLES / "ad.mp4"), "--to", "zh", "-o", str(out), "--source-script", str(script)),
        "bad.srt",
        *words,
    )
    assert fingerprint() == before


def test_translated_script_whose_cues_overlap(tmp_path, approved):
    out, fingerprint = approved
    before = fingerprint()
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "ad.zh.srt").write_text(
        "1\n00:00:00,400 --> 00:00:03,500\n美好的一天。\n\n2\n00:00:03,100 --> 00:00:05,900\n日出咖啡。\n", "utf-8"
    )
    result = _localize(
        str(EXAMPLES / "ad.mp4"),
        "--to",
        "zh",
        "-o",
        str(out),
        "--scripts",
        str(scripts),
        "--source-script",
        str(SOURCE_SCRIPT),
    )
    _refused(result, "ad.zh.srt", "overlap")
    assert fingerprint() == before


@pytest.mark.parametrize("flag", ["--voice-track", "--me-track"])
def test_missing_voice_or_music_track(tmp_path, approved, flag):
    out, fingerprint = approved
    before = fingerprint()
    missing = tmp_path / "absent.wav"
    value = f"zh={missing}" if flag == "--voice-track" else str(missing)
    _refused(_localize(str(EXAMPLES / "ad.mp4"), "--to", "zh", "-o", str(out), flag, value), "absent.wav")
    assert fingerprint() == before


def test_voice_track_without_audio(approved):
    out, _ = approved
    _refused(
        _localize(str(EXAMPLES / "ad.mp4"), "--to", "zh", "-o", str(out), "--voice-track", f"zh={SOURCE_SCRIPT}"),
        "ad.en.srt",
    )


def test_voice_track_for_a_language_not_asked_for(approved):
    out, _ = approved
    _refused(
        _localize(
            str(EXAMPLES / "ad.mp4"), "--to", "zh", "-o", str(out), "--voice-track", f"ko={EXAMPLES / 'ad.me.m4a'}"
        ),
        "ko",
    )


def test_malformed_speaker_flag(approved):
    out, _ = approved
    _refused(
        _localize(str(EXAMPLES / "ad.mp4"), "--to", "zh", "-o", str(out), "--speaker", "no-equals-sign"), "--speaker"
    )


def test_full_disk_is_refused_before_any_work(approved, monkeypatch):
    out, fingerprint = approved
    before = fingerprint()
    real = shutil.disk_usage
    monkeypatch.setattr("dubkit.store.files.shutil.disk_usage", lambda p: real(p)._replace(free=5_000_000))
    _refused(_localize(str(EXAMPLES / "ad.mp4"), "--to", "zh", "-o", str(out)), "MB free")
    assert fingerprint() == before


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    _refused(_localize(str(EXAMPLES / "ad.mp4"), "--to", "zh", "-o", str(blocker / "out")), "blocker")
    assert blocker.read_text() == "a file where a folder should be"


def test_second_run_on_the_same_output_folder_at_the_same_time(approved):
    """Through the real `dubkit` entry point in a subprocess, while another process holds the folder."""
    out, fingerprint = approved
    before = fingerprint()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys,time\nfrom dubkit.store.files import RunLock\n"
            f"with RunLock({str(out)!r}):\n print('held', flush=True)\n time.sleep(60)",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        t0 = time.time()
        second = subprocess.run(
            [sys.executable, "cli.py", "localize", str(EXAMPLES / "ad.mp4"), "--to", "zh", "-o", str(out)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 2, second.stderr
        assert "another dubkit run" in second.stderr and str(out) in second.stderr
        assert second.stderr.startswith("error: ")  # one line: no progress-bar residue before it
        assert time.time() - t0 < 60  # refused at once, not after waiting for the lock
    finally:
        holder.kill()
        holder.wait()
    assert fingerprint() == before


def test_magihuman_without_weights_is_refused_before_any_stage_runs(tmp_path, approved):
    out, fingerprint = approved
    before = fingerprint()
    _refused(
        _localize(
            str(EXAMPLES / "ad.mp4"), "--to", "zh", "-o", str(out), "--engine", "magihuman", "--weights", str(tmp_path)
        ),
        "magihuman",
        "missing",
    )
    assert fingerprint() == before
    assert not (out / ".dubkit-cache").exists()


def test_python_api_raises_the_named_error(tmp_path):
    import dubkit.pipeline  # noqa: F401  (imported first: the public name must still be callable)
    from dubkit import LocalizeOptions, MediaError, localize

    with pytest.raises(MediaError, match="nope.mp4"):
        localize(LocalizeOptions(source=tmp_path / "nope.mp4", languages="zh"))
    assert not (tmp_path / "out").exists()


def test_magihuman_without_weights_looks_in_the_folder_models_pull_fills(tmp_path, approved, monkeypatch):
    out, _ = approved
    monkeypatch.delenv("DUBKIT_WEIGHTS", raising=False)
    monkeypatch.setenv("DUBKIT_HOME", str(tmp_path / "home"))
    pulled = tmp_path / "home" / "models" / "magihuman"
    pulled.mkdir(parents=True)  # there, but empty: the error lists what that folder lacks
    _refused(
        _localize(str(EXAMPLES / "ad.mp4"), "--to", "zh", "-o", str(out), "--engine", "magihuman"),
        "magihuman",
        "missing",
        str(pulled),
    )


def test_speaker_voice_track_without_a_speaker_name(approved):
    out, _ = approved
    _refused(
        _localize(
            str(EXAMPLES / "ad.mp4"), "--to", "zh", "-o", str(out), "--voice-track", f"zh:={EXAMPLES / 'ad.me.m4a'}"
        ),
        "no speaker name",
    )


def test_renaming_a_speaker_no_line_has(approved, tmp_path):
    out, _ = approved
    _refused(
        _localize(
            str(EXAMPLES / "ad.mp4"),
            "--to",
            "zh",
            "-o",
            str(out),
            "--source-script",
            str(SOURCE_SCRIPT),
            "--speaker",
            "S3=Anna",
        ),
        "S3",
        "no line is spoken by S3",
    )


def test_a_speaker_voice_track_is_checked_and_kept_per_speaker():
    from dubkit.options import LocalizeOptions, checked

    opts = checked(
        LocalizeOptions(
            source=EXAMPLES / "ad.mp4",
            languages="zh",
            voice_tracks={"zh:Anna": EXAMPLES / "ad.me.m4a"},
            engine="preview",
        )
    )
    assert dict(opts.voice_tracks) == {"zh:Anna": EXAMPLES / "ad.me.m4a"}


@pytest.mark.parametrize(
    "flags, words",
    [
        (("--sr-fast", "--resolution", "256p"), ("--sr-fast", "resolution 256p has none")),
        (("--mode", "distill", "--resolution", "1080p"), ("released SR configs run the base model", "--sr-fast")),
        (("--mode", "base", "--resolution", "540p", "--sr-fast"), ("contradicts --mode base",)),
    ],
)
def test_contradictory_recipe_flags_are_refused(approved, flags, words):
    out, _ = approved
    _refused(_localize(str(EXAMPLES / "ad.mp4"), "--to", "zh", "-o", str(out), *flags), *words)


def test_voice_track_job_without_the_base_model_names_the_missing_folder(tmp_path, approved):
    from tests.model.tiny_generator_parts import complete_layout_placeholders

    out, _ = approved
    complete_layout_placeholders(tmp_path / "w")
    shutil.rmtree(tmp_path / "w" / "daVinci-MagiHuman" / "base")
    plain = ("--to", "zh", "-o", str(out), "--engine", "magihuman", "--weights", str(tmp_path / "w"))
    _refused(
        _localize(str(EXAMPLES / "ad.mp4"), *plain, "--voice-track", f"zh={EXAMPLES / 'ad.me.m4a'}"),
        "daVinci-MagiHuman/base/", "voice-track windows run the base model",
    )


def test_voice_tracks_decide_which_window_kinds_a_job_has():
    from dubkit.options import LocalizeOptions

    def kinds(languages, tracks):
        return LocalizeOptions(source=Path("x.mp4"), languages=languages, voice_tracks=tracks).window_kinds()

    assert kinds("zh", {}) == ("t2v",)
    assert kinds("zh", {"zh": Path("zh.wav")}) == ("a2v",)
    assert kinds("zh,ko", {"zh": Path("zh.wav")}) == ("t2v", "a2v")
    assert kinds("zh", {"zh:Anna": Path("anna.wav")}) == ("t2v", "a2v")  # Anna's lines only
