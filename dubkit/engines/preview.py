"""The `preview` engine: an offline voice-over of the translated lines, original frames kept.

For each line of a window it synthesises speech with the language's best packaged voice
(`dubkit.adapters.tts.voice_for`), places it at the cue's start relative to the window, and speeds it up
(pitch kept) just enough to fit the cue, never past the language's max factor and never slower
than spoken: short lines are left as they are (users hate stretched speech). Speech that still does
not fit is reported as overrun; what would run past the window's end is cut with a short fade.
With a voice track for the language (a human voice actor), the window's slice of that recording is the
speech instead: the preview then lets a user check the actor's take, the mix and the gate before a GPU run.
Its output is a preview everywhere: `is_preview`, `info["preview"]`, and the assembled files say so.

Several speakers (docs/speakers.md): each speaker gets a voice of their own, chosen from the job-wide
`speaker_pitch` (the median F0 of their source speech), so it is the same in every window: a male or
female register (espeak-ng's variant) and a target median F0, the speaker's own, moved up until it is
at least `MIN_APART_ST` semitones from every speaker before them. Each line is pitch-shifted so that
its median F0 lands on the target. Lines of different speakers may overlap; lines of one speaker are
placed one after another. A speaker with a recording of their own (`speaker_tracks`) is not synthesised:
the window's slice of their recording is mixed in instead.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import librosa
import numpy as np

from dubkit.adapters import package_version
from dubkit.adapters.audio import resample, to_mono
from dubkit.adapters.pitch import FEMALE_FROM_F0, median_f0, register_of
from dubkit.adapters.tts import VOICE_PACKAGES, Voice, voice_for, voice_name
from dubkit.engines.base import WindowRender, WindowRequest
from dubkit.errors import ScriptError
from langs import LANGUAGES, MAX_SPEED_FACTOR, Language

SAMPLE_RATE = 48_000
LINE_RMS_DBFS = -20.0  # voices differ by ~10 dB; level each line before the mix so none is buried
FADE_S = 0.02  # fade where speech is cut at the window's end, so the cut does not click
TRIM_DB = 40  # voices pad lines with silence (OpenJTalk ~0.3 s each side); fit the spoken part only
MIN_APART_ST = 3.0  # semitones between any two speakers' target F0
MAX_SHIFT_ST = 5.0  # never shift a line by more than a fourth: larger shifts garble it (docs/speakers.md)


@dataclass(frozen=True)
class SpeakerVoice:
    """The voice a speaker gets: a register of the language's voice and the median F0 to land on."""

    register: str  # "male" | "female"
    f0: float  # Hz


def speaker_voices(pitch: Mapping[str, float]) -> dict[str, SpeakerVoice]:
    """A distinct voice per speaker, in the order given (first appearance in the source)."""
    voices: dict[str, SpeakerVoice] = {}
    for speaker, f0 in pitch.items():
        target = float(f0)
        while any(abs(12 * math.log2(target / v.f0)) < MIN_APART_ST - 1e-9 for v in voices.values()):
            target *= 2 ** (MIN_APART_ST / 12)
        voices[speaker] = SpeakerVoice(register_of(f0), round(target, 1))
    return voices


