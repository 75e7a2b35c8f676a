"""The language registry: codes, aliases, errors, list parsing, Whisper language choice."""
from __future__ import annotations

import dataclasses

import pytest

from langs import (
    CODES,
    LANGUAGES,
    Language,
    LanguageError,
    LanguageListError,
    UnknownLanguageError,
    get_language,
    parse_languages,
    whisper_language,
)

EXPECTED = {
    # code: (prompt_name, whisper_code, whisper_fallback, metric, espeak_voice, cjk)
    "zh": ("Mandarin", "zh", "zh", "cer", "cmn", True),
    "yue": ("Cantonese", "yue", "zh", "cer", "yue", True),
    "en": ("English", "en", "en", "wer", "en-us", False),
    "ja": ("Japanese", "ja", "ja", "cer", "ja", True),
    "ko": ("Korean", "ko", "ko", "cer", "ko", True),
    "de": ("German", "de", "de", "wer", "de", False),
    "fr": ("French", "fr", "fr", "wer", "fr", False),
}


def test_the_seven_languages_in_product_order():
    assert CODES == ("zh", "yue", "en", "ja", "ko", "de", "fr")
    assert tuple(LANGUAGES) == CODES


@pytest.mark.parametrize("code", list(EXPECTED))
def test_each_language_carries_the_product_table_facts(code):
    lang = LANGUAGES[code]
    assert (lang.prompt_name, lang.whisper_code, lang.whisper_fallback, lang.metric, lang.espeak_voice,
            lang.cjk) == EXPECTED[code]
    assert lang.code == code and str(lang) == code
    assert lang.rate.syllables_per_second > 0 and lang.rate.source


TRACK_AND_TRANSLATOR_CODES = {
    # code: (iso639_2, nllb_code, m2m_code): tags of audio/subtitle tracks, tokens of NLLB-200 and M2M-100
    "zh": ("zho", "zho_Hans", "__zh__"),
    "yue": ("yue", "yue_Hant", None),
    "en": ("eng", "eng_Latn", "__en__"),
    "ja": ("jpn", "jpn_Jpan", "__ja__"),
    "ko": ("kor", "kor_Hang", "__ko__"),
    "de": ("deu", "deu_Latn", "__de__"),
    "fr": ("fra", "fra_Latn", "__fr__"),
}


@pytest.mark.parametrize("code", list(TRACK_AND_TRANSLATOR_CODES))
def test_each_language_carries_its_track_tag_translator_tokens_voice_and_gate_threshold(code):
    lang = LANGUAGES[code]
    assert (lang.iso639_2, lang.nllb_code, lang.m2m_code) == TRACK_AND_TRANSLATOR_CODES[code]
    assert lang.preview_voice.partition(":")[0] in ("piper", "openjtalk", "espeak-ng")
    assert 0 < lang.gate_threshold < 1 and lang.written_as


def test_language_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        LANGUAGES["en"].code = "xx"  # type: ignore[misc]


@pytest.mark.parametrize("lang", list(LANGUAGES.values()), ids=CODES)
def test_every_code_and_alias_resolves_in_any_case_and_separator(lang: Language):
    for name in (lang.code, *lang.aliases):
        assert get_language(name) is lang
        assert get_language(name.upper()) is lang
        assert get_language(name.replace("-", "_")) is lang
        assert get_language(f"  {name} ") is lang


