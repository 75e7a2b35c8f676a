"""The delivered file's integrity check: a file as assembled passes; a file whose sound or picture outside
the windows was altered fails with a reason naming the span; the mix the gate hears is the file's."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.io.wavfile

from dubkit.adapters import ffmpeg
from dubkit.adapters.av import read_audio, read_audio_span, read_frames
from dubkit.engines.base import WindowRender
from dubkit.stages.deliver import PlacedRender, assemble
from dubkit.stages.integrity import Heard, check_delivered
from dubkit.stages.mix import SAMPLE_RATE, Bed, bed_for, mix_window, window_spans
from dubkit.stages.probe import probe_source
from langs import get_language

DURATION, FPS, SIZE = 4.0, 25, 64
WINDOWS = ((0.6, 1.8), (1.8, 2.6))  # two windows that touch, then a gap from 2.6 s to the end


def _music(seconds: float) -> np.ndarray:
    """A slowly swelling chord: sound that AAC carries faithfully, as it does speech and music."""
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    chord = sum(np.sin(2 * np.pi * f * t + k) for k, f in enumerate((196.0, 247.0, 294.0, 392.0)))
    swell = 0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * t)
    left = 0.04 * swell * chord
    return np.stack([left, 0.8 * left], axis=1).astype(np.float32)


@pytest.fixture(scope="module")
def delivered(tmp_path_factory):
    """A 4 s source (a moving picture, a chord for sound), two windows of 'speech' (a tone) assembled onto it."""
    folder = tmp_path_factory.mktemp("integrity")
    scipy.io.wavfile.write(folder / "sound.wav", SAMPLE_RATE, _music(DURATION))
    n = round(DURATION * FPS)
    frames = np.zeros((n, SIZE, SIZE, 3), np.uint8)
    frames[..., 1] = np.linspace(0, 200, SIZE, dtype=np.uint8)[None, None, :]
    frames[..., 2] = (np.arange(n) * 2).astype(np.uint8)[:, None, None]
    source = probe_source(ffmpeg.encode_video(frames, FPS, folder / "sound.wav", folder / "spot.mp4"))
    t = np.arange(round(1.2 * SAMPLE_RATE)) / SAMPLE_RATE
    renders = [WindowRender(audio=(0.2 * np.sin(2 * np.pi * f * t[: round((b - a) * SAMPLE_RATE)]))[:, None]
                            .astype(np.float32), sample_rate=SAMPLE_RATE, fps=FPS)
               for (a, b), f in zip(WINDOWS, (330, 440), strict=True)]
    placed = [PlacedRender(a, b, r) for (a, b), r in zip(WINDOWS, renders, strict=True)]
    result = assemble(source, placed, (), get_language("fr"), folder / "out", preview=True)
    heard = [Heard(span, r.audio, r.sample_rate) for span, r in zip(window_spans(WINDOWS), renders, strict=True)]
    return source, result.video, heard, frames


def _check(source, video, heard) -> tuple[str, ...]:
    return check_delivered(video, source.path, source.duration, bed_for(source, None), heard, badge=True)


def test_the_file_as_assembled_passes(delivered):
    source, video, heard, _ = delivered
    assert _check(source, video, heard) == ()


def test_a_window_sounds_in_the_file_as_the_gate_heard_it_up_to_one_gain(delivered):
    source, video, heard, _ = delivered
    for w in heard:
        gated = mix_window(bed_for(source, None), w.span, w.audio, w.sample_rate).ravel()
        got = read_audio_span(video, w.span.start, w.span.end).ravel()
        assert np.corrcoef(gated, got)[0, 1] > 0.99


def test_touching_windows_stay_ducked_at_the_join():
    span = window_spans(WINDOWS)[0]
    assert span.joined_after and not span.joined_before
    bed = Bed()  # silence: only the speech remains
    assert np.abs(mix_window(bed, span, np.ones((10, 1), np.float32), SAMPLE_RATE)[10:]).max() == 0


def test_a_tone_added_outside_the_windows_fails_naming_the_span(delivered, tmp_path):
    source, video, heard, frames = delivered
    sound = read_audio(video, sample_rate=SAMPLE_RATE, mono=False)
    t = np.arange(len(sound)) / SAMPLE_RATE
    sound[(t > 3.0) & (t < 3.5)] += (0.3 * np.sin(2 * np.pi * 1000 * t[(t > 3.0) & (t < 3.5)]))[:, None]
    scipy.io.wavfile.write(tmp_path / "toned.wav", SAMPLE_RATE, sound.astype(np.float32))
    altered = ffmpeg.encode_video(np.stack(read_frames(video, list(np.arange(len(frames)) / FPS))), FPS,
                                  tmp_path / "toned.wav", tmp_path / "altered.mp4")
    reasons = _check(source, altered, heard)
    assert reasons and all("2.60-4.00 s" in r for r in reasons), reasons
    assert "sound" in reasons[0]


def test_a_picture_rewritten_outside_the_windows_fails_naming_the_span(delivered, tmp_path):
    source, video, heard, frames = delivered
    picture = np.stack(read_frames(video, list(np.arange(len(frames)) / FPS)))
    picture[round(2.6 * FPS) :] = 255 - picture[round(2.6 * FPS) :]  # the gap's frames inverted
    sound = tmp_path / "sound.wav"
    scipy.io.wavfile.write(sound, SAMPLE_RATE, read_audio(video, sample_rate=SAMPLE_RATE, mono=False))
    altered = ffmpeg.encode_video(picture, FPS, sound, tmp_path / "altered.mp4")
    reasons = _check(source, altered, heard)
    assert len(reasons) == 1 and "picture" in reasons[0] and "2.60-4.00 s" in reasons[0], reasons


def test_the_picture_is_compared_once_per_coded_picture_and_again_when_it_differs(delivered, tmp_path):
    """The job compares a picture once for every language file that copies the same encode (keyed by the
    video packets), and compares a file whose picture differs in any byte afresh."""
    from dubkit.stages.deliver import DeliverySettings, _picture_integrity
    from dubkit.store.cache import StageCache

    source, video, heard, frames = delivered
    copy = tmp_path / "other-language.mp4"  # another language's file: the same picture, other sound
    scipy.io.wavfile.write(tmp_path / "quiet.wav", SAMPLE_RATE, 0.1 * _music(DURATION))
    ffmpeg.run(["-i", str(video), "-i", str(tmp_path / "quiet.wav"), "-map", "0:v", "-map", "1:a", "-c:v", "copy",
                "-c:a", "aac", str(copy)], out=copy)
    picture = np.stack(read_frames(video, list(np.arange(len(frames)) / FPS)))
    picture[round(2.6 * FPS) :] = 255 - picture[round(2.6 * FPS) :]
    altered = ffmpeg.encode_video(picture, FPS, tmp_path / "quiet.wav", tmp_path / "altered.mp4")
    settings = DeliverySettings(out=tmp_path, cache=StageCache(tmp_path), preview=True)
    spans = [w.span for w in heard]
    assert _picture_integrity(source, spans, settings, video) == []
    assert _picture_integrity(source, spans, settings, copy) == []
    checks = tmp_path / ".dubkit-cache" / "picture_check"
    assert len(list(checks.glob("*.json"))) == 1  # the copy reused the first comparison
    reasons = _picture_integrity(source, spans, settings, altered)
    assert len(reasons) == 1 and "2.60-4.00 s" in reasons[0], reasons
    assert len(list(checks.glob("*.json"))) == 2
