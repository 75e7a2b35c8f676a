"""Speaking-rate figures per language, with their sources, and the limit on speeding a line up to fit its window.

The figures are syllables per second of read speech with pauses longer than 150 ms removed (the protocol of
Pellegrino, Coupé & Marsico 2011), so they describe articulation, not pauses; `langs.duration` adds pause time
for punctuation on top. The unit is what `langs.duration.count_syllables` counts for that language.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

PELLEGRINO_2011 = (
    "Pellegrino, Coupé & Marsico (2011), 'A cross-language perspective on speech information rate', "
    "Language 87(3):539-558, Table: syllabic rate (SR) of read speech, pauses > 150 ms removed"
)
COUPE_2019 = (
    "Coupé, Oh, Dediu & Pellegrino (2019), 'Different languages, similar encoding efficiency', "
    "Science Advances 5(9):eaaw2594 (17 languages incl. Korean and Cantonese, same protocol)"
)

# The published rates come from brisk reading with pauses cut out. Deliberate delivery (an audiobook, recorded
# prompts, acted dialogue) is slower: measured on the 5 LibriVox lines of pocketsphinx-testdata (English), the
# speech span was 1/0.68 of the published-rate estimate (per line 0.55 to 0.76). DELIVERY_PACE is that fraction,
# rounded; the 184 longer French Asterisk prompts, not used to choose it, then come out at a median 0.94 of their
# measured span (tests/langs/test_duration_real_speech.py). Override per call for faster or slower voices.
DELIVERY_PACE = 0.70

# Dubbing practice: speech sped up by more than ~15% starts to sound rushed (dubbing users complain of
# "squeezed" lines: docs/languages.md §Speaking rates and duration estimates). Lines are never slowed down to
# fill a window (no stretching of short lines).
MAX_SPEED_FACTOR = 1.15


@dataclass(frozen=True)
class SpeakingRate:
    """How fast a language is spoken, in the units `count_syllables` counts for it.

    syllables_per_second: articulation rate (units/s, pauses excluded).
    unit: what one counted unit is ("syllable", "mora", "Han character", "Hangul block").
    source: the citation for the figure.
    is_estimate: True where no published figure for this language was available to us.
    """

    syllables_per_second: float
    unit: str
    source: str
    is_estimate: bool = False


RATES = MappingProxyType(
    {
        "zh": SpeakingRate(5.18, "Han character (one syllable each)", PELLEGRINO_2011),
        # Coupé et al. 2019 measured Cantonese, but its per-language table could not be retrieved here. Cantonese
        # is, like Mandarin, one syllable per character with high information per syllable (6 to 9 tones), so
        # it is put slightly above Mandarin. Marked as an estimate.
        "yue": SpeakingRate(
            5.5, "Han character (one syllable each)",
            "estimate: between Mandarin (5.18, Pellegrino 2011) and English; measured but not retrieved in "
            + COUPE_2019,
            is_estimate=True,
        ),
        "en": SpeakingRate(6.19, "syllable (vowel-group heuristic)", PELLEGRINO_2011),
        # Pellegrino et al. count syllables in Japanese too (not morae), so the estimator does: トーキョー is 2.
        "ja": SpeakingRate(7.84, "syllable (kana reading via OpenJTalk; ー ン ッ join the syllable before)",
                           PELLEGRINO_2011),
        # Korean: measured in Coupé et al. 2019, per-language value not retrieved here. Korean has a small syllable
        # inventory and moderate information per syllable, so it is put between English and French. Estimate.
        "ko": SpeakingRate(
            6.6, "Hangul block (one syllable each)",
            "estimate: between English (6.19) and French (7.18) of Pellegrino 2011; measured but not retrieved in "
            + COUPE_2019,
            is_estimate=True,
        ),
        "de": SpeakingRate(5.97, "syllable (vowel-group heuristic)", PELLEGRINO_2011),
        "fr": SpeakingRate(7.18, "syllable (vowel-group heuristic)", PELLEGRINO_2011),
    }
)
