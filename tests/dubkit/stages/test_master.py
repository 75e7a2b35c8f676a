"""The multi-language master, through the whole job: the example spot into zh and ko with `--deliver master
--master` (MOV), then again with `--master mkv` on the same output folder (everything but the master comes
from the cache). Also what report.json says about every deliverable, the loudness and the subtitles."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import av
import pytest

from dubkit.options import LocalizeOptions
from dubkit.pipeline import localize

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
FPS = 25.0

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def job(tmp_path_factory, recognizer):
    out = tmp_path_factory.mktemp("master") / "out"
    options = dict(source=EXAMPLES / "ad.mp4", languages="zh,ko", out=out, source_script=EXAMPLES / "ad.en.srt",
                   deliver="master", max_attempts=1)
    mov = localize(LocalizeOptions(**options, master="mov"), recognizer=recognizer)
    mkv = localize(LocalizeOptions(**options, master="mkv"), recognizer=recognizer)
    return {"out": out, "mov": mov, "mkv": mkv, "report": json.loads((out / "report.json").read_text("utf-8"))}


_SAME = {"subrip": "srt"}  # one text subtitle format under two decoder names


def _tracks(path: Path) -> dict:
    """Per kind of stream: (codec, language, title, seconds) of each."""
    with av.open(str(path)) as container:
        def seconds(s):
            return float(s.duration * s.time_base) if s.duration else float(container.duration / 1e6)

        def track(s):
            title = s.metadata.get("title") or s.metadata.get("handler_name")
            return _SAME.get(s.codec_context.name, s.codec_context.name), s.metadata.get("language"), title, seconds(s)

        kinds = ("video", "audio", "subtitle")
        return {kind: [track(s) for s in container.streams if s.type == kind] for kind in kinds}


@pytest.mark.parametrize("container, chinese, text", [("mov", "chi", "mov_text"), ("mkv", "zho", "srt")])
def test_the_master_has_the_picture_once_and_every_language_source_first(job, container, chinese, text):
    master = job[container].master
    assert master.path == job["out"] / f"ad.master.{container}"
    assert hashlib.sha256(master.path.read_bytes()).hexdigest() == master.sha256
    tracks = _tracks(master.path)
    ((codec, _, _, picture),) = tracks["video"]
    assert codec == "prores" and picture == pytest.approx(8.0, abs=1 / FPS)
    names = ["English (original)", "Mandarin Chinese (dub)", "Korean (dub)"]
    assert [(c, lang, title) for c, lang, title, _ in tracks["audio"]] == [
        ("pcm_s24le", code, name) for code, name in zip(["eng", chinese, "kor"], names, strict=True)]
    assert [(c, lang, title) for c, lang, title, _ in tracks["subtitle"]] == [
        (text, code, name) for code, name in zip(["eng", chinese, "kor"], names, strict=True)]
    for *_, seconds in tracks["audio"]:
        assert seconds == pytest.approx(picture, abs=1 / FPS)


def test_each_language_file_is_prores_with_24_bit_pcm(job):
    for code in ("zh", "ko"):
        tracks = _tracks(job["out"] / f"ad.{code}.mov")
        assert [t[0] for t in tracks["video"]] == ["prores"] and [t[0] for t in tracks["audio"]] == ["pcm_s24le"]


def test_the_report_lists_every_deliverable_with_its_checksum_and_the_loudness(job):
    report, out = job["report"], job["out"]
    assert report["delivery"]["profile"] == "master"
    assert report["delivery"]["master"]["path"] == "ad.master.mkv"
    for code in ("zh", "ko"):
        lang = report["languages"][code]
        assert sorted(d["kind"] for d in lang["deliverables"]) == ["subtitles", "video"]
        for d in lang["deliverables"]:
            assert hashlib.sha256(Path(d["path"]).read_bytes()).hexdigest() == d["sha256"]
        loud = lang["loudness"]
        assert loud["target"] == -23.0 and loud["ceiling"] == -1.0 and loud["method"] in ("linear", "limited")
        assert abs(loud["delivered_i"] - loud["target"]) <= 0.5 and loud["delivered_tp"] <= loud["ceiling"]
        assert abs(loud["delivered_pyloudnorm"] - loud["target"]) <= 0.5
        assert isinstance(lang["subtitle_violations"], list)
    assert "ad.master.mkv" in (out / "report.html").read_text("utf-8")
