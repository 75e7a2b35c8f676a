"""The one faster-whisper adapter: load a Whisper model once, transcribe audio into a `Transcript`.

Everything else in dubkit talks to `Recognizer`; nothing else imports faster_whisper.
"""
from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import ctranslate2
import numpy as np

from eval.errors import EvalError
from eval.types import Transcript, TranscriptSegment, Word
from eval.whisper_models import resolve_model
from langs import Language, get_language, whisper_language

SAMPLE_RATE = 16_000  # what Whisper's feature extractor expects
DECODE_SEED = 0  # seeds the temperature-fallback sampling, so a transcript is a function of the audio


class Recognizer:
    """A loaded Whisper model: build it once and reuse it for every clip (one call at a time).

    The Silero VAD bundled in faster-whisper is always on: it keeps Whisper from inventing text in
    silence. Word timestamps (an extra alignment pass) are on unless a caller says it does not use
    them: the gate on a window scores the window's lines as one text and needs none. `cpu_threads`
    0 means one thread per core this process may use (CTranslate2's own default ignores the core count).
    """

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        device: str = "cpu",
        compute_type: str = "int8",
        cpu_threads: int = 0,
        beam_size: int = 5,
        vad: bool = True,
        models_dir: Path | None = None,
    ) -> None:
        # Imported here so that `import eval` stays cheap for code that only scores.
        from faster_whisper import WhisperModel

        resolved = resolve_model(model, models_dir)
        cpu_threads = cpu_threads or usable_cores()
        self.name = resolved.name
        self.path = resolved.path
        self.beam_size = beam_size
        self.vad = vad
        try:
            self._model = WhisperModel(
                str(resolved.path), device=device, compute_type=compute_type, cpu_threads=cpu_threads
            )
        except (RuntimeError, ValueError, OSError) as err:
            raise EvalError(f"cannot load ASR model {resolved.path}: {err}") from err
        # Only large-v3-style vocabularies have a Cantonese token; base would reject "yue".
        self.supports_yue = self._model.hf_tokenizer.token_to_id("<|yue|>") is not None
        self.multilingual = bool(self._model.model.is_multilingual)

    def whisper_code(self, language: Language | str) -> str:
        """The Whisper language code this model is forced to for `language`."""
        lang = language if isinstance(language, Language) else get_language(language)
        code = whisper_language(lang, self.supports_yue)
        if not self.multilingual and code != "en":
            raise EvalError(
                f"ASR model {self.name} is English-only and cannot transcribe {lang.code!r}"
            )
        return code

    def transcribe(
        self, audio: np.ndarray | str | Path, language: Language | str | None = None, *, words: bool = True
    ) -> Transcript:
        """Transcribe 16 kHz mono float32 samples (or a media file) with the language forced.

        `language=None` lets Whisper detect it. Silence gives a Transcript with no segments.
        `words=False` skips word timestamps (segments then carry no words; the text is the same).
        """
        code = self.whisper_code(language) if language is not None else None
        if isinstance(audio, np.ndarray):
            samples = np.ascontiguousarray(audio, dtype=np.float32)
            if samples.ndim != 1:
                raise EvalError(
                    f"audio for transcription must be mono (1-D) samples, got shape {samples.shape}"
                )
        else:
            from faster_whisper import decode_audio

            try:
                samples = decode_audio(str(audio), sampling_rate=SAMPLE_RATE)
            except Exception as err:  # PyAV raises a zoo of error types for unreadable input
                raise EvalError(f"cannot decode audio from {audio}: {err}") from err
        duration = len(samples) / SAMPLE_RATE
        if len(samples) == 0:
            return Transcript(language=code or "", duration=0.0, segments=(), model=self.name)
        # Whisper falls back to sampling at temperature > 0 when greedy/beam output looks degenerate;
        # a fixed seed per call makes the same audio always give the same transcript (reproducible gates).
        ctranslate2.set_random_seed(DECODE_SEED)
        segments, info = self._model.transcribe(
            samples,
            language=code,
            beam_size=self.beam_size,
            word_timestamps=words,
            vad_filter=self.vad,
            condition_on_previous_text=False,  # stops one misheard line from steering the next
        )
        typed = tuple(_segment(s) for s in segments)  # the generator runs the decoding
        return Transcript(
            language=code or info.language, duration=duration, segments=typed, model=self.name
        )


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity), at least one."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@cache
def shared_recognizer(model: str | Path | None = None, models_dir: Path | None = None) -> Recognizer:
    """One loaded Recognizer per (model, models folder) for the whole process (never evicted: a process
    uses one or two models, and reloading one in the middle of a job costs seconds).

    Jobs use it so that many evaluations in one process (the pipeline's gate loop, a test session)
    load Whisper once. Callers must not use it from two threads at once.
    """
    return Recognizer(model, models_dir=models_dir)


def _segment(segment) -> TranscriptSegment:
    words = tuple(
        Word(text=w.word, start=float(w.start), end=float(w.end), probability=float(w.probability))
        for w in (segment.words or ())
    )
    return TranscriptSegment(
        start=float(segment.start), end=float(segment.end), text=segment.text, words=words
    )


def speech_spans(
    samples: np.ndarray, *, min_silence: float = 0.25, pad: float = 0.05, min_speech: float = 0.2
) -> list[tuple[float, float]]:
    """(start, end) seconds of speech in 16 kHz mono samples, from the Silero VAD bundled in faster-whisper.

    Diarization uses it with short pauses (`min_silence`) so that a change of speaker after a breath
    starts a new span; padding is kept small so spans do not swallow the next speaker's first word.
    """
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    samples = np.ascontiguousarray(samples, dtype=np.float32)
    if samples.ndim != 1:
        raise EvalError(f"audio for voice activity detection must be mono, got shape {samples.shape}")
    options = VadOptions(
        min_silence_duration_ms=round(min_silence * 1000),
        speech_pad_ms=round(pad * 1000),
        min_speech_duration_ms=round(min_speech * 1000),
    )
    stamps = get_speech_timestamps(samples, options, sampling_rate=SAMPLE_RATE)
    return [(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in stamps]


class LazyRecognizer:
    """A recogniser whose identity is known now and whose model loads on first use.

    A resumed job whose recognitions and verdicts are all cached never loads Whisper; its cache keys
    still need the model's name. Give `recognizer` to wrap one that is already loaded.
    """

    def __init__(self, model: str | Path | None = None, *, recognizer: Recognizer | None = None) -> None:
        self._model = model
        self._loaded = recognizer
        self.name = recognizer.name if recognizer is not None else resolve_model(model).name

    def get(self) -> Recognizer:
        """The loaded recogniser (shared per process, see shared_recognizer)."""
        if self._loaded is None:
            self._loaded = shared_recognizer(self._model)
        return self._loaded

    def transcribe(self, audio, language: Language | str | None, *, words: bool = True) -> Transcript:
        """As Recognizer.transcribe, loading the model the first time."""
        return self.get().transcribe(audio, language, words=words)
