"""The one espeak-ng adapter: libespeak-ng 1.52 (from espeakng-loader) driven through ctypes.

espeak-ng is global state in one shared library (one selected voice, one callback, and a wave
generator whose pitch phase carries over from one utterance to the next, so the same text comes out
slightly different each time). Every synthesis therefore runs in a fresh session under `_LOCK`:
load the library, initialise it in synchronous mode with the package's data folder, speak, then
terminate and unload it. A session costs a few milliseconds and makes the same text give the same
samples, which reproducible renders and a stable quality gate need.
"""
from __future__ import annotations

import _ctypes
import ctypes
import threading
from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator

import numpy as np

from dubkit.adapters import package_version
from dubkit.adapters.tts.base import Speech, TTSError, check_text

# From espeak-ng's speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EE_OK = 0
_RATE = 1  # espeakRATE parameter id

_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

_LOCK = threading.Lock()
_chunks: list[np.ndarray] = []  # filled by the callback during one espeak_Synth, under _LOCK


@_CALLBACK
def _collect(wav, n, _events):  # called from inside espeak_Synth, on the calling thread
    if n > 0 and wav:
        _chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
    return 0  # 0 = continue synthesis


def _declare(lib) -> None:
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
        ctypes.c_uint, ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p,
    ]
    lib.espeak_Synth.restype = ctypes.c_int
    lib.espeak_Info.argtypes = [ctypes.POINTER(ctypes.c_char_p)]
    lib.espeak_Info.restype = ctypes.c_char_p
    lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
    lib.espeak_ng_SetRandSeed.restype = None


@contextmanager
def _session() -> Iterator[tuple[ctypes.CDLL, int]]:
    """A freshly loaded, initialised library and its sample rate; unloaded afterwards. Holds _LOCK."""
    import espeakng_loader

    with _LOCK:
        try:
            lib = ctypes.CDLL(espeakng_loader.get_library_path())
            data = espeakng_loader.get_data_path()
        except (OSError, RuntimeError) as err:
            raise TTSError(f"espeak-ng library from espeakng-loader cannot be loaded: {err}") from err
        try:
            _declare(lib)
            rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data.encode(), 0)
            if rate <= 0:
                raise TTSError(f"espeak-ng failed to initialise with data folder {data} (status {rate})")
            lib.espeak_SetSynthCallback(_collect)
            lib.espeak_ng_SetRandSeed(0)  # its noise generator, for the same reason as the reload
            yield lib, rate
        finally:
            _chunks.clear()
            lib.espeak_Terminate()
            _ctypes.dlclose(lib._handle)  # drop the statics, so the next session starts clean


@lru_cache(maxsize=1)
def library_version() -> str:
    """The version string libespeak-ng reports (for identities), e.g. "1.52.0"."""
    with _session() as (lib, _):
        return lib.espeak_Info(None).decode()


class EspeakVoice:
    """One espeak-ng voice (`en-us`, `cmn`, `yue`, `ko`, `de`, `fr`, `ja`), 22,050 Hz mono.

    Japanese is converted to katakana with pyopenjtalk first: espeak-ng reads kana but not kanji.
    """

    def __init__(self, espeak_voice: str, words_per_minute: int = 175) -> None:
        self.espeak_voice = espeak_voice
        self.words_per_minute = words_per_minute
        self.name = f"espeak-ng:{espeak_voice}"
        with _session() as (lib, _):
            if lib.espeak_SetVoiceByName(espeak_voice.encode()) != _EE_OK:
                raise TTSError(f"espeak-ng has no voice named {espeak_voice!r}")

    def identity(self) -> dict[str, str]:
        return {
            "voice": self.name,
            "espeak-ng": library_version(),
            "espeakng-loader": package_version("espeakng-loader"),
            "words_per_minute": str(self.words_per_minute),
        }

    def synthesize(self, text: str) -> Speech:
        """Speak UTF-8 `text` with this voice; raises TTSError on empty text or a library failure."""
        text = check_text(self.name, text)
        if self.espeak_voice == "ja":
            text = _to_kana(text)
        data = text.encode("utf-8") + b"\0"
        with _session() as (lib, rate):
            if lib.espeak_SetVoiceByName(self.espeak_voice.encode()) != _EE_OK:
                raise TTSError(f"espeak-ng has no voice named {self.espeak_voice!r}")
            lib.espeak_SetParameter(_RATE, self.words_per_minute, 0)
            status = lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            if status != _EE_OK:
                raise TTSError(f"espeak-ng ({self.name}) failed on {text!r} with status {status}")
            pcm = np.concatenate(_chunks) if _chunks else np.zeros(0, np.int16)
        if pcm.size == 0:
            raise TTSError(f"espeak-ng ({self.name}) produced no audio for {text!r}")
        return Speech(samples=(pcm.astype(np.float32) / 32768.0), sample_rate=rate, voice=self.name)


def _to_kana(text: str) -> str:
    import pyopenjtalk

    kana = pyopenjtalk.g2p(text, kana=True)
    return kana if isinstance(kana, str) else "".join(kana)
