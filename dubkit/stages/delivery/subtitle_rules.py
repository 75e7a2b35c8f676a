"""Subtitle rules per language, and the check every delivered subtitle file goes through.

The figures are the per-language Netflix Timed Text Style Guides' (characters per line, adult reading
speed) and their general requirements (at most two lines, at least 5/6 s and at most 7 s on screen, two
frames between subtitles); docs/delivery.md lists them with their sources and the broadcast guides
beside them. A violation is a result for the report, never an exception.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType

from eval.types import Cue
from langs import Language

MAX_LINES = 2
MIN_DURATION = 5 / 6  # seconds (20 frames at 24 fps)
MAX_DURATION = 7.0
MIN_GAP_FRAMES = 2
_CJK_BREAKS = "，、。！？；：,.!?;: "


@dataclass(frozen=True)
class SubtitleRules:
    """One language's limits: characters per line and reading speed in characters per second."""

    chars_per_line: int
    chars_per_second: float
    source: str


RULES = MappingProxyType({
    "en": SubtitleRules(42, 20.0, "Netflix English (USA) Timed Text Style Guide"),
    "de": SubtitleRules(42, 17.0, "Netflix German Timed Text Style Guide"),
    "fr": SubtitleRules(42, 17.0, "Netflix French Timed Text Style Guide"),
    "zh": SubtitleRules(16, 9.0, "Netflix Simplified Chinese Timed Text Style Guide"),
    "yue": SubtitleRules(16, 9.0, "Netflix Traditional Chinese (Hong Kong) Timed Text Style Guide"),
    "ja": SubtitleRules(13, 4.0, "Netflix Japanese Timed Text Style Guide"),
    "ko": SubtitleRules(16, 12.0, "Netflix Korean Timed Text Style Guide"),
})


@dataclass(frozen=True)
class SubtitleViolation:
    """A cue that breaks a rule: which rule, the cue (1-based number in the file), the value and the limit."""

    rule: str  # "chars_per_line" | "reading_speed" | "min_duration" | "max_duration" | "min_gap" | "max_lines"
    cue: int
    start: float
    end: float
    text: str
    value: float
    limit: float

    @property
    def message(self) -> str:
        unit = {"chars_per_line": " characters", "reading_speed": " characters/s", "max_lines": " lines"}.get(
            self.rule, " s")
        more = self.rule not in ("min_duration", "min_gap")
        return (f"cue {self.cue} ({self.start:.2f}-{self.end:.2f} s) {self.rule.replace('_', ' ')}: "
                f"{self.value:.2f}{unit} {'>' if more else '<'} {self.limit:.2f}: {self.text!r}")


def rules_for(language: Language) -> SubtitleRules:
    return RULES[language.code]


def check_cues(cues: Sequence[Cue], language: Language, fps: float,
               line_languages: Sequence[Language] | None = None) -> tuple[SubtitleViolation, ...]:
    """Every rule broken by the timed `cues` of one subtitle file, in time order.

    `line_languages`: for bilingual files, the language of each line (target first); line lengths are
    checked against each line's own language, the reading speed on the first language's lines only."""
    rules = rules_for(language)
    min_gap = MIN_GAP_FRAMES / fps
    found: list[SubtitleViolation] = []
    timed = sorted((c for c in cues if c.timed), key=lambda c: c.start)
    for number, cue in enumerate(timed, 1):
        def hit(rule: str, value: float, limit: float, cue=cue, number=number) -> None:
            found.append(SubtitleViolation(rule, number, cue.start, cue.end, cue.text, value, limit))

        lines = cue.text.split("\n")
        langs = line_languages or [language] * len(lines)
        if len(lines) > MAX_LINES:
            hit("max_lines", len(lines), MAX_LINES)
        for line, lang in zip(lines, [*langs, *[language] * len(lines)], strict=False):
            if len(line.strip()) > rules_for(lang).chars_per_line:
                hit("chars_per_line", len(line.strip()), rules_for(lang).chars_per_line)
        duration = cue.end - cue.start
        spoken = "".join(lines[: len(lines) if line_languages is None else 1]).strip()
        if duration > 0 and len(spoken) / duration > rules.chars_per_second + 1e-9:
            hit("reading_speed", len(spoken) / duration, rules.chars_per_second)
        if duration < MIN_DURATION - 1e-6:
            hit("min_duration", duration, MIN_DURATION)
        if duration > MAX_DURATION + 1e-6:
            hit("max_duration", duration, MAX_DURATION)
        if number > 1 and 0 <= cue.start - timed[number - 2].end < min_gap - 1e-6:
            hit("min_gap", cue.start - timed[number - 2].end, min_gap)
    return tuple(found)


def wrap(text: str, language: Language) -> str:
    """A one-line cue longer than the language's line length, split into two balanced lines (at a space,
    or for unspaced scripts after punctuation, else in the middle). Text with line breaks is kept as the
    translator broke it; text too long for two lines stays too long and the check reports it."""
    limit = rules_for(language).chars_per_line
    text = text.strip()
    if "\n" in text or len(text) <= limit:
        return text
    breaks = [i + 1 for i, ch in enumerate(text[:-1]) if ch == " " or (language.cjk and ch in _CJK_BREAKS)]
    if not breaks:
        breaks = [len(text) // 2] if language.cjk else []
    if not breaks:
        return text
    at = min(breaks, key=lambda i: max(len(text[:i].strip()), len(text[i:].strip())))
    return f"{text[:at].strip()}\n{text[at:].strip()}"
