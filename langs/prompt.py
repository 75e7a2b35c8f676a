"""How a dialogue line is written inside a MagiHuman prompt (MAGIHUMAN.md §11).

The model's prompts write Chinese, Japanese and Korean speech with one space between every character, in the
inline quote and in the `Dialogue:` section ("你 好"), punctuation attached to its character. Other languages are
written normally. The speaker tag's language name is `Language.prompt_name`.
"""
from __future__ import annotations

import re
import unicodedata

from langs.errors import LanguageError
from langs.registry import Language, get_language

_WHITESPACE = re.compile(r"\s+")


def _is_cjk_char(char: str) -> bool:
    cp = ord(char)
    return (0x3040 <= cp <= 0x30FF  # hiragana, katakana (incl. ー)
            or 0x31F0 <= cp <= 0x31FF  # katakana phonetic extensions
            or 0x3400 <= cp <= 0x4DBF or 0x4E00 <= cp <= 0x9FFF or 0xF900 <= cp <= 0xFAFF  # Han
            or 0x20000 <= cp <= 0x3134F  # Han extensions B-G
            or 0xAC00 <= cp <= 0xD7A3  # Hangul syllables
            or 0x1100 <= cp <= 0x11FF or 0x3130 <= cp <= 0x318F  # Hangul jamo
            or cp in (0x3005, 0x3006, 0x3007)  # 々 〆 〇
            or 0xFF66 <= cp <= 0xFF9F)  # half-width katakana


def _is_punct(char: str) -> bool:
    # Punctuation only: symbols ($ € + °) belong to the number or word they stand by ("$9.99" stays whole).
    return unicodedata.category(char)[0] == "P"


def _opens(char: str) -> bool:
    """Opening brackets and quotes belong to the character after them."""
    return unicodedata.category(char) in ("Ps", "Pi")


def _smart_quotes(text: str) -> str:
    """ASCII double quotes would end the prompt's quoted line early; use typographic ones, alternating."""
    parts = text.split('"')
    return "".join(part + ("\u201c" if i % 2 == 0 else "\u201d") for i, part in enumerate(parts[:-1])) + parts[-1]


def _space_cjk(text: str) -> str:
    tokens: list[str] = []
    word = ""  # a run of non-CJK letters/digits ("iPhone", "2024") stays one token
    prefix = ""  # opening punctuation waiting for the next token
    for i, char in enumerate(text):
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if char.isspace():
            if word:
                tokens.append(prefix + word)
                word, prefix = "", ""
        elif _is_cjk_char(char):
            if word:
                tokens.append(prefix + word)
                word, prefix = "", ""
            tokens.append(prefix + char)
            prefix = ""
        elif _is_punct(char):
            if word and nxt and not nxt.isspace() and not _is_punct(nxt) and not _is_cjk_char(nxt):
                word += char  # inside a Latin word or number: "don't", "3.5", "e-mail"
            elif _opens(char):
                if word:
                    tokens.append(prefix + word)
                    word = ""
                prefix += char
            elif word:
                word += char
            elif tokens:
                tokens[-1] += char  # closing punctuation stays attached to the character before it
            else:
                prefix += char
        else:
            word += char
    if word or prefix:
        tokens.append(prefix + word)
    return " ".join(tokens)


def format_dialogue(text: str, lang: str | Language) -> str:
    """A spoken line as the MagiHuman prompt writes it: CJK spaced per character, others unchanged.

    Line breaks and runs of whitespace become one space; ASCII double quotes become typographic quotes so the
    line can sit inside the prompt's "..." quote. Raises LanguageError for a non-string or a blank line.
    """
    language = get_language(lang)
    if not isinstance(text, str):
        raise LanguageError(f"dialogue line must be a string, got {text!r}", text)
    line = _smart_quotes(_WHITESPACE.sub(" ", text).strip())
    if not line:
        raise LanguageError(f"dialogue line {text!r} is blank: there is nothing to say", text)
    return _space_cjk(line) if language.cjk else line
