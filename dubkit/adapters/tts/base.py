"""What every packaged voice shares: the speech it returns, its error, its interface, text checks."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from dubkit.errors import DubkitError


class TTSError(DubkitError):
    """A voice could not synthesise a text (empty text, unknown voice, library failure)."""


@dataclass(frozen=True)
class Speech:
    """Synthesised speech: float32 mono samples in [-1, 1] at `sample_rate`, made by `voice`."""

    samples: np.ndarray  # (n,)
    sample_rate: int
    voice: str

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


class Voice(Protocol):
    """A packaged voice for one language."""

    name: str

    def identity(self) -> dict[str, str]:
        """Voice name and the versions of the packages that produce its sound."""
        ...

    def synthesize(self, text: str) -> Speech:
        """Speak `text`; raises TTSError for empty text or a synthesis failure."""
        ...


def check_text(voice: str, text: str) -> str:
    """Strip `text`; raise TTSError naming the voice when nothing speakable is left."""
    stripped = text.strip()
    if not stripped:
        raise TTSError(f"voice {voice}: empty text {text!r}; nothing to speak")
    return stripped
