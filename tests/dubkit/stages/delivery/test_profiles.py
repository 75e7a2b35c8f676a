"""Each delivery profile on the example spot: loudness and true peak measured on the delivered file (ffmpeg
ebur128, independently of dubkit's own measurement), codecs, container, sample rate and bit depth by probe,
and the stems: 48 kHz 24-bit, as long as the picture to the sample, adding up to the mix.

One Mandarin preview render of the spot's speech window is made once and assembled once per profile
(conftest.py)."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import scipy.io.wavfile

from dubkit.adapters.av import probe
from dubkit.stages.delivery.profiles import PROFILES
from dubkit.stages.integrity import Heard, check_delivered
from dubkit.stages.mix import bed_for, window_spans
from tests.dubkit.loudness import measure_true_peak
from tests.dubkit.stages.delivery.conftest import EXAMPLES

MAX_RESIDUAL_DBFS = -50.0

pytestmark = pytest.mark.slow


def _read_wav(path: Path) -> tuple[int, np.ndarray, str]:
    rate, data = scipy.io.wavfile.read(path)
    return rate, data.astype(np.float64) / 2**31, str(data.dtype)  # 24-bit samples come back in int32's top bits


def _streams(path: Path) -> dict:
    with av.open(str(path)) as container:
        kinds = {s.type: s for s in container.streams}
        video, audio = kinds["video"].codec_context, kinds["audio"].codec_context
        return {"brand": container.metadata.get("major_brand", "").strip(), "video": video.name,
                "video_profile": video.profile, "pix_fmt": video.format.name, "audio": audio.name,
                "rate": audio.sample_rate, "subtitle": kinds["subtitle"].codec_context.name}


EXPECTED = {
    "broadcast-ebu": {"brand": "isom", "video": "h264", "video_profile": "High", "pix_fmt": "yuv420p", "audio": "aac"},
    "broadcast-atsc": {"brand": "isom", "video": "h264", "video_profile": "High", "pix_fmt": "yuv420p",
                       "audio": "aac"},
    "streaming": {"brand": "isom", "video": "h264", "video_profile": "High", "pix_fmt": "yuv420p", "audio": "aac"},
    "social": {"brand": "isom", "video": "h264", "video_profile": "High", "pix_fmt": "yuv420p", "audio": "aac"},
    "master": {"brand": "qt", "video": "prores", "video_profile": "HQ", "pix_fmt": "yuv422p10le",
               "audio": "pcm_s24le"},  # 24-bit PCM
}


@pytest.mark.parametrize("name", list(PROFILES))
def test_the_delivered_file_meets_its_profile(delivered, name):
    profile, result = PROFILES[name], delivered(name)
    assert result.video.suffix == f".{profile.container}"
    integrated, true_peak = measure_true_peak(result.video)
    assert integrated == pytest.approx(profile.loudness, abs=0.5)
    assert true_peak <= profile.true_peak
    assert _streams(result.video) == {**EXPECTED[name], "rate": 48_000, "subtitle": "mov_text"}
    assert result.loudness.delivered_i == pytest.approx(integrated, abs=0.05)  # dubkit reports the same figures
    assert result.loudness.delivered_pyloudnorm == pytest.approx(profile.loudness, abs=0.5)


@pytest.mark.parametrize("name", ["broadcast-ebu", "social"])  # loudnorm's linear gain; the true-peak limiter
def test_stems_are_24_bit_as_long_as_the_picture_and_add_up_to_the_mix(delivered, name):
    result = delivered(name)
    assert result.loudness.method == ("linear" if name == "broadcast-ebu" else "limited")
    stems = {d.kind: d.path for d in result.deliverables if d.kind.startswith("stem:")}
    assert sorted(stems) == ["stem:dialogue", "stem:me", "stem:mix"]
    info = probe(result.video)
    picture_samples = round(info.n_frames / info.fps * 48_000)
    read = {kind: _read_wav(path) for kind, path in stems.items()}
    for kind, (rate, audio, dtype) in read.items():
        assert rate == 48_000 and dtype == "int32" and audio.shape == (picture_samples, 2), kind
        with open(stems[kind], "rb") as f:
            assert int.from_bytes(f.read(36)[34:36], "little") == 24, kind  # WAV fmt chunk: bits per sample
    residual = read["stem:mix"][1] - read["stem:dialogue"][1] - read["stem:me"][1]
    assert 20 * np.log10(np.abs(residual).max() + 1e-12) <= MAX_RESIDUAL_DBFS
    assert np.abs(read["stem:dialogue"][1]).max() > 0.01 and np.abs(read["stem:me"][1]).max() > 0.01


def test_every_deliverable_is_listed_with_its_checksum(delivered):
    import hashlib

    result = delivered("broadcast-ebu")
    kinds = sorted(d.kind for d in result.deliverables)
    assert kinds == ["stem:dialogue", "stem:me", "stem:mix", "subtitles", "video"]
    for d in result.deliverables:
        assert hashlib.sha256(d.path.read_bytes()).hexdigest() == d.sha256
    assert not [p for p in result.video.parent.iterdir() if p.name.startswith(".")]  # no temp files left


@pytest.mark.parametrize("name", list(PROFILES))
def test_every_profile_delivers_what_the_gate_heard(spot, delivered, name):
    """The integrity check (stages/integrity.py) on each profile's file: its sound is the one mix rule's
    (stages/mix.py), up to one gain where loudnorm's gain is linear; where the true-peak limiter acted each
    span must still correlate. Burned-in subtitles change the picture on purpose: not compared there."""
    source, _, placed = spot
    result = delivered(name)
    heard = [Heard(span, placed.render.audio, placed.render.sample_rate)
             for span in window_spans([(placed.start, placed.end)])]
    assert check_delivered(result.video, source.path, source.duration, bed_for(source, EXAMPLES / "ad.me.m4a"),
                           heard, one_gain=result.loudness.method != "limited",
                           picture=not PROFILES[name].burn_in) == ()
