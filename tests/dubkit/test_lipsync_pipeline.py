"""Brand-safe regeneration through the whole localize job, with an engine that returns frames.

The source is two shots of public-domain photos from scikit-image, one line each: the astronaut
portrait (a face), then the coffee cup (no face). The engine is the real preview engine for the speech
(here a quiet voice track, which keeps the speech recognition short: the gate's verdict is not what is
tested) plus a synthetic "regenerated" picture: the window's first frame with its colours inverted, at
the model's 25 fps, so any generated pixel that reaches the output shows. The same job is run with
--lipsync auto and never in one output folder (renders and verdicts come from the cache); `always` is
checked on the stage (tests/dubkit/stages/test_composite.py).
"""
import json

import av
import numpy as np
import pytest
import scipy.io.wavfile
from click.testing import CliRunner

from dubkit.engines.base import WindowRender
from dubkit.engines.preview import PreviewEngine
from dubkit.options import LocalizeOptions
from dubkit.pipeline import localize
from tests.dubkit.pictures import source_video

pytestmark = pytest.mark.slow  # two short localize runs

FACE = (145, 60)  # (x, y) of the astronaut's face in the 320 x 240 source


class InvertedPictureEngine:
    """The preview's speech, and the window's first frame inverted as the picture (implements Engine)."""

    name = "inverted-picture"
    is_preview = False
    uses_seed = False
    uses_reference = True  # it inverts the reference frame

    def __init__(self):
        self.speech = PreviewEngine()

    def identity(self):
        return {**self.speech.identity(), "engine": self.name, "preview": False}

    def render(self, request):
        spoken = self.speech.render(request)
        frames = np.repeat((255 - request.reference_frame)[None], max(1, round(request.duration * 25)), axis=0)
        return WindowRender(audio=spoken.audio, sample_rate=spoken.sample_rate, frames=frames, fps=25.0,
                            info={**spoken.info, "engine": self.name, "preview": False})


@pytest.fixture(scope="module")
def job(tmp_path_factory, recognizer):
    from skimage import data

    tmp = tmp_path_factory.mktemp("lipsync")
    source = source_video(tmp / "two.mp4", [data.astronaut(), data.coffee()]).path
    (tmp / "two.en.srt").write_text("1\n00:00:00,100 --> 00:00:00,600\nHello.\n\n"
                                    "2\n00:00:01,400 --> 00:00:01,900\nCoffee.\n", "utf-8")
    (tmp / "two.zh.srt").write_text("1\n00:00:00,100 --> 00:00:00,600\n你好。\n\n"
                                    "2\n00:00:01,400 --> 00:00:01,900\n咖啡。\n", "utf-8")
    voice = tmp / "voice.wav"
    scipy.io.wavfile.write(voice, 16_000, np.zeros(32_000, np.int16))
    engine, out = InvertedPictureEngine(), tmp / "out"

    def run(mode):
        options = LocalizeOptions(source=source, languages="zh", out=out, source_script=tmp / "two.en.srt",
                                  voice_tracks={"zh": voice}, lipsync=mode)
        result = localize(options, engine=engine, recognizer=recognizer)
        report = json.loads(result.report_json.read_text("utf-8"))
        return {"report": report, "html": result.report_html.read_text("utf-8"),
                "frames": _frames(result.outputs["zh"].video)}

    return {"source": source, "originals": _frames(source), "out": out,
            **{mode: run(mode) for mode in ("auto", "never")}}


def _frames(path):
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)]).astype(int)


def _change(job, mode, frame, box=np.s_[:, :]):
    """Mean absolute change of one output frame against the source, over `box`."""
    return float(np.abs(job[mode]["frames"][frame][box] - job["originals"][frame][box]).mean())


FACE_PATCH = np.s_[FACE[1] - 6 : FACE[1] + 6, FACE[0] - 6 : FACE[0] + 6]
CORNERS = (np.s_[:40, :40], np.s_[:40, -40:], np.s_[-40:, :40], np.s_[-40:, -40:])
IN_FACE_WINDOW, IN_CUP_WINDOW = 12, 45  # frames at 0.4 s and 1.5 s


def test_auto_regenerates_the_face_window_around_the_face_only(job):
    windows = job["auto"]["report"]["windows"]
    assert [w["lipsync"]["picture"] for w in windows] == ["lip-sync", "voice-only"]
    assert "face in" in windows[0]["lipsync"]["reason"] and windows[1]["lipsync"]["reason"].startswith("no face")
    assert _change(job, "auto", IN_FACE_WINDOW, FACE_PATCH) > 60  # the synthetic picture is inverted
    assert all(_change(job, "auto", IN_FACE_WINDOW, corner) < 4 for corner in CORNERS)  # only the encoder's noise
    assert _change(job, "auto", IN_CUP_WINDOW) < 4  # voice-only: the source's frames


def test_the_report_links_a_mask_thumbnail_per_window(job):
    windows = job["auto"]["report"]["windows"]
    for w in windows:
        assert (job["out"] / w["lipsync"]["mask"]).is_file()
        assert f'<img class="mask" src="{w["lipsync"]["mask"]}"' in job["auto"]["html"]
    assert "voice-only" in job["auto"]["html"] and "lip-sync" in job["auto"]["html"]
    assert job["auto"]["report"]["timings"]["faces"] >= 0


def test_never_keeps_every_original_frame(job):
    assert [w["lipsync"]["picture"] for w in job["never"]["report"]["windows"]] == ["voice-only"] * 2
    assert _change(job, "never", IN_FACE_WINDOW) < 4 and _change(job, "never", IN_CUP_WINDOW) < 4


def test_the_cli_takes_lipsync_and_refuses_an_unknown_mode(job):
    from cli import main

    result = CliRunner().invoke(main, ["localize", str(job["source"]), "--to", "zh", "--lipsync", "sometimes"])
    assert result.exit_code == 2 and "sometimes" in result.output
    assert "--lipsync [auto|always|never]" in CliRunner().invoke(main, ["localize", "--help"]).output
