"""End to end on the CPU: the example spot into zh, ko, ja with the preview engine.

One job is killed (SIGKILL) after its first finished window, restarted and killed again while
assembling, restarted to the end, then run once more; a counting wrapper around the real
PreviewEngine logs every engine call across the four processes. The tests below inspect that job's
outputs, report and call logs. The source script comes from speech recognition.
"""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest
from click.testing import CliRunner

from tests.dubkit.counting_engine import read_log

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "ad.mp4"
LANGS = ("zh", "ko", "ja")

pytestmark = pytest.mark.slow


def _run(out: Path, log: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.dubkit.counting_engine", str(EXAMPLE), str(out), ",".join(LANGS), str(log),
         *extra],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _finished_renders(out: Path) -> int:
    folder = out / ".dubkit-cache" / "render"
    return len(list(folder.glob("*.json"))) if folder.is_dir() else 0


def _kill_when(proc: subprocess.Popen, ready, what: str) -> None:
    deadline = time.time() + 400
    while not ready() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL, f"the run ended before {what}: {proc.stdout.read()[-2000:]}"


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    """A localize job killed after its first finished window, restarted and killed again in the
    middle of assembling, restarted to the end, then run once more."""
    tmp = tmp_path_factory.mktemp("e2e")
    out = tmp / "out"
    logs = [tmp / f"calls{i}.log" for i in range(4)]
    _kill_when(_run(out, logs[0]), lambda: _finished_renders(out) >= 1, "a window finished")
    finished_before_kill = _finished_renders(out)
    _kill_when(_run(out, logs[1]), lambda: any(out.glob(".assemble-*")), "assembly started")
    left_over = sorted(p.name for p in out.glob(".assemble-*"))
    third = _run(out, logs[2])
    third_out, _ = third.communicate(timeout=600)
    gate_entries = len(list((out / ".dubkit-cache" / "gate").glob("*.json")))
    fourth = _run(out, logs[3])
    fourth_out, _ = fourth.communicate(timeout=600)
    report = json.loads((out / "report.json").read_text("utf-8"))
    return {
        "out": out, "logs": [read_log(p) for p in logs], "finished_before_kill": finished_before_kill,
        "left_over": left_over, "rc": (third.returncode, fourth.returncode), "output": third_out + fourth_out,
        "report": report,
        "gate_entries": (gate_entries, len(list((out / ".dubkit-cache" / "gate").glob("*.json")))),
    }


def test_each_language_gets_an_mp4_with_video_audio_and_subtitles_of_the_source_duration(job):
    with av.open(str(EXAMPLE)) as src:
        fps = float(src.streams.video[0].average_rate)
        src_duration = src.duration / av.time_base
    for code in LANGS:
        video = job["out"] / f"ad.{code}.mp4"
        assert (job["out"] / f"ad.{code}.srt").is_file()
        with av.open(str(video)) as c:
            kinds = {s.type for s in c.streams}
            assert {"video", "audio", "subtitle"} <= kinds, (code, kinds)
            v = c.streams.video[0]
            v_duration = float(v.duration * v.time_base) if v.duration else c.duration / av.time_base
            assert abs(v_duration - src_duration) <= 1 / fps + 1e-6, (code, v_duration, src_duration)


def test_every_window_of_every_language_was_scored_by_the_gate(job):
    report = job["report"]
    assert set(report["languages"]) == set(LANGS)
    assert report["engine"]["preview"] is True
    assert report["source_script"]["origin"].startswith("asr:")
    for code, lang in report["languages"].items():
        assert lang["windows"], code
        for w in lang["windows"]:
            attempt = w["attempts"][w["chosen_attempt"] - 1]
            assert w["metric"] == "cer"
            assert 0.0 <= attempt["error_rate"] and attempt["heard"], (code, w)
            assert w["passed"] == (attempt["error_rate"] <= attempt["threshold"])
            assert w["thumbnail"].startswith("data:image/jpeg;base64,")


def test_exit_status_says_whether_every_language_passed(job):
    expected = 0 if job["report"]["passed"] else 1
    assert job["rc"] == (expected, expected), job["output"][-2000:]
    assert job["report"]["passed"] == all(lang["passed"] for lang in job["report"]["languages"].values())
    for lang in job["report"]["languages"].values():  # a failed window's reason gives its span and score
        for w in lang["windows"]:
            if not w["passed"]:
                want = f"window {w['start']:.2f}-{w['end']:.2f} s failed the speech gate: {w['metric'].upper()} " \
                       f"{w['error_rate']:.2f} > {w['threshold']:.2f}"
                assert any(r.startswith(want) for r in lang["reasons"]), lang["reasons"]


def test_the_delivered_verdict_is_assembled_from_the_windows_and_the_file_carries_what_was_gated(job):
    from dubkit.adapters.av import read_audio

    for code, lang in job["report"]["languages"].items():
        d = lang["delivered"]
        chosen = [w["attempts"][w["chosen_attempt"] - 1] for w in lang["windows"]]
        assert d["metric"] == "cer" and d["passed"] == all(w["passed"] for w in lang["windows"])
        assert d["error_rate"] == pytest.approx(sum(a["errors"] for a in chosen) / sum(a["units"] for a in chosen))
        assert d["heard"], code  # what was heard in the windows, as mixed for delivery
        assert len(read_audio(job["out"] / f"ad.{code}.mp4")) > 0
        assert not any(r.startswith("the delivered file") for r in lang["reasons"]), (code, lang["reasons"])


