"""The packaged voices: every language speaks, the registry picks the best voice, bad input is named."""
from __future__ import annotations

import numpy as np
import pytest

from dubkit.adapters.tts import TTSError, voice_for, voice_name
from langs import LANGUAGES, get_language

SENTENCES = {
    "zh": "欢迎来到新的一天。",
    "yue": "歡迎嚟到新嘅一日。",
    "en": "Welcome to a brand new day.",
    "ja": "新しい一日へようこそ。",
    "ko": "새로운 하루에 오신 것을 환영합니다.",
    "de": "Willkommen in einem neuen Tag.",
    "fr": "Bienvenue dans une nouvelle journée.",
}


@pytest.mark.parametrize("code", list(SENTENCES))
def test_each_language_voice_speaks_audible_speech_of_plausible_length(code):
    speech = voice_for(get_language(code)).synthesize(SENTENCES[code])
    assert speech.samples.dtype == np.float32 and speech.samples.ndim == 1
    assert 0.8 < speech.duration < 6.0, f"{code}: {speech.duration:.2f} s for a short sentence"
    rms = float(np.sqrt(np.mean(speech.samples**2)))
    assert rms > 0.02, f"{code}: nearly silent (rms {rms})"
    assert np.abs(speech.samples).max() <= 1.0


def test_registry_picks_piper_for_english_openjtalk_for_japanese_and_espeak_for_the_rest():
    names = {code: voice_for(lang).name for code, lang in LANGUAGES.items()}
    assert names["en"] == "piper:en_US-joe-medium"
    assert names["ja"] == "openjtalk:mei_normal"
    assert names["zh"] == "espeak-ng:cmn" and names["yue"] == "espeak-ng:yue" and names["ko"] == "espeak-ng:ko"
    assert names["de"] == "espeak-ng:de" and names["fr"] == "espeak-ng:fr"
    assert names == {code: voice_name(lang) for code, lang in LANGUAGES.items()}


def test_identity_names_the_voice_and_package_versions():
    ident = voice_for(get_language("zh")).identity()
    assert ident["voice"] == "espeak-ng:cmn" and ident["espeak-ng"].startswith("1.52")
    assert ident["espeakng-loader"] != "missing"
    assert voice_for(get_language("en")).identity()["piper-tts"] != "missing"


@pytest.mark.parametrize("code", ["en", "ja", "ko"])
def test_empty_text_raises_tts_error_naming_the_voice(code):
    voice = voice_for(get_language(code))
    with pytest.raises(TTSError, match=voice.name):
        voice.synthesize("   ")


def test_unknown_espeak_voice_is_a_named_error():
    from dubkit.adapters.tts.espeak import EspeakVoice

    with pytest.raises(TTSError, match="xx-nonexistent"):
        EspeakVoice("xx-nonexistent")


def test_espeak_reads_japanese_kanji_as_its_kana_reading():
    from dubkit.adapters.tts.espeak import EspeakVoice

    voice = EspeakVoice("ja")
    kanji = voice.synthesize("東京は晴れです。").duration
    kana = voice.synthesize("トーキョーワハレデス。").duration
    # espeak-ng alone spells kanji out character by character (about 4 s here)
    assert abs(kanji - kana) < 0.1 * kana


def test_espeak_gives_the_same_samples_for_the_same_text_whatever_was_spoken_before():
    from dubkit.adapters.tts.espeak import EspeakVoice

    fr, ko = EspeakVoice("fr"), EspeakVoice("ko")
    first = fr.synthesize("Une tasse de café.").samples
    ko.synthesize("좋은 하루예요.")
    fr.synthesize("Autre chose, d'abord.")
    assert np.array_equal(first, fr.synthesize("Une tasse de café.").samples)


def test_piper_gives_the_same_samples_for_the_same_text():
    voice = voice_for(get_language("en"))
    a, b = voice.synthesize("Same words."), voice.synthesize("Same words.")
    assert np.array_equal(a.samples, b.samples)


@pytest.mark.slow
@pytest.mark.parametrize("code,limit", [("en", 0.1), ("ja", 0.35)])
def test_neural_and_hts_voices_are_read_back_by_whisper(code, limit):
    import librosa

    from eval.asr import SAMPLE_RATE, Recognizer
    from eval.scoring import score

    text = {
        "en": "Every great day starts with a single cup of coffee.",
        "ja": "素敵な一日は一杯のコーヒーから始まる。",
    }[code]
    lang = get_language(code)
    speech = voice_for(lang).synthesize(text)
    audio = librosa.resample(speech.samples, orig_sr=speech.sample_rate, target_sr=SAMPLE_RATE)
    heard = Recognizer().transcribe(audio, lang).text
    assert score(text, heard, lang).error_rate <= limit, heard
