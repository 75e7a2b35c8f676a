"""The seven spoken languages dubkit supports, and how a user's code or alias resolves to one of them."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import MappingProxyType

from langs.errors import LanguageListError, UnknownLanguageError
from langs.rates import RATES, SpeakingRate


@dataclass(frozen=True)
class Language:
    """One supported spoken language and everything the pipeline needs to know about it.

    code: dubkit's code ("zh", "yue", "en", "ja", "ko", "de", "fr").
    prompt_name: the plain-English name MagiHuman's prompt puts in the speaker tag (`<man, Mandarin>`).
    english_name: a human-readable name for reports.
    aliases: lower-case, '-'-separated alternative names that resolve to this language.
    whisper_code / whisper_fallback: Whisper's `language=` value when the model knows it / when it does not
        (Cantonese is `yue` only in large-v3 models; others transcribe it as `zh`).
    metric: "cer" (character error rate) or "wer" (word error rate) for the quality gate.
    espeak_voice: the espeak-ng 1.52 voice name for the CPU preview voice.
    cjk: Chinese, Japanese or Korean: scored by characters and spaced per character in the prompt.
    iso639_2: the three-letter ISO 639-2/T code (639-3 for Cantonese) that tags audio and subtitle tracks.
    nllb_code / m2m_code: the language token of NLLB-200 / M2M-100 translation models (None: the model
        has no such language; M2M-100 has no Cantonese).
    written_as: how a translator is told to write the language for speech (Cantonese colloquially, 嘅 咗 喺,
        not as Standard Written Chinese read aloud).
    preview_voice: the packaged CPU voice, "<kind>:<name>" (piper, openjtalk, espeak-ng: docs/preview-and-assembly.md).
    gate_threshold: the quality gate's default error-rate threshold (reasons in docs/eval.md).
    script: notes on the writing system.
    rate: the speaking-rate figure (langs.rates).
    """

    code: str
    prompt_name: str
    english_name: str
    aliases: tuple[str, ...] = field(repr=False)
    whisper_code: str
    whisper_fallback: str
    metric: str
    espeak_voice: str
    cjk: bool
    iso639_2: str
    nllb_code: str
    m2m_code: str | None
    written_as: str
    preview_voice: str
    gate_threshold: float
    script: str = field(repr=False)
    rate: SpeakingRate = field(repr=False)

    def __str__(self) -> str:
        return self.code


def _lang(code: str, prompt_name: str, english_name: str, aliases: tuple[str, ...], *, whisper_fallback: str = "",
          metric: str, espeak_voice: str, cjk: bool, script: str, iso639_2: str, nllb_code: str,
          m2m: bool = True, written_as: str = "", preview_voice: str = "", gate_threshold: float) -> Language:
    return Language(code=code, prompt_name=prompt_name, english_name=english_name, aliases=aliases,
                    whisper_code=code, whisper_fallback=whisper_fallback or code, metric=metric,
                    espeak_voice=espeak_voice, cjk=cjk, iso639_2=iso639_2, nllb_code=nllb_code,
                    m2m_code=f"__{code}__" if m2m else None, written_as=written_as or english_name,
                    preview_voice=preview_voice or f"espeak-ng:{espeak_voice}", gate_threshold=gate_threshold,
                    script=script, rate=RATES[code])


# Default gate thresholds on the whole-file error rate (pass if error_rate <= threshold). The reasons are in
# docs/eval.md ("Default thresholds"): above what Whisper base gets wrong on correct speech (5.7 % en, 14.3 % fr,
# 6.7 % zh on the test clips) plus the generator's own published WER (14.6 %), with room for short lines, where
# one word is 10-20 % of the line, and well below what a wrong or garbled line scores (0.7 and above).


_TABLE = (
    _lang("zh", "Mandarin", "Mandarin Chinese",
          # zh-TW / zh-Hant are Mandarin written in traditional characters: same spoken language.
          ("zh-cn", "zh-hans", "zh-hans-cn", "zh-sg", "zh-hans-sg", "zh-my", "zh-tw", "zh-hant", "zh-hant-tw",
           "cmn", "cmn-hans", "cmn-hant", "cmn-cn", "cmn-tw", "zho", "chi", "chinese", "mandarin",
           "普通话", "普通話", "国语", "國語", "华语", "華語", "中文", "汉语", "漢語"),
          metric="cer", espeak_voice="cmn", cjk=True, iso639_2="zho", nllb_code="zho_Hans",
          written_as="Mandarin Chinese, written in simplified Chinese characters", gate_threshold=0.30,
          script="Han characters, simplified (mainland, Singapore) or traditional (Taiwan); scored in simplified"),
    _lang("yue", "Cantonese", "Cantonese",
          # Hong Kong and Macau Chinese is Cantonese speech in traditional characters.
          ("zh-hk", "zh-hant-hk", "zh-mo", "zh-hant-mo", "yue-hk", "yue-hant", "yue-hans", "yue-cn", "zh-yue",
           "cantonese", "粤语", "粵語", "广东话", "廣東話", "广府话", "廣府話"),
          whisper_fallback="zh", metric="cer", espeak_voice="yue", cjk=True, iso639_2="yue", nllb_code="yue_Hant",
          m2m=False, gate_threshold=0.45,
          written_as="spoken Cantonese, written in traditional characters with colloquial Cantonese characters",
          script="Han characters, usually traditional, with Cantonese-only characters (嘅 咗 喺); "
                 "scored in simplified"),
    _lang("en", "English", "English",
          ("en-us", "en-gb", "en-au", "en-ca", "en-ie", "en-in", "en-nz", "en-za", "eng", "english"),
          metric="wer", espeak_voice="en-us", cjk=False, iso639_2="eng", nllb_code="eng_Latn",
          preview_voice="piper:en_US-joe-medium", gate_threshold=0.25,
          script="Latin alphabet, words separated by spaces"),
    _lang("ja", "Japanese", "Japanese",
          ("ja-jp", "jpn", "japanese", "日本語", "にほんご"),
          metric="cer", espeak_voice="ja", cjk=True, iso639_2="jpn", nllb_code="jpn_Jpan",
          preview_voice="openjtalk:mei_normal", gate_threshold=0.35,
          script="kanji with hiragana and katakana, no spaces between words"),
    _lang("ko", "Korean", "Korean",
          ("ko-kr", "kor", "korean", "한국어", "조선말"),
          metric="cer", espeak_voice="ko", cjk=True, iso639_2="kor", nllb_code="kor_Hang", gate_threshold=0.35,
          script="Hangul syllable blocks, spaces between phrases (eojeol); scored by block"),
    _lang("de", "German", "German",
          ("de-de", "de-at", "de-ch", "de-li", "de-lu", "deu", "ger", "german", "deutsch"),
          metric="wer", espeak_voice="de", cjk=False, iso639_2="deu", nllb_code="deu_Latn", gate_threshold=0.30,
          script="Latin alphabet with ä ö ü ß, nouns capitalised"),
    _lang("fr", "French", "French",
          ("fr-fr", "fr-ca", "fr-be", "fr-ch", "fr-lu", "fra", "fre", "french", "français", "francais"),
          metric="wer", espeak_voice="fr", cjk=False, iso639_2="fra", nllb_code="fra_Latn", gate_threshold=0.30,
          script="Latin alphabet with accents and elision (l', qu')"),
)

LANGUAGES = MappingProxyType({lang.code: lang for lang in _TABLE})
CODES: tuple[str, ...] = tuple(LANGUAGES)
_BY_NAME = MappingProxyType({name: lang for lang in _TABLE for name in (lang.code, *lang.aliases)})

# BCP-47-shaped tags: language, optional script (4 letters), optional region (2 letters or 3 digits).
_TAG = re.compile(r"^(?P<lang>[a-z]{2,3})(?:-(?P<script>[a-z]{4}))?(?:-(?P<region>[a-z]{2}|\d{3}))?$")
_CANTONESE_REGIONS = frozenset({"hk", "mo"})


def _key(value: str) -> str:
    return value.strip().lower().replace("_", "-")


def _supported_message(value: object) -> str:
    return (f"unknown language {value!r}: supported codes are {', '.join(CODES)} "
            "(aliases such as zh-CN, cmn, zh-TW, zh-HK, en-US, deu, fra are accepted)")


def get_language(code_or_alias: str | Language) -> Language:
    """Resolve a code, alias or BCP-47 tag (case-insensitive, '_' or '-') to its Language.

    Raises UnknownLanguageError naming the value and listing the supported codes.
    """
    if isinstance(code_or_alias, Language):
        return code_or_alias
    if not isinstance(code_or_alias, str):
        raise UnknownLanguageError(_supported_message(code_or_alias), code_or_alias)
    key = _key(code_or_alias)
    if key in _BY_NAME:
        return _BY_NAME[key]
    match = _TAG.match(key)
    if match:
        base = _BY_NAME.get(match["lang"])
        # The macrolanguage tag zh with a Hong Kong or Macau region is Cantonese (cmn-HK stays Mandarin: cmn
        # already says which Chinese); any other region keeps the base language.
        if match["lang"] == "zh" and match["region"] in _CANTONESE_REGIONS:
            return LANGUAGES["yue"]
        if base is not None:
            return base
    raise UnknownLanguageError(_supported_message(code_or_alias), code_or_alias)


def parse_languages(spec: str | Iterable[str]) -> tuple[Language, ...]:
    """Parse a comma-separated list ("zh,ko,ja") or an iterable of codes into Languages, in the order given.

    Raises LanguageListError for an empty list, an empty item, or the same language named twice (zh,zh-CN),
    and UnknownLanguageError for an unknown code.
    """
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    if not any(isinstance(item, str) and item.strip() for item in items):
        raise LanguageListError(f"empty language list {spec!r}: name at least one of {', '.join(CODES)}", spec)
    seen: dict[str, str] = {}
    result: list[Language] = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise LanguageListError(f"empty item in language list {spec!r}", spec)
        lang = get_language(item)
        if lang.code in seen:
            raise LanguageListError(
                f"language list {spec!r} names {lang.code} twice ({seen[lang.code]!r} and {item.strip()!r})", spec)
        seen[lang.code] = item.strip()
        result.append(lang)
    return tuple(result)


def whisper_language(lang: str | Language, model_supports_yue: bool) -> str:
    """Whisper's `language=` for this language: Cantonese is "yue" only when the model has that token, else "zh"."""
    language = get_language(lang)
    return language.whisper_code if model_supports_yue else language.whisper_fallback
