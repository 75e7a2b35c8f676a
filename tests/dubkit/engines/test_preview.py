"""The preview engine: speech placed at its cue, sped up within the limit, never stretched, labelled."""
from __future__ import annotations

import numpy as np
import pytest

from dubkit.engines.base import WindowRequest
from dubkit.engines.preview import SAMPLE_RATE, PreviewEngine, fit_speech
from dubkit.errors import ScriptError
from eval.types import Cue
from langs import MAX_SPEED_FACTOR, get_language

SR = 22_050


def _voiced(seconds: float) -> np.ndarray:
    """A buzzy 150 Hz pulse train with a syllable-rate envelope: time-stretchable like speech."""
    t = np.arange(round(seconds * SR)) / SR
    return (0.3 * np.sign(np.sin(2 * np.pi * 150 * t)) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))).astype(np.float32)


@pytest.mark.parametrize("speech_s,available", [(1.0, 2.0), (2.0, 2.0), (2.1, 2.0), (2.3, 2.0), (4.0, 2.0), (3.0, 0.5)])
def test_fit_never_exceeds_the_max_factor_and_never_stretches(speech_s, available):
    samples = _voiced(speech_s)
    fitted, factor, overrun = fit_speech(samples, SR, available, MAX_SPEED_FACTOR)
    assert 1.0 <= factor <= MAX_SPEED_FACTOR + 1e-9
    assert len(fitted) <= len(samples)  # never longer than spoken: no stretching
    assert len(fitted) >= len(samples) / MAX_SPEED_FACTOR - SR * 0.05


def test_fit_leaves_speech_that_already_fits_untouched():
    samples = _voiced(1.2)
    fitted, factor, overrun = fit_speech(samples, SR, 3.0, MAX_SPEED_FACTOR)
    assert factor == 1.0 and overrun == 0.0 and fitted is samples


def test_fit_speeds_up_just_enough_when_within_the_limit():
    samples = _voiced(2.2)
    fitted, factor, overrun = fit_speech(samples, SR, 2.0, MAX_SPEED_FACTOR)
    assert factor == pytest.approx(1.1, abs=1e-6)
    assert len(fitted) / SR == pytest.approx(2.0, abs=0.03) and overrun < 0.03


def test_fit_reports_overrun_when_the_limit_is_not_enough():
    fitted, factor, overrun = fit_speech(_voiced(4.0), SR, 2.0, MAX_SPEED_FACTOR)
    assert factor == MAX_SPEED_FACTOR
    assert overrun == pytest.approx(4.0 / MAX_SPEED_FACTOR - 2.0, abs=0.03)


@pytest.fixture(scope="module")
def engine():
    return PreviewEngine()


def _onset(audio: np.ndarray, sr: int) -> float:
    loud = np.nonzero(np.abs(audio[:, 0]) > 0.01)[0]
    return loud[0] / sr if loud.size else float("nan")


def test_render_places_each_line_at_its_cue_start_and_covers_the_window(engine):
    lang = get_language("ko")
    request = WindowRequest(3, start=10.0, end=14.0, language=lang, seed=0,
                            lines=(Cue("안녕하세요.", 10.8, 12.5),))
    render = engine.render(request)
    assert render.audio.dtype == np.float32 and render.audio.shape == (4 * SAMPLE_RATE, 1)
    assert render.sample_rate == SAMPLE_RATE and render.frames is None
    assert _onset(render.audio, SAMPLE_RATE) == pytest.approx(0.8, abs=0.03)
    assert render.info["preview"] is True and render.info["voice"] == "espeak-ng:ko"
    line = render.info["lines"][0]
    assert line["speed"] == 1.0 and line["overrun_s"] == 0.0  # short line: left as spoken


def test_render_of_a_line_too_long_uses_the_max_factor_reports_overrun_and_stops_at_the_window_end(engine):
    lang = get_language("de")
    text = "Dieser Satz ist viel zu lang für das kurze Fenster, das ihm gegeben wurde, wirklich viel zu lang."
    render = engine.render(WindowRequest(0, 0.0, 2.0, lang, (Cue(text, 0.2, 1.5),), seed=0))
    info = render.info
    assert info["speed"] == pytest.approx(MAX_SPEED_FACTOR) and info["speed_max"] == MAX_SPEED_FACTOR
    assert info["overrun_s"] > 1.0 and info["truncated_s"] > 0.5
    assert render.audio.shape[0] == 2 * SAMPLE_RATE
    assert np.abs(render.audio[-10:]).max() < 0.01 and render.audio[-1, 0] == 0  # faded out, not clicked off


def test_render_of_an_empty_window_is_silence_of_the_window_length(engine):
    render = engine.render(WindowRequest(0, 1.0, 2.5, get_language("zh"), (), seed=0))
    assert render.audio.shape == (round(1.5 * SAMPLE_RATE), 1) and not render.audio.any()
    assert render.info["lines"] == [] and render.info["preview"] is True


def test_render_rejects_an_untimed_line_naming_it(engine):
    with pytest.raises(ScriptError, match="no start/end"):
        engine.render(WindowRequest(0, 0.0, 2.0, get_language("fr"), (Cue("Bonjour."),), seed=0))


