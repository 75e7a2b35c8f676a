"""The prompt format daVinci-MagiHuman was trained on (docs/model.md §Prompt).

A prompt has three paragraphs separated by a blank line:

1. an English description (appearance, facial and lip motion, vocal delivery, camera), written by the caller;
2. ``Dialogue:`` then one line per utterance, ``<speaker description, Language>: "line"``;
3. ``Background Sound:`` then ``<description>`` of the most prominent background sound, or
   ``<No prominent background sound>``.

Chinese, Japanese and Korean lines are written with one space between characters; punctuation stays attached
to the character before it (opening brackets and quotes to the one after it). The unconditional CFG branch uses
the fixed negative prompt below, not an empty prompt.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from model.errors import ModelError

# The prompt names languages in plain English (README/paper list; examples use Mandarin, Korean, German).
LANGUAGES = ("Mandarin", "Cantonese", "English", "Japanese", "Korean", "German", "French")
CJK_LANGUAGES = frozenset({"Mandarin", "Cantonese", "Japanese", "Korean"})
NO_BACKGROUND_SOUND = "No prominent background sound"

# The official pipeline's negative prompt for the unconditional branch (1,719 characters, verbatim).
NEGATIVE_PROMPT = (
    "Bright tones, overexposed, static, blurred details, subtitles, style, works, paintings, images, "
    "static, overall gray, worst quality, low quality, JPEG compression residue, ugly, incomplete, extra "
    "fingers, poorly drawn hands, poorly drawn faces, deformed, disfigured, misshapen limbs, fused "
    "fingers, still picture, messy background, three legs, many people in the background, walking "
    "backwards, low quality, worst quality, poor quality, noise, background noise, hiss, hum, buzz, "
    "crackle, static, compression artifacts, MP3 artifacts, digital clipping, distortion, muffled, muddy,"
    " unclear, echo, reverb, room echo, over-reverberated, hollow sound, distant, washed out, harsh, "
    "shrill, piercing, grating, tinny, thin sound, boomy, bass-heavy, flat EQ, over-compressed, abrupt "
    "cut, jarring transition, sudden silence, looping artifact, music, instrumental, sirens, alarms, "
    "crowd noise, unrelated sound effects, chaotic, disorganized, messy, cheap sound, emotionless, flat "
    "delivery, deadpan, lifeless, apathetic, robotic, mechanical, monotone, flat intonation, undynamic, "
    "boring, reading from a script, AI voice, synthetic, text-to-speech, TTS, insincere, fake emotion, "
    "exaggerated, overly dramatic, melodramatic, cheesy, cringey, hesitant, unconfident, tired, weak "
    "voice, stuttering, stammering, mumbling, slurred speech, mispronounced, bad articulation, lisp, "
    "vocal fry, creaky voice, mouth clicks, lip smacks, wet mouth sounds, heavy breathing, audible "
    "inhales, plosives, p-pops, coughing, clearing throat, sneezing, speaking too fast, rushed, speaking "
    "too slow, dragged out, unnatural pauses, awkward silence, choppy, disjointed, multiple speakers, two"
    " voices, background talking, out of tune, off-key, autotune artifacts"
)


# (first, last) code points of the scripts written one character at a time.
_CJK_RANGES = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3130, 0x318F),  # Hangul Compatibility Jamo
    (0x31F0, 0x31FF),  # Katakana Phonetic Extensions
    (0x3400, 0x4DBF),  # CJK Extension A
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0xAC00, 0xD7AF),  # Hangul Syllables
    (0xF900, 0xFAFF),  # CJK Compatibility Ideographs
    (0xFF66, 0xFF9F),  # Halfwidth Katakana
    (0x20000, 0x3FFFF),  # CJK Extensions B and later
)


class PromptError(ModelError, ValueError):
    """A prompt part cannot be written in the model's format (the message names the bad value)."""


@dataclass(frozen=True)
class Utterance:
    """One spoken line: who says it (≈5-word description or a name), in which language, and the words."""

    speaker: str
    language: str
    text: str


def is_cjk_char(ch: str) -> bool:
    """True for a Han, kana or Hangul character (written with spaces around it)."""
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