def to_pitch(samples: np.ndarray, sample_rate: int, target_f0: float) -> tuple[np.ndarray, float]:
    """Speech pitch-shifted so its median F0 lands on `target_f0`; (samples, semitones moved)."""
    f0 = median_f0(samples, sample_rate)
    if f0 is None:
        return samples, 0.0
    steps = max(-MAX_SHIFT_ST, min(MAX_SHIFT_ST, 12 * math.log2(target_f0 / f0)))
    if abs(steps) < 0.25:
        return samples, 0.0
    shifted = librosa.effects.pitch_shift(samples.astype(np.float32), sr=sample_rate, n_steps=steps)
    return shifted.astype(np.float32), round(steps, 2)


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
    uses_reference = False  # a voice-over: the picture stays the source's

    def __init__(
        self,
        sample_rate: int = SAMPLE_RATE,
        voices: Callable[[Language], Voice] = voice_for,
        max_factor: float = MAX_SPEED_FACTOR,
    ) -> None:
        self.sample_rate = sample_rate
        self._voices = voices
        self._max_factor = float(max_factor)  # the most a line is sped up: one figure for every language

    def _voice(self, language: Language, register: str | None) -> Voice:
        return self._voices(language) if register is None else self._voices(language, register)  # type: ignore[call-arg]

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
            "speakers": {"female_from_f0": FEMALE_FROM_F0, "min_apart_st": MIN_APART_ST,
                         "max_shift_st": MAX_SHIFT_ST, "pitch": "librosa YIN median, librosa.effects.pitch_shift"},
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
        plan = speaker_voices(request.speaker_pitch)
        lines_info: list[dict[str, Any]] = []
        cursor: dict[str | None, float] = {}  # per speaker: end of their previous line, window-relative
        for cue in sorted(request.lines, key=lambda c: (c.start is None, c.start)):
            if not cue.timed:
                raise ScriptError(f"window {request.index}: line {cue.text!r} has no start/end time")
            if cue.speaker in request.speaker_tracks:
                lines_info.append({"text": cue.text, "start": cue.start, "end": cue.end, "speaker": cue.speaker,
                                   "voice": f"voice track {request.speaker_tracks[cue.speaker].name}"})
                continue
            start_rel = max(cue.start - request.start, 0.0, cursor.get(cue.speaker, 0.0))
            end_rel = min(cue.end - request.start, request.duration)
            line = self._line(request.language, cue, plan.get(cue.speaker or ""), end_rel - start_rel, max_factor)
            fitted = line.pop("samples")
            truncated = _mix_at(audio, fitted, round(start_rel * self.sample_rate), self.sample_rate)
            speech_end = start_rel + len(fitted) / self.sample_rate
            cursor[cue.speaker] = speech_end
            lines_info.append({
                "text": cue.text, "start": cue.start, "end": cue.end, "speaker": cue.speaker,
                "placed_at": request.start + start_rel, **line,
                "overrun_s": round(max(0.0, speech_end - end_rel), 3), "truncated_s": round(truncated, 3),
            })
        for track in request.speaker_tracks.values():
            piece = self._track_slice(track, request.start, request.end)[:n_total]
            audio[: len(piece)] += piece
        voices = {line["voice"] for line in lines_info}
        info = {
            "engine": self.name,
            "preview": True,
            "language": request.language.code,
            "voice": voices.pop() if len(voices) == 1 else (", ".join(sorted(voices)) or voice_name(request.language)),
            "speakers": {k: {"register": v.register, "f0": v.f0} for k, v in plan.items()},
            "speed_max": max_factor,
            "speed": max((line.get("speed", 1.0) for line in lines_info), default=1.0),
            "overrun_s": round(sum(line.get("overrun_s", 0.0) for line in lines_info), 3),
            "truncated_s": round(sum(line.get("truncated_s", 0.0) for line in lines_info), 3),
            "lines": lines_info,
        }
        return WindowRender(audio=np.clip(audio, -1, 1)[:, None], sample_rate=self.sample_rate, info=info)

    def _line(self, language: Language, cue, voice: SpeakerVoice | None, available: float,
              max_factor: float) -> dict[str, Any]:
        """One line spoken in the speaker's voice, trimmed, resampled, pitched and fitted to `available`."""
        speaker_voice = self._voice(language, voice.register if voice else None)
        speech = speaker_voice.synthesize(cue.text)
        spoken, _ = librosa.effects.trim(speech.samples, top_db=TRIM_DB)
        samples = resample(spoken, speech.sample_rate, self.sample_rate)
        shift = 0.0
        if voice is not None:
            samples, shift = to_pitch(samples, self.sample_rate, voice.f0)
        fitted, factor, _ = fit_speech(samples, self.sample_rate, available, max_factor)
        return {
            "samples": _level(fitted), "voice": speaker_voice.name, "pitch_shift_st": shift,
            "speech_s": round(len(samples) / self.sample_rate, 3),
            "fitted_s": round(len(fitted) / self.sample_rate, 3), "speed": round(factor, 4),
        }

    def _track_slice(self, track, start: float, end: float) -> np.ndarray:
        """[start, end) of a recording on the source timeline, mono, zero-padded past its end (read by seeking:
        a window of a long recording costs what the window costs)."""
        from dubkit.adapters.av import read_audio_span

        return to_mono(read_audio_span(track, start, end, self.sample_rate))

    def _voice_track(self, request: WindowRequest) -> WindowRender:
        """The window's slice of the supplied recording, mono, zero-padded past the recording's end."""
        piece = self._track_slice(request.voice_track, request.start, request.end)
        info = {"engine": self.name, "preview": True, "language": request.language.code,
                "voice": f"voice track {request.voice_track.name}", "speed": 1.0, "overrun_s": 0.0,
                "truncated_s": 0.0, "lines": [{"text": c.text, "start": c.start, "end": c.end, "speaker": c.speaker}
                                              for c in request.lines]}
        return WindowRender(audio=piece[:, None], sample_rate=self.sample_rate, info=info)


def _mix_at(audio: np.ndarray, speech: np.ndarray, begin: int, sample_rate: int) -> float:
    """Add `speech` into `audio` from sample `begin`; what runs past the end is cut with a short fade.
    Returns the seconds cut."""
    take = min(len(speech), len(audio) - begin)
    truncated = (len(speech) - max(take, 0)) / sample_rate
    if take > 0:
        piece = speech[:take].copy()
        if truncated > 0:
            fade = min(take, round(FADE_S * sample_rate))
            piece[take - fade :] *= np.linspace(1, 0, fade, dtype=np.float32)
        audio[begin : begin + take] += piece
    return truncated
