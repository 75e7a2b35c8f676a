"""Assembly: streams, duration, loudness, the M&E mix, ducking, spliced frames, atomic outputs."""
from __future__ import annotations

import av
import numpy as np
import pytest
import scipy.io.wavfile

from dubkit.adapters import ffmpeg
from dubkit.adapters.av import probe, read_audio, read_frames
from dubkit.engines.base import WindowRender
from dubkit.errors import InputError, MediaError
from dubkit.stages.deliver import (
    PREVIEW_NOTE,
    PREVIEW_TAG,
    SAMPLE_RATE,
    PlacedRender,
    assemble,
)
from dubkit.stages.mix import DUCK_DB
from dubkit.stages.probe import probe_source
from eval.types import Cue
from langs import get_language
from tests.dubkit.loudness import measure_loudness

DURATION, FPS, SIZE = 3.2, 25, 64
WINDOW = (1.0, 2.2)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A 3.2 s 64x64 clip whose audio is real English speech (piper) from start to end."""
    import librosa

    from dubkit.adapters.tts import voice_for

    folder = tmp_path_factory.mktemp("source")
    speech = voice_for(get_language("en")).synthesize(
        "This is the original English voice of the spot, and it keeps on talking all the way through."
    )
    samples = librosa.resample(speech.samples, orig_sr=speech.sample_rate, target_sr=SAMPLE_RATE)
    samples = np.resize(samples, round(DURATION * SAMPLE_RATE)) * 0.5  # loop to fill: speech everywhere
    scipy.io.wavfile.write(folder / "speech.wav", SAMPLE_RATE, np.stack([samples, samples], axis=1))
    n = round(DURATION * FPS)
    frames = np.zeros((n, SIZE, SIZE, 3), np.uint8)
    frames[..., 1] = np.linspace(0, 200, SIZE, dtype=np.uint8)[None, None, :]  # green ramp, never red
    frames[..., 2] = (np.arange(n) * 2).astype(np.uint8)[:, None, None]
    path = ffmpeg.encode_video(frames, FPS, folder / "speech.wav", folder / "spot.mp4")
    return path, probe_source(path)


def _render(seconds: float, speech: np.ndarray | None = None, frames: np.ndarray | None = None) -> WindowRender:
    audio = np.zeros((round(seconds * SAMPLE_RATE), 1), np.float32) if speech is None else speech
    return WindowRender(audio=audio, sample_rate=SAMPLE_RATE, frames=frames, fps=FPS)


def _new_speech(code: str, text: str, start: float, end: float) -> PlacedRender:
    from dubkit.engines.base import WindowRequest
    from dubkit.engines.preview import PreviewEngine

    lang = get_language(code)
    render = PreviewEngine().render(WindowRequest(0, start, end, lang, (Cue(text, start + 0.1, end - 0.1),), seed=0))
    return PlacedRender(start, end, render)


CUES = (Cue("좋은 하루예요.", 1.1, 2.1),)


def test_output_has_h264_aac_and_a_language_tagged_subtitle_track_labelled_preview(source, tmp_path):
    path, info = source
    placed = _new_speech("ko", CUES[0].text, *WINDOW)
    result = assemble(info, [placed], CUES, get_language("ko"), tmp_path, preview=True)
    assert result.video == tmp_path / "spot.ko.mp4" and result.subtitles == tmp_path / "spot.ko.srt"
    with av.open(str(result.video)) as container:
        kinds = {s.type: s for s in container.streams}
        assert kinds["video"].codec_context.name == "h264"
        assert kinds["audio"].codec_context.name == "aac"
        assert kinds["subtitle"].codec_context.name == "mov_text"
        assert kinds["subtitle"].metadata.get("language") == "kor" == kinds["audio"].metadata.get("language")
        assert PREVIEW_TAG in container.metadata.get("title", "") and PREVIEW_TAG in container.metadata.get(
            "comment", ""
        )
    srt = result.subtitles.read_text(encoding="utf-8")
    assert PREVIEW_NOTE in srt and CUES[0].text in srt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spot.ko.mp4", "spot.ko.srt"]  # no temp files left
    (badged,), (plain,) = read_frames(result.video, [0.5]), read_frames(path, [0.5])
    corner = np.abs(badged[9:20, 9:40].astype(int) - plain[9:20, 9:40]).mean()  # badge at (8, 8)
    rest = np.abs(badged[32:, 32:].astype(int) - plain[32:, 32:]).mean()
    assert corner > 30 and rest < 8  # a PREVIEW badge in the corner, the picture untouched elsewhere


def test_output_lasts_as_long_as_the_source_within_one_frame(source, tmp_path):
    path, info = source
    result = assemble(info, [PlacedRender(*WINDOW, _render(1.2))], CUES, get_language("ko"), tmp_path)
    out = probe(result.video)
    assert abs(out.duration - info.duration) <= 1 / FPS
    assert out.n_frames == probe(path).n_frames and out.fps == pytest.approx(info.fps)


@pytest.mark.parametrize("target", [-23.0, -16.0])
def test_loudness_is_within_one_lu_of_the_target(source, tmp_path, target):
    path, info = source
    placed = _new_speech("de", "Guten Morgen.", *WINDOW)
    result = assemble(info, [placed], (), get_language("de"), tmp_path, loudness=target, preview=True)
    assert measure_loudness(result.video) == pytest.approx(target, abs=1.0)
    assert result.loudness_lufs == pytest.approx(target, abs=0.5)


def _span(audio: np.ndarray, start: float, end: float) -> np.ndarray:
    return audio[round(start * SAMPLE_RATE) : round(end * SAMPLE_RATE)]


def _gain_db(out: np.ndarray, ref: np.ndarray) -> float:
    """Least-squares gain of `ref` inside `out`, in dB."""
    g = float(np.dot(out, ref) / np.dot(ref, ref))
    return 20 * np.log10(max(abs(g), 1e-6))


def test_ducking_lowers_the_original_speech_inside_windows_only(source, tmp_path):
    path, info = source
    result = assemble(info, [PlacedRender(*WINDOW, _render(1.2))], CUES, get_language("ko"), tmp_path)
    original = read_audio(path, sample_rate=SAMPLE_RATE)
    out = read_audio(result.video, sample_rate=SAMPLE_RATE)
    outside = _gain_db(_span(out, 0.1, 0.8), _span(original, 0.1, 0.8))
    inside = _gain_db(_span(out, 1.3, 1.9), _span(original, 1.3, 1.9))
    assert inside - outside == pytest.approx(DUCK_DB, abs=3.0)
    assert _gain_db(_span(out, 2.5, 3.1), _span(original, 2.5, 3.1)) == pytest.approx(outside, abs=1.0)


def test_me_track_replaces_the_original_audio_under_the_new_speech(source, tmp_path):
    path, info = source
    t = np.arange(round(DURATION * SAMPLE_RATE)) / SAMPLE_RATE
    tone = (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    me = tmp_path / "me.wav"
    scipy.io.wavfile.write(me, SAMPLE_RATE, np.stack([tone, tone], axis=1))
    out_dir = tmp_path / "out"
    placed = _new_speech("fr", "Bonjour à tous.", *WINDOW)
    result = assemble(info, [placed], (), get_language("fr"), out_dir, me_track=me)
    out = read_audio(result.video, sample_rate=SAMPLE_RATE)
    original = read_audio(path, sample_rate=SAMPLE_RATE)
    gain = 10 ** (_gain_db(_span(out, 0.2, 0.9), _span(tone, 0.2, 0.9)) / 20)  # loudness normalisation
    rms = lambda x: float(np.sqrt(np.mean(x**2)))  # noqa: E731
    before = _span(out, 0.2, 0.9) - gain * _span(tone, 0.2, 0.9)  # no new speech here: only the stem
    assert rms(before) < 0.05 * rms(_span(out, 0.2, 0.9))  # the tone, and nothing else
    assert abs(np.corrcoef(_span(out, 0.2, 0.9), _span(original, 0.2, 0.9))[0, 1]) < 0.1  # original gone
    new = _span(out, 1.2, 2.0) - gain * _span(tone, 1.2, 2.0)
    assert rms(new) > 0.3 * rms(gain * _span(tone, 1.2, 2.0))  # new speech on top of the stem


def test_frames_from_a_generating_engine_are_spliced_into_their_window_only(source, tmp_path):
    path, info = source
    n = round((WINDOW[1] - WINDOW[0]) * FPS)
    red = np.zeros((n, 32, 32, 3), np.uint8)
    red[..., 0] = 230  # half size on purpose: the splice scales to the source size
    placed = PlacedRender(*WINDOW, _render(1.2, frames=red))
    result = assemble(info, [placed], CUES, get_language("ja"), tmp_path)
    inside, before, after = read_frames(result.video, [1.6, 0.5, 2.7])
    assert inside.shape == (SIZE, SIZE, 3)
    assert inside[..., 0].mean() > 180 and inside[..., 1].mean() < 40
    for frame in (before, after):
        assert frame[..., 0].mean() < 40 and frame[..., 1].mean() > 60  # the original green ramp


def test_a_failed_run_leaves_existing_outputs_untouched(source, tmp_path):
    path, info = source
    first = assemble(info, [PlacedRender(*WINDOW, _render(1.2))], CUES, get_language("ko"), tmp_path)
    before = first.video.read_bytes(), first.subtitles.read_bytes()
    with pytest.raises(MediaError, match="no-me.wav"):
        assemble(
            info,
            [PlacedRender(*WINDOW, _render(1.2))],
            CUES,
            get_language("ko"),
            tmp_path,
            me_track=tmp_path / "no-me.wav",
        )
    assert (first.video.read_bytes(), first.subtitles.read_bytes()) == before


def test_bad_targets_and_windows_are_named_errors(source, tmp_path):
    path, info = source
    with pytest.raises(InputError, match="-99"):
        assemble(info, [], CUES, get_language("ko"), tmp_path, loudness=-99)
    with pytest.raises(InputError, match=r"\[2.500, 4.000\]"):
        assemble(info, [PlacedRender(2.5, 4.0, _render(1.5))], CUES, get_language("ko"), tmp_path)


def test_a_source_without_audio_gets_the_new_speech_at_the_target_loudness(tmp_path):
    frames = np.zeros((50, SIZE, SIZE, 3), np.uint8)
    silent_source = ffmpeg.encode_frames(frames, FPS, tmp_path / "mute.mp4")
    info = probe_source(silent_source)
    assert not info.has_audio
    placed = _new_speech("de", "Guten Morgen, liebe Leute.", 0.0, 2.0)
    result = assemble(info, [placed], (), get_language("de"), tmp_path / "out", preview=True)
    assert probe(result.video).has_audio
    assert measure_loudness(result.video) == pytest.approx(-23.0, abs=1.0)


def test_an_output_folder_that_cannot_be_made_is_an_output_error_naming_it(source, tmp_path):
    from dubkit.errors import OutputError

    path, info = source
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output folder should go")
    with pytest.raises(OutputError, match="not-a-folder"):
        assemble(info, [], CUES, get_language("ko"), blocker / "out")