def _is_punctuation(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


def _opens(ch: str) -> bool:
    return unicodedata.category(ch) in ("Ps", "Pi")  # opening bracket / initial quote


def space_cjk(text: str) -> str:
    """Write CJK text with one space between characters: "你好，世界！" -> "你 好， 世 界！".

    Runs of other characters (Latin words, digits) stay whole; existing whitespace becomes one space;
    punctuation is attached to the preceding token, opening brackets/quotes (and punctuation that starts the
    text) to the following one. Symbols ($ € ° +) are not punctuation: "$9.99" and "25°C" stay whole.
    Spacing a spaced text again changes nothing.
    """
    tokens: list[str] = []
    pending_open = ""  # opening punctuation waiting for the next token
    in_word = False  # the last token is a non-CJK run that the next non-CJK character extends
    for ch in text:
        if ch.isspace():
            in_word = False
        elif _opens(ch):
            pending_open += ch
            in_word = False
        elif _is_punctuation(ch):
            if pending_open or not tokens:
                pending_open += ch  # nothing before it on the line: it belongs to what follows
            else:
                tokens[-1] += ch
        elif is_cjk_char(ch):
            tokens.append(pending_open + ch)
            pending_open, in_word = "", False
        elif in_word and not pending_open:
            tokens[-1] += ch
        else:
            tokens.append(pending_open + ch)
            pending_open, in_word = "", True
    if pending_open:
        tokens.append(pending_open)
    return " ".join(tokens)


def clean_line(text: str) -> str:
    """A spoken line ready to sit inside the prompt's "..." quote: runs of whitespace (line breaks too) become one
    space, and ASCII double quotes, which would end the quote early, become typographic ones, alternating
    opening and closing. Raises PromptError for a non-string or a blank line."""
    if not isinstance(text, str):
        raise PromptError(f"dialogue line must be a string, got {text!r}")
    line = " ".join(text.split())
    if not line:
        raise PromptError(f"dialogue line {text!r} is blank: there is nothing to say")
    parts = line.split('"')
    return "".join(part + ("\u201c" if i % 2 == 0 else "\u201d") for i, part in enumerate(parts[:-1])) + parts[-1]


def space_line(text: str, language: str) -> str:
    """`text` as the prompt writes it for `language` (a name in LANGUAGES), in the inline quote and in the
    ``Dialogue:`` paragraph alike: CJK languages spaced per character (space_cjk), others unchanged."""
    _check_language(language)
    return space_cjk(text) if language in CJK_LANGUAGES else text


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise PromptError(f"language {language!r} is not one the model speaks; use one of {', '.join(LANGUAGES)}")


def format_utterance(utterance: Utterance) -> str:
    """One ``Dialogue:`` line: ``<speaker, Language>: "line"`` (CJK lines spaced per character)."""
    speaker, text = utterance.speaker.strip(), utterance.text.strip()
    _check_language(utterance.language)
    if not speaker or any(c in speaker for c in "<>\n"):
        raise PromptError(f"speaker description {utterance.speaker!r} must be non-empty, one line, without < or >")
    if not text or "\n" in text or '"' in text:
        raise PromptError(f"dialogue line {utterance.text!r} must be non-empty, one line, without double quotes")
    return f'<{speaker}, {utterance.language}>: "{space_line(text, utterance.language)}"'


def build_prompt(
    description: str,
    dialogue: Sequence[Utterance],
    background_sound: str | None = None,
) -> str:
    """Assemble the full prompt: description, ``Dialogue:`` paragraph, ``Background Sound:`` paragraph.

    `description` is used as written (the caller quotes the lines inline where they are spoken). With no
    utterances the ``Dialogue:`` paragraph is left out. `background_sound` is the bare description (no angle
    brackets); None means ``<No prominent background sound>``.
    """
    description = description.strip()
    if not description:
        raise PromptError("prompt description is empty")
    for header in ("Dialogue:", "Background Sound:"):
        if header in description:
            raise PromptError(f"prompt description must not contain the section header {header!r}: {description!r}")
    sound = NO_BACKGROUND_SOUND if background_sound is None else background_sound.strip()
    if not sound or any(c in sound for c in "<>\n"):
        raise PromptError(f"background sound {background_sound!r} must be non-empty, one line, without < or >")
    paragraphs = [description]
    if dialogue:
        paragraphs.append("Dialogue:\n" + "\n".join(format_utterance(u) for u in dialogue))
    paragraphs.append(f"Background Sound:\n<{sound}>")
    return "\n\n".join(paragraphs)
