"""The faster-whisper adapter on real audio: forced language, word times, silence, bad input."""
from __future__ import annotations

import numpy as np
import pytest

from eval.asr import SAMPLE_RATE, Recognizer, shared_recognizer
from eval.errors import EvalError
from tests import speech_data

pytestmark = pytest.mark.slow


def test_the_shared_recogniser_is_loaded_once_per_process(recognizer):
    assert shared_recognizer() is recognizer
    assert recognizer.name == "base"


def test_english_speech_from_an_array_gives_timed_words(recognizer):
    utterance = speech_data.librivox()["sense_and_sensibility_01_austen_64kb-0930"]
    transcript = recognizer.transcribe(utterance.audio, "en")
    assert transcript.language == "en" and transcript.model == "base"
    assert transcript.duration == pytest.approx(len(utterance.audio) / SAMPLE_RATE)
    words = [w for s in transcript.segments for w in s.words]
    assert "amiable" in transcript.text.lower()
    assert all(0 <= w.start <= w.end <= transcript.duration + 0.5 for w in words)
    assert [w.start for w in words] == sorted(w.start for w in words)


def test_cantonese_is_forced_to_zh_on_a_model_without_a_cantonese_token(recognizer):
    assert not recognizer.supports_yue
    assert recognizer.whisper_code("yue") == "zh"
    assert recognizer.whisper_code("zh-TW") == "zh"


def test_silence_gives_an_empty_transcript_not_an_error(recognizer):
    transcript = recognizer.transcribe(np.zeros(2 * SAMPLE_RATE, np.float32), "fr")
    assert transcript.segments == () and transcript.text == ""
    assert transcript.duration == pytest.approx(2.0)


def test_zero_samples_give_an_empty_transcript(recognizer):
    assert recognizer.transcribe(np.zeros(0, np.float32), "en").segments == ()


def test_stereo_arrays_are_refused_with_their_shape(recognizer):
    with pytest.raises(EvalError, match=r"\(16000, 2\)"):
        recognizer.transcribe(np.zeros((16000, 2), np.float32), "en")


def test_an_unreadable_path_is_a_named_error(recognizer, tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    with pytest.raises(EvalError, match="notes.wav"):
        recognizer.transcribe(bad, "en")


def test_a_model_folder_that_fails_to_load_is_a_named_error(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"garbage")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(EvalError, match=str(tmp_path)):
        Recognizer(tmp_path)
