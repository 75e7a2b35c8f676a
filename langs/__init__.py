"""The seven spoken languages of dubkit: registry, scoring normalisation, speaking rates.

Imports nothing from the rest of the project. Everything public is importable from here.
"""
from langs.duration import count_syllables, estimate_duration, pause_seconds, speaking_rate
from langs.errors import LanguageError, LanguageListError, UnknownLanguageError
from langs.normalize import normalize_for_scoring, scoring_units, to_simplified
from langs.numerals import number_to_words, spell_out_numerals
from langs.rates import DELIVERY_PACE, MAX_SPEED_FACTOR, RATES, SpeakingRate
from langs.registry import CODES, LANGUAGES, Language, get_language, parse_languages, whisper_language

__all__ = [
    "CODES", "DELIVERY_PACE", "LANGUAGES", "MAX_SPEED_FACTOR", "RATES",
    "Language", "LanguageError", "LanguageListError", "SpeakingRate", "UnknownLanguageError",
    "count_syllables", "estimate_duration", "get_language",
    "normalize_for_scoring", "number_to_words", "parse_languages", "pause_seconds", "scoring_units",
    "speaking_rate", "spell_out_numerals", "to_simplified", "whisper_language",
]
