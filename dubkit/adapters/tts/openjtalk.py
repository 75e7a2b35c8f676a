"""The Japanese voice: OpenJTalk from pyopenjtalk-plus (bundled dictionary and HTS voice `mei_normal`)."""
from __future__ import annotations

import threading

import numpy as np

from dubkit.adapters import package_version
from dubkit.adapters.tts.base import Speech, TTSError, check_text


class OpenJTalkVoice:
    """OpenJTalk HTS synthesis, 48,000 Hz mono; reads kanji and kana directly."""

    name = "openjtalk:mei_normal"

    def __init__(self) -> None:
        import pyopenjtalk  # noqa: F401  (fail here, at construction, if the package is missing)

        self._lock = threading.Lock()  # pyopenjtalk keeps one global OpenJTalk/HTS instance

    def identity(self) -> dict[str, str]:
        return {"voice": self.name, "pyopenjtalk-plus": package_version("pyopenjtalk-plus")}

    def synthesize(self, text: str) -> Speech:
        """Speak Japanese `text`; raises TTSError on empty text or silent output."""
        import pyopenjtalk

        text = check_text(self.name, text)
        with self._lock:
            wav, rate = pyopenjtalk.tts(text)
        wav = np.asarray(wav, dtype=np.float64)  # int16-scaled floats whose peaks can pass 32767
        peak = float(np.abs(wav).max()) if wav.size else 0.0
        if peak < 1.0:
            raise TTSError(f"OpenJTalk ({self.name}) produced no audio for {text!r}")
        samples = wav / max(32768.0, peak / 0.95)  # scale down rather than clip loud peaks
        return Speech(samples=samples.astype(np.float32), sample_rate=int(rate), voice=self.name)