def test_the_languages_share_one_encoded_picture_and_one_picture_check(job):
    """The preview's picture is the same for every language: encoded once, copied into each file."""
    from dubkit.adapters.av import video_packets_digest

    cache = job["out"] / ".dubkit-cache"
    pictures = sorted((cache / "picture").glob("*.mp4"))
    assert len(pictures) == 1, pictures
    digests = {video_packets_digest(job["out"] / f"ad.{code}.mp4") for code in LANGS}
    assert digests == {video_packets_digest(pictures[0])}
    assert len(list((cache / "picture_check").glob("*.json"))) == 1


def test_restarts_after_kills_do_not_render_finished_windows_again(job):
    runs = [([(e["window"], e["language"], e["seed"]) for e in log if e["event"] == "start"],
             [(e["window"], e["language"], e["seed"]) for e in log if e["event"] == "done"]) for log in job["logs"]]
    (start0, done0), (start1, done1), (start2, done2), (start3, _) = runs
    total = sum(len(lang["windows"]) for lang in job["report"]["languages"].values())
    assert 1 <= len(done0) == job["finished_before_kill"] < total
    assert not set(done0) & set(start1 + start2)  # killed run 1: its finished window is not redone
    assert not set(done1) & set(start2)  # killed run 2 (during assembly): nothing it rendered is redone
    assert len(set(done0 + done1 + done2)) == len(done0 + done1 + done2) == total
    assert start3 == []


def test_a_run_killed_while_assembling_leaves_nothing_half_written_after_the_restart(job):
    assert job["left_over"]  # the kill did land in the middle of assembly
    assert not list(job["out"].glob(".assemble-*"))
    assert not list(job["out"].glob(".*.tmp")) and not list(job["out"].glob(".*partial*"))


def test_a_final_run_calls_neither_engine_nor_gate(job):
    assert job["logs"][3] == []
    before, after = job["gate_entries"]
    assert before == after


def test_report_html_is_written_next_to_the_outputs(job):
    html = (job["out"] / "report.html").read_text("utf-8")
    assert "PREVIEW" in html and "data:image/jpeg;base64," in html
    assert not list(job["out"].glob(".*.tmp")) and not list(job["out"].glob(".*partial*"))


def test_glossary_check_fails_a_language_whose_script_dropped_the_brand(tmp_path):
    from cli import main

    scripts = tmp_path / "scripts"
    scripts.mkdir()
    zh = (REPO / "examples" / "ad.zh.srt").read_text("utf-8").replace("日出咖啡，", "")
    (scripts / "ad.zh.srt").write_text(zh, "utf-8")
    glossary = tmp_path / "glossary.toml"
    glossary.write_text('[forced.zh]\n"Sunrise Coffee" = "日出咖啡"\n', "utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, [
        "localize", str(EXAMPLE), "--to", "zh", "-o", str(out), "--scripts", str(scripts), "--glossary",
        str(glossary), "--source-script", str(REPO / "examples" / "ad.en.srt"), "--threshold", "1.0",
    ])
    assert result.exit_code == 1, result.output
    lang = json.loads((out / "report.json").read_text("utf-8"))["languages"]["zh"]
    assert not lang["passed"]
    assert any(v["term"] == "日出咖啡" and v["where"] != "speech" for v in lang["glossary_violations"])
    assert any("日出咖啡" in r for r in lang["reasons"])
    assert all(w["passed"] for w in lang["windows"])  # the gate passed: only the glossary failed it
    assert "FAIL zh" in result.output and 'glossary term "日出咖啡" missing' in result.output  # the why, on the console


def test_a_language_without_a_script_is_translated_by_the_engine_once(tmp_path):
    """An OpenAI-compatible translator (a local server) fills in zh; a second run reuses its output."""
    import shutil

    from dubkit.adapters.subtitles import read_script
    from dubkit.options import LocalizeOptions
    from dubkit.pipeline import localize
    from tests.dubkit.chat_server import dictionary_responder, serve_chat

    source = tmp_path / "ad.mp4"
    shutil.copy(EXAMPLE, source)  # no ad.zh.srt beside this copy
    english = read_script(REPO / "examples" / "ad.en.srt").cues
    chinese = read_script(REPO / "examples" / "ad.zh.srt").cues
    with serve_chat(dictionary_responder({e.text: z.text for e, z in zip(english, chinese, strict=False)})) as server:
        options = LocalizeOptions(source=source, languages="zh", source_script=REPO / "examples" / "ad.en.srt",
                                  translators=(f"openai:{server.base_url}#test-model",), threshold=1.0)
        first = localize(options)
        calls = len(server.requests)
        second = localize(options)
        assert calls >= 1 and len(server.requests) == calls
    report = json.loads(second.report_json.read_text("utf-8"))["languages"]["zh"]
    assert report["script"].startswith("engine:")
    assert report["windows"][0]["line"] == " ".join(c.text for c in chinese)
    assert first.passed and second.passed


def test_force_renders_every_window_again_and_finishes(tmp_path, recognizer):
    """--force ignores the previous run's entries, yet assembly still finds this run's renders."""
    from dubkit.engines.preview import PreviewEngine
    from dubkit.options import LocalizeOptions
    from dubkit.pipeline import localize
    from tests.dubkit.counting_engine import CountingEngine

    engine = CountingEngine(PreviewEngine(), tmp_path / "calls.log")
    options = LocalizeOptions(source=EXAMPLE, languages="ja", out=tmp_path / "out",
                              source_script=REPO / "examples" / "ad.en.srt", threshold=1.0)
    first = localize(options, engine=engine, recognizer=recognizer)
    calls = engine.calls
    forced = localize(LocalizeOptions(**{**options.__dict__, "force": True}), engine=engine, recognizer=recognizer)
    assert calls >= 1 and engine.calls == 2 * calls
    assert first.passed and forced.passed and forced.outputs["ja"].video.is_file()