def test_engine_is_labelled_preview_and_identity_names_voices_and_versions(engine):
    assert engine.is_preview is True and engine.name == "preview"
    ident = engine.identity()
    assert ident["preview"] is True
    assert ident["voices"]["en"] == "piper:en_US-joe-medium" and ident["voices"]["ja"] == "openjtalk:mei_normal"
    assert set(ident["voices"]) == {"zh", "yue", "en", "ja", "ko", "de", "fr"}
    assert all(v != "missing" for v in ident["packages"].values())


def test_japanese_lines_are_placed_and_fitted_with_openjtalk(engine):
    lang = get_language("ja")
    render = engine.render(WindowRequest(0, 0.0, 3.0, lang, (Cue("もっといい朝へ。", 0.5, 2.0),), seed=0))
    assert render.info["voice"] == "openjtalk:mei_normal"
    # OpenJTalk pads lines with silence; the engine trims it so speech starts at the cue
    assert _onset(render.audio, SAMPLE_RATE) == pytest.approx(0.5, abs=0.05)


def test_a_voice_track_is_the_windows_speech_instead_of_a_synthetic_voice(tmp_path):
    import soundfile as sf

    rate = SAMPLE_RATE
    t = np.arange(3 * rate) / rate
    actor = (0.25 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    path = tmp_path / "actor.zh.wav"
    sf.write(path, actor, rate)

    def no_voice(language):
        raise AssertionError("the synthetic voice must not be used when a voice track is given")

    request = WindowRequest(index=0, start=1.0, end=4.0, language=get_language("zh"),
                            lines=(Cue("你好", 1.2, 2.0),), seed=0, voice_track=path)
    render = PreviewEngine(voices=no_voice).render(request)
    assert render.audio.shape == (3 * rate, 1) and render.frames is None
    np.testing.assert_allclose(render.audio[: 2 * rate, 0], actor[rate:], atol=1e-3)  # the slice from 1 s
    assert not render.audio[2 * rate + 10 :].any()  # past the recording's end: silence
    assert render.info["voice"] == "voice track actor.zh.wav"


def _median_f0(render, start, end):
    from dubkit.adapters.pitch import median_f0

    audio = render.audio[:, 0]
    return median_f0(audio[round(start * SAMPLE_RATE) : round(end * SAMPLE_RATE)], SAMPLE_RATE)


@pytest.mark.slow
@pytest.mark.parametrize("pitch,apart", [({"S1": 105.0, "S2": 212.0}, 7.0), ({"S1": 110.0, "S2": 112.0}, 2.0)])
def test_two_speakers_get_different_voices_measured_on_the_output(pitch, apart):
    """A man and a woman land an octave-ish apart; two similar voices are still moved apart."""
    import math

    lines = (Cue("Guten Morgen, wie geht es dir heute?", 0.2, 2.8, "S1"),
             Cue("Danke, mir geht es sehr gut.", 3.0, 5.6, "S2"))
    render = PreviewEngine().render(WindowRequest(0, 0.0, 6.0, get_language("de"), lines, seed=0, speaker_pitch=pitch))
    f1, f2 = _median_f0(render, 0.2, 2.8), _median_f0(render, 3.0, 5.6)
    assert 12 * math.log2(f2 / f1) >= apart, (f1, f2, render.info["speakers"])
    assert render.info["lines"][0]["voice"] != render.info["lines"][1]["voice"] or apart < 7


def test_the_same_speaker_has_the_same_voice_in_every_window():
    pitch = {"S1": 210.0, "S2": 100.0}
    line = "Bonjour à tous."
    engine = PreviewEngine()
    first = engine.render(WindowRequest(0, 0.0, 3.0, get_language("fr"), (Cue(line, 0.5, 2.5, "S1"),), seed=0,
                                        speaker_pitch=pitch))
    later = engine.render(WindowRequest(7, 30.0, 33.0, get_language("fr"),
                                        (Cue("Bonsoir.", 30.1, 30.4, "S2"), Cue(line, 30.5, 32.5, "S1")), seed=0,
                                        speaker_pitch=pitch))
    assert first.info["speakers"] == later.info["speakers"] and first.info["speakers"]["S1"]["register"] == "female"
    # from 0.55 s on (S2's short line overruns its cue into S1's first 15 ms: speakers may overlap)
    a = first.audio[round(0.55 * SAMPLE_RATE) : round(2.5 * SAMPLE_RATE), 0]
    b = later.audio[round(0.55 * SAMPLE_RATE) : round(2.5 * SAMPLE_RATE), 0]
    assert np.abs(a).max() > 0.05
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_a_speaker_with_a_recording_is_not_synthesised(tmp_path):
    from tests.speech_data import write_wav

    t = np.arange(3 * 16_000) / 16_000
    track = write_wav(tmp_path / "anna.wav", (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32))
    lines = (Cue("Hallo.", 0.2, 1.0, "Anna"), Cue("Guten Tag.", 1.2, 2.5, "Ben"))
    render = PreviewEngine().render(WindowRequest(0, 0.0, 3.0, get_language("de"), lines, seed=0,
                                                  speaker_tracks={"Anna": track}))
    assert render.info["lines"][0]["voice"] == "voice track anna.wav"
    assert render.info["lines"][1]["voice"].startswith("espeak-ng:de")
    assert np.abs(render.audio[: round(0.15 * SAMPLE_RATE), 0]).max() > 0.1  # the track sounds before any line
