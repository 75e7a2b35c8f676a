"""The translator interface: lines in one language in, the same number of lines in another out.

Engines (`ctranslate2_engine`, `openai_engine`) implement `Translator`; the stage in
`dubkit.translate` only talks to this interface. An engine failure is a `TranslationError` that
carries the engine's own message; nothing here retries behind the user's back (brittle LLM steps
that silently burn tokens on retries are what users complain about).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from dubkit.errors import DubkitError, InputError
from langs import Language


class TranslationError(DubkitError):
    """A translator engine failed, or a language has no translation source.

    `engine` names the engine ("openai", "ctranslate2", or "" when no engine was involved) and
    `detail` is the engine's own message (HTTP body, parse error, library exception).
    """

    def __init__(self, message: str, *, engine: str = "", detail: str = "") -> None:
        super().__init__(message)
        self.engine = engine
        self.detail = detail


class GlossaryError(InputError):
    """A glossary file is missing, unparsable, or holds an invalid entry (named in the message)."""


@dataclass(frozen=True)
class TranslationResult:
    """One engine call: `lines[i]` translates `source_lines[i]` into `language`."""

    lines: tuple[str, ...]
    source_lines: tuple[str, ...]
    language: str  # target language code (langs)
    engine: str
    identity: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def __post_init__(self) -> None:
        # An internal invariant: engines validate their output before building a result.
        assert len(self.lines) == len(self.source_lines), "engine returned a different line count"


class Translator(Protocol):
    """A machine translation engine."""

    name: str
    # True when the engine copies placeholders such as {{T0}} through unchanged (LLMs told to);
    # the glossary then protects its terms with placeholders. NMT models mangle them, so False.
    keeps_placeholders: bool

    def identity(self) -> dict[str, Any]:
        """Everything besides the input that changes the output (model, options); JSON-able, it goes
        into cache keys and the report."""
        ...

    def translate(
        self, lines: Sequence[str], target: Language, source: Language | None = None
    ) -> TranslationResult:
        """Translate each line into `target`; one output line per input line, same order.

        Raises TranslationError (with the engine's message) on any failure.
        """
        ...
