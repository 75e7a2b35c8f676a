"""The `preview` engine: an offline voice-over of the translated lines, original frames kept.

For each line of a window it synthesises speech with the language's best packaged voice
(`dubkit.adapters.tts.voice_for`), places it at the cue's start relative to the window, and speeds it up
(pitch kept) just enough to fit the cue, never past the language's max factor and never slower
than spoken: short lines are left as they are (users hate stretched speech). Speech that still does
not fit is reported as overrun; what would run past the window's end is cut with a short fade.
With a voice track for the language (a human voice actor), the window's slice of that recording is the
speech instead: the preview then lets a user check the actor's take, the mix and the gate before a GPU run.
Its output is a preview everywhere: `is_preview`, `info["preview"]`, and the assembled files say so.
"""
from __future__ import annotations

from typing import Any, Callable

import librosa
import numpy as np

from dubkit.adapters import package_version
from dubkit.adapters.audio import resample, time_slice
from dubkit.adapters.tts import VOICE_PACKAGES, Voice, voice_for, voice_name
from dubkit.engines.base import WindowRender, WindowRequest
from dubkit.errors import ScriptError
from langs import LANGUAGES, MAX_SPEED_FACTOR, Language

SAMPLE_RATE = 48_000
LINE_RMS_DBFS = -20.0  # voices differ by ~10 dB; level each line before the mix so none is buried
FADE_S = 0.02  # fade where speech is cut at the window's end, so the cut does not click
TRIM_DB = 40  # voices pad lines with silence (OpenJTalk ~0.3 s each side); fit the spoken part only


def fit_speech(
    samples: np.ndarray, sample_rate: int, available: float, max_factor: float
) -> tuple[np.ndarray, float, float]:
    """Speed speech up (pitch kept) to fit `available` seconds, by a factor in [1, max_factor].

    Returns (samples, factor, overrun_seconds). Speech that already fits is returned unchanged
    (factor 1.0): short lines are never stretched or slowed.
    """
    if max_factor < 1.0:
        raise ValueError(f"max_factor must be >= 1, got {max_factor}")
    duration = len(samples) / sample_rate
    if available <= 0 or duration <= available:
        return samples, 1.0, max(0.0, duration - max(available, 0.0))
    factor = min(duration / available, max_factor)
    fitted = librosa.effects.time_stretch(samples.astype(np.float32), rate=factor)
    return fitted.astype(np.float32), factor, max(0.0, len(fitted) / sample_rate - available)


def _level(samples: np.ndarray) -> np.ndarray:
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
    if rms < 1e-6:
        return samples
    gain = 10 ** (LINE_RMS_DBFS / 20) / rms
    peak = float(np.abs(samples).max()) * gain
    if peak > 0.98:  # keep peaks below full scale rather than clip
        gain *= 0.98 / peak
    return (samples * gain).astype(np.float32)


class PreviewEngine:
    """CPU voice-over engine (implements dubkit.engines.base.Engine). Frames are never generated."""

    name = "preview"
    is_preview = True
    uses_seed = False  # the voice is deterministic: a retry with another seed would say the same

    def __init__(
        self,
        sample_rate: int = SAMPLE_RATE,
        voices: Callable[[Language], Voice] = voice_for,
        max_factor: float = MAX_SPEED_FACTOR,
    ) -> None:
        self.sample_rate = sample_rate
        self._voices = voices
        self._max_factor = float(max_factor)  # the most a line is sped up: one figure for every language

    def identity(self) -> dict[str, Any]:
        """Engine name, voice per language, fitting method and the package versions behind the sound."""
        languages = list(LANGUAGES.values())
        return {
            "engine": self.name,
            "preview": True,
            "sample_rate": self.sample_rate,
            "voices": {lang.code: voice_name(lang) for lang in languages},
            "max_speed": self._max_factor,
            "fit": "librosa.effects.time_stretch (phase vocoder), speed-up only",
            "resample": "scipy.signal.resample_poly (dubkit.adapters.audio)",
            "line_rms_dbfs": LINE_RMS_DBFS,
            "packages": {p: package_version(p) for p in (*VOICE_PACKAGES, "librosa", "scipy")},
        }

    def render(self, request: WindowRequest) -> WindowRender:
        """Voice-over of `request.lines`, mono float32 covering exactly the window; frames=None."""
        if request.voice_track is not None:
            return self._voice_track(request)
        n_total = max(0, round(request.duration * self.sample_rate))
        audio = np.zeros(n_total, np.float32)
        max_factor = self._max_factor
        voice = self._voices(request.language) if request.lines else None
        lines_info: list[dict[str, Any]] = []
        cursor = 0.0  # end of the previous line's speech, window-relative seconds
        for cue in sorted(request.lines, key=lambda c: (c.start is None, c.start)):
            if not cue.timed:
                raise ScriptError(f"window {request.index}: line {cue.text!r} has no start/end time")
            start_rel = max(cue.start - request.start, 0.0, cursor)
            end_rel = min(cue.end - request.start, request.duration)
            speech = voice.synthesize(cue.text)
            spoken, _ = librosa.effects.trim(speech.samples, top_db=TRIM_DB)
            samples = resample(spoken, speech.sample_rate, self.sample_rate)
            fitted, factor, _ = fit_speech(samples, self.sample_rate, end_rel - start_rel, max_factor)
            fitted = _level(fitted)
            begin = round(start_rel * self.sample_rate)
            take = min(len(fitted), n_total - begin)
            truncated = (len(fitted) - take) / self.sample_rate
            if take > 0:
                piece = fitted[:take].copy()
                if truncated > 0:
                    fade = min(take, round(FADE_S * self.sample_rate))
                    piece[take - fade :] *= np.linspace(1, 0, fade, dtype=np.float32)
                audio[begin : begin + take] += piece
            speech_end = start_rel + len(fitted) / self.sample_rate
            cursor = speech_end
            lines_info.append({
                "text": cue.text,
                "start": cue.start,
                "end": cue.end,
                "placed_at": request.start + start_rel,
                "speech_s": round(len(samples) / self.sample_rate, 3),
                "fitted_s": round(len(fitted) / self.sample_rate, 3),
                "speed": round(factor, 4),
                "overrun_s": round(max(0.0, speech_end - end_rel), 3),
                "truncated_s": round(truncated, 3),
            })
        info = {
            "engine": self.name,
            "preview": True,
            "language": request.language.code,
            "voice": voice.name if voice else voice_name(request.language),
            "speed_max": max_factor,
            "speed": max((l["speed"] for l in lines_info), default=1.0),
            "overrun_s": round(sum(l["overrun_s"] for l in lines_info), 3),
            "truncated_s": round(sum(l["truncated_s"] for l in lines_info), 3),
            "lines": lines_info,
        }
        return WindowRender(audio=np.clip(audio, -1, 1)[:, None], sample_rate=self.sample_rate, info=info)

    def _voice_track(self, request: WindowRequest) -> WindowRender:
        """The window's slice of the supplied recording, mono, zero-padded past the recording's end."""
        from dubkit.adapters.av import read_audio

        track = read_audio(request.voice_track, sample_rate=self.sample_rate, mono=True)
        piece = time_slice(track, self.sample_rate, request.start, request.end)
        info = {"engine": self.name, "preview": True, "language": request.language.code,
                "voice": f"voice track {request.voice_track.name}", "speed": 1.0, "overrun_s": 0.0,
                "truncated_s": 0.0, "lines": [{"text": c.text, "start": c.start, "end": c.end} for c in request.lines]}
        return WindowRender(audio=piece[:, None], sample_rate=self.sample_rate, info=info)
