"""Burned-in subtitles: the font that covers the language, the style, the files libass reads.

The font is the one given (`--subtitle-font`) or the best installed sans-serif font fontconfig offers for
the language whose character map covers the text; without one the job stops before writing anything
(libass would draw empty boxes). Text sits bottom centre inside the title-safe area: 10 % of the width
from each side and 5 % of the height from the bottom (docs/delivery.md), at most two lines (the
subtitle rules wrap long cues; a cue that needs more is reported, not cut), in a size at which a full
line of the language fits the safe width.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from dubkit.adapters import ffmpeg
from dubkit.adapters.fonts import Font, find_font, font_file, missing_characters
from dubkit.adapters.subtitles import BurnInStyle, write_burn_in_ass
from dubkit.errors import InputError
from dubkit.stages.delivery.subtitle_rules import rules_for
from eval.types import Cue
from langs import Language

FONTCONFIG_LANG = {"zh": "zh-cn", "yue": "zh-hk", "ja": "ja", "ko": "ko", "en": "en", "de": "de", "fr": "fr"}
# Characters every font for the language must have, checked before the job starts (the translated text is
# checked again when it is known): common Han characters, kana, Hangul, the Latin letters with accents.
SCRIPT_SAMPLES = {
    "zh": "的一是不了人我在有这中大来上国个到说们为子和你地出道也时年，。",
    "yue": "嘅咗喺唔係佢哋冇乜嘢點樣，。",
    "ja": "あいうえおかきくけこアイウエオ日本語の文字、。",
    "ko": "가나다라마바사아자차카타파하한국어입니다",
    "en": "AaBbZz0123456789.,!?'",
    "de": "AaZzÄÖÜäöüß.,!?",
    "fr": "AaZzàâçéèêëîïôûùüÿœ.,!?",
}
FONT_SIZE = 0.055  # of the picture height: about 59 px at 1080 lines
# ...but small enough that a full line of the language fits the safe width (narrow and portrait pictures):
# average advance of a character, in ems (CJK full-width; Latin text measured at about a third, kept at 0.45)
CHAR_WIDTH_EM = {True: 1.0, False: 0.45}
MARGIN_BOTTOM = 0.05  # of the height
MARGIN_SIDES = 0.10  # of the width, each side


def choose_font(language: Language, given: Path | None, text: str = "") -> Font:
    """The font for `language`'s subtitles, covering the script sample and `text`; InputError naming the
    language (and the font given, and the characters it lacks) otherwise."""
    needed = SCRIPT_SAMPLES[language.code] + text
    if given is not None:
        font = font_file(given)
        missing = missing_characters(font.path, needed)
        if missing:
            raise InputError(f"--subtitle-font {given} does not cover {language.code} ({language.english_name}): "
                             f"no glyph for {missing[:12]!r}")
        return font
    font = find_font(FONTCONFIG_LANG[language.code], needed)
    if font is None:
        raise InputError(f"no installed font covers {language.code} ({language.english_name}) for burned-in "
                         "subtitles: install one (Debian/Ubuntu: apt install fonts-noto-cjk for zh, yue, ja, ko) "
                         "or give --subtitle-font FILE")
    return font


def style_for(font: Font, width: int, height: int, languages: Sequence[Language]) -> BurnInStyle:
    """The style for a `width` x `height` picture whose lines are in `languages` (two for bilingual cues)."""
    safe_width = (1 - 2 * MARGIN_SIDES) * width
    fits = min(safe_width / (rules_for(lang).chars_per_line * CHAR_WIDTH_EM[lang.cjk]) for lang in languages)
    return BurnInStyle(font=font.family, size=max(10, round(min(FONT_SIZE * height, fits))),
                       margin_v=round(MARGIN_BOTTOM * height), margin_h=round(MARGIN_SIDES * width),
                       width=width, height=height, outline=max(1.0, height / 360), shadow=max(0.5, height / 720))


def burn_in_files(cues: Sequence[Cue], font: Font, width: int, height: int, folder: Path,
                  languages: Sequence[Language]) -> ffmpeg.BurnIn:
    """In `folder` (a scratch folder): the styled ASS, a fonts folder holding only `font`, and the
    fontconfig file that makes libass see that font alone. `languages`: the languages of the lines."""
    burn = ffmpeg.BurnIn(Path(folder))
    fonts = Path(folder) / burn.fonts_name
    fonts.mkdir(parents=True, exist_ok=True)
    link = fonts / font.path.name
    try:
        os.symlink(font.path, link)
    except OSError:  # no symlinks on this filesystem: copy it
        shutil.copyfile(font.path, link)
    write_burn_in_ass(cues, Path(folder) / burn.ass_name, style_for(font, width, height, languages))
    ffmpeg.write_fontconfig(burn)
    return burn
