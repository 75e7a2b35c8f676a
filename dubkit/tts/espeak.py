"""The one espeak-ng adapter: libespeak-ng 1.52 (from espeakng-loader) driven through ctypes.

espeak-ng keeps global state (one selected voice, one callback), so every call that touches the
library holds `_LOCK`. The library is initialised once per process in synchronous mode with the
package's own data folder, which makes `espeak_Synth` return only after all audio went through the
callback.
"""
from __future__ import annotations

import ctypes
import threading

import numpy as np

from dubkit.tts import Speech, TTSError, check_text, package_version

# From espeak-ng's speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EE_OK = 0
_RATE = 1  # espeakRATE parameter id

_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

_LOCK = threading.Lock()
_state: dict = {}  # "lib", "rate", "callback", "chunks" once initialised


def _library():
    """Load and initialise libespeak-ng once; caller holds _LOCK."""
    if "lib" in _state:
        return _state["lib"]
    import espeakng_loader

    try:
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        data = espeakng_loader.get_data_path()
    except (OSError, RuntimeError) as err:
        raise TTSError(f"espeak-ng library from espeakng-loader cannot be loaded: {err}") from err
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

    rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data.encode(), 0)
    if rate <= 0:
        raise TTSError(f"espeak-ng failed to initialise with data folder {data} (status {rate})")

    chunks: list[np.ndarray] = []

    def collect(wav, n, _events):  # called from inside espeak_Synth, on this thread
        if n > 0 and wav:
            chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0  # 0 = continue synthesis

    callback = _CALLBACK(collect)  # kept referenced in _state so ctypes does not free it
    lib.espeak_SetSynthCallback(callback)
    _state.update(lib=lib, rate=rate, callback=callback, chunks=chunks)
    return lib


def library_version() -> str:
    """The version string libespeak-ng reports (for identities), e.g. "1.52.0"."""
    with _LOCK:
        lib = _library()
        return lib.espeak_Info(None).decode()


class EspeakVoice:
    """One espeak-ng voice (`en-us`, `cmn`, `yue`, `ko`, `de`, `fr`, `ja`), 22,050 Hz mono.

    Japanese is converted to katakana with pyopenjtalk first: espeak-ng reads kana but not kanji.
    """

    def __init__(self, espeak_voice: str, words_per_minute: int = 175) -> None:
        self.espeak_voice = espeak_voice
        self.words_per_minute = words_per_minute
        self.name = f"espeak-ng:{espeak_voice}"
        with _LOCK:
            lib = _library()
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
        with _LOCK:
            lib = _library()
            chunks: list[np.ndarray] = _state["chunks"]
            chunks.clear()
            if lib.espeak_SetVoiceByName(self.espeak_voice.encode()) != _EE_OK:
                raise TTSError(f"espeak-ng has no voice named {self.espeak_voice!r}")
            lib.espeak_SetParameter(_RATE, self.words_per_minute, 0)
            # Fix espeak-ng's own random generator (noise sources). Note: its wave generator also
            # carries pitch-phase state from one call to the next, so the same text can come out a
            # few milliseconds different later in a process; renders are cached, not re-synthesised.
            lib.espeak_ng_SetRandSeed(0)
            status = lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            if status != _EE_OK:
                raise TTSError(f"espeak-ng ({self.name}) failed on {text!r} with status {status}")
            pcm = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
            chunks.clear()
            rate = _state["rate"]
        if pcm.size == 0:
            raise TTSError(f"espeak-ng ({self.name}) produced no audio for {text!r}")
        return Speech(samples=(pcm.astype(np.float32) / 32768.0), sample_rate=rate, voice=self.name)


def _to_kana(text: str) -> str:
    import pyopenjtalk

    kana = pyopenjtalk.g2p(text, kana=True)
    return kana if isinstance(kana, str) else "".join(kana)