def test_aliases_are_unique_across_languages():
    names = [name for lang in LANGUAGES.values() for name in (lang.code, *lang.aliases)]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("alias,code", [
    ("zh-CN", "zh"), ("zh-Hans", "zh"), ("zh-SG", "zh"), ("cmn", "zh"), ("cmn-Hans", "zh"),
    ("zh-TW", "zh"), ("zh-Hant", "zh"), ("zh_Hant_TW", "zh"),
    ("yue", "yue"), ("zh-HK", "yue"), ("yue-HK", "yue"), ("zh-yue", "yue"), ("yue-Hant", "yue"),
    ("zh-Hant-HK", "yue"), ("zh-MO", "yue"), ("zh-Hans-HK", "yue"), ("cmn-HK", "zh"), ("cmn-Hant-HK", "zh"),
    ("yue-Hant-HK", "yue"), ("zh-Hant-SG", "zh"), ("jpn-JP", "ja"), ("deu-CH", "de"), ("Cantonese", "yue"),
    ("粵語", "yue"),
    ("en-US", "en"), ("en-GB", "en"), ("eng", "en"), ("EN_us", "en"), ("en-SG", "en"), ("en-Latn-US", "en"),
    ("ja-JP", "ja"), ("jpn", "ja"), ("日本語", "ja"),
    ("ko-KR", "ko"), ("kor", "ko"), ("한국어", "ko"),
    ("de-DE", "de"), ("deu", "de"), ("ger", "de"), ("de-AT", "de"), ("Deutsch", "de"),
    ("fr-FR", "fr"), ("fra", "fr"), ("fre", "fr"), ("fr-CA", "fr"), ("Français", "fr"),
])
def test_common_tags_resolve(alias, code):
    assert get_language(alias).code == code


def test_a_language_object_resolves_to_itself():
    assert get_language(LANGUAGES["ko"]) is LANGUAGES["ko"]


@pytest.mark.parametrize("bad", ["xx", "", "  ", "klingon", "es", "zh-", "en-US-x-private", "cmn-Latn-XYZW", "yue!"])
def test_unknown_language_error_names_the_value_and_lists_the_codes(bad):
    with pytest.raises(UnknownLanguageError) as info:
        get_language(bad)
    message = str(info.value)
    assert repr(bad) in message
    assert "zh, yue, en, ja, ko, de, fr" in message
    assert info.value.value == bad


def test_unknown_language_error_is_a_language_error_and_a_value_error():
    assert issubclass(UnknownLanguageError, LanguageError)
    assert issubclass(LanguageError, ValueError)
    with pytest.raises(ValueError):
        get_language("xx")


def test_non_string_code_is_rejected_with_the_same_error():
    with pytest.raises(UnknownLanguageError, match="None"):
        get_language(None)  # type: ignore[arg-type]


def test_parse_languages_keeps_order_and_resolves_aliases():
    assert [lang.code for lang in parse_languages("zh,ko,ja")] == ["zh", "ko", "ja"]
    assert [lang.code for lang in parse_languages(" zh-HK , en-US ,fre")] == ["yue", "en", "fr"]
    assert [lang.code for lang in parse_languages(["de", "cmn"])] == ["de", "zh"]
    assert isinstance(parse_languages("en"), tuple)


@pytest.mark.parametrize("spec", ["", " ", ",", " , ", []])
def test_parse_languages_rejects_an_empty_list(spec):
    with pytest.raises(LanguageListError, match="empty language list"):
        parse_languages(spec)


def test_parse_languages_rejects_an_empty_item():
    with pytest.raises(LanguageListError, match="empty item"):
        parse_languages("zh,,ja")


def test_parse_languages_rejects_the_same_language_twice_by_alias():
    with pytest.raises(LanguageListError) as info:
        parse_languages("zh,ko,zh-CN")
    assert "zh twice" in str(info.value) and "'zh-CN'" in str(info.value)


def test_parse_languages_reports_the_unknown_item():
    with pytest.raises(UnknownLanguageError, match="'xx'"):
        parse_languages("zh,xx")


def test_whisper_language_uses_yue_only_when_the_model_has_it():
    assert whisper_language("yue", model_supports_yue=True) == "yue"
    assert whisper_language("zh-HK", model_supports_yue=False) == "zh"
    for code in ("zh", "en", "ja", "ko", "de", "fr"):
        assert whisper_language(code, True) == whisper_language(code, False) == code


def test_every_prompt_name_is_a_language_the_model_prompt_accepts_with_the_same_cjk_rule():
    from model.prompt import CJK_LANGUAGES
    from model.prompt import LANGUAGES as MODEL_LANGUAGES

    assert {lang.prompt_name for lang in LANGUAGES.values()} == set(MODEL_LANGUAGES)
    assert {lang.prompt_name for lang in LANGUAGES.values() if lang.cjk} == set(CJK_LANGUAGES)
