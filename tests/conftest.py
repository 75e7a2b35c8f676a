"""Shared fixtures: one Whisper model per test session, real-speech clips built once per session."""
from __future__ import annotations

import pytest

from tests import speech_data

FRENCH_PROMPTS = ["agent-loginok", "check-number-dial-again", "conf-getpin"]
ENGLISH_IDS = [
    "sense_and_sensibility_01_austen_64kb-0880",
    "sense_and_sensibility_01_austen_64kb-0920",
    "sense_and_sensibility_01_austen_64kb-0930",
]


@pytest.fixture(scope="session")
def recognizer():
    """The packaged Whisper base, loaded once (shared with the jobs' own per-process cache)."""
    from eval.asr import shared_recognizer

    return shared_recognizer()


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("speech")


@pytest.fixture(scope="session")
def english_clip(speech_dir) -> speech_data.Clip:
    """Three LibriVox sentences (about 14 s) with a timed script."""
    utterances = speech_data.librivox()
    return speech_data.build_clip(speech_dir / "en.wav", [utterances[i] for i in ENGLISH_IDS])


@pytest.fixture(scope="session")
def short_english_clip(speech_dir) -> speech_data.Clip:
    """One short LibriVox sentence (about 4 s): for CLI tests that run the whole job."""
    utterance = speech_data.librivox()[ENGLISH_IDS[0]]
    return speech_data.build_clip(speech_dir / "en-short.wav", [utterance])


@pytest.fixture(scope="session")
def french_clip(speech_dir) -> speech_data.Clip:
    """Three Asterisk French prompts (8 kHz telephone speech) with a timed script."""
    return speech_data.build_clip(speech_dir / "fr.wav", speech_data.asterisk_fr(FRENCH_PROMPTS))


@pytest.fixture(scope="session")
def mandarin_clip(speech_dir) -> speech_data.Clip:
    """Three Mandarin sentences built from real recorded syllables, with a timed script."""
    sentences = ["我是中国人", "今天天气很好", "欢迎光临"]
    return speech_data.build_clip(
        speech_dir / "zh.wav", [speech_data.mandarin(s) for s in sentences]
    )
