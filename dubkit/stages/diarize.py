"""Diarization: who speaks when, offline (docs/speakers.md).

1. Speech spans from the Silero VAD bundled in faster-whisper (`eval.asr.speech_spans`), with short
   pauses (0.25 s) so that a change of speaker after a breath starts a new span.
2. Spans longer than `PIECE_S` are cut into equal pieces of at most that length, so one piece holds
   one speaker even when two speak without a pause between them.
3. Each piece is embedded by the Resemblyzer speaker encoder (`dubkit.adapters.speaker_encoder`).
4. Pieces of at least `MIN_CLUSTER_S` are clustered by scikit-learn's agglomerative clustering on
   cosine distance with average linkage; merging stops at `THRESHOLD` (the number of speakers is
   found) unless a count is given. Shorter pieces, whose embeddings are noisy, take the speaker of
   the nearest cluster centre.
5. Adjacent pieces of one speaker become one turn; speakers are named S1, S2 ... in order of first
   appearance.

`split_at_speakers` turns a Whisper transcript into cues that follow speaker changes, using word times.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dubkit.adapters.av import read_audio
from dubkit.adapters.speaker_encoder import (
    SAMPLE_RATE,
    SpeakerEncoder,
    normalize_volume,
)
from dubkit.errors import InputError
from eval.asr import speech_spans
from eval.types import Cue, Transcript, Word

PIECE_S = 1.5  # longest piece embedded as one speaker
MIN_CLUSTER_S = 0.6  # shorter pieces are labelled after clustering, by the nearest centre
THRESHOLD = 0.35  # average-linkage cosine distance at which clusters stop merging (docs/speakers.md)
TOUCH_S = 0.05  # pieces closer than this belong to one turn when their speaker is the same

_encoder: SpeakerEncoder | None = None


@dataclass(frozen=True)
class Turn:
    """One stretch of speech by one speaker, in seconds from the start of the media."""

    start: float
    end: float
    speaker: str


@dataclass(frozen=True)
class Diarization:
    """The turns of a recording in time order, and the speakers in order of first appearance."""

    turns: tuple[Turn, ...]
    speakers: tuple[str, ...]

    def speaker_between(self, start: float, end: float) -> str | None:
        """The speaker who talks longest inside [start, end]; the nearest turn's when none overlaps."""
        if not self.turns:
            return None
        talk: dict[str, float] = {}
        for t in self.turns:
            overlap = min(end, t.end) - max(start, t.start)
            if overlap > 0:
                talk[t.speaker] = talk.get(t.speaker, 0.0) + overlap
        if talk:
            return max(talk, key=lambda s: talk[s])
        mid = (start + end) / 2
        return min(self.turns, key=lambda t: max(t.start - mid, mid - t.end)).speaker


def shared_encoder() -> SpeakerEncoder:
    """One loaded speaker encoder per process (loading checks a 17 MB file's hash)."""
    global _encoder
    if _encoder is None:
        _encoder = SpeakerEncoder()
    return _encoder


def pieces_of(spans: list[tuple[float, float]], piece_s: float = PIECE_S) -> list[tuple[float, float]]:
    """Each span cut into the fewest equal pieces of at most `piece_s` seconds."""
    out = []
    for start, end in spans:
        n = max(1, math.ceil((end - start) / piece_s - 1e-9))
        step = (end - start) / n
        out += [(start + i * step, start + (i + 1) * step) for i in range(n)]
    return out


def cluster(embeddings: np.ndarray, durations: np.ndarray, speakers: int | None, threshold: float) -> np.ndarray:
    """A cluster index per embedding (see the module docstring, step 4)."""
    from sklearn.cluster import AgglomerativeClustering

    n = len(embeddings)
    if n == 0:
        return np.zeros(0, int)
    long = np.nonzero(durations >= MIN_CLUSTER_S)[0]
    core = long if len(long) >= max(2, speakers or 0) else np.arange(n)
    if len(core) < 2 or speakers == 1:
        return np.zeros(n, int)
    model = AgglomerativeClustering(
        n_clusters=min(speakers, len(core)) if speakers else None,
        distance_threshold=None if speakers else threshold,
        metric="cosine",
        linkage="average",
    )
    core_labels = model.fit_predict(embeddings[core])
    centres = np.stack([embeddings[core][core_labels == k].mean(0) for k in range(core_labels.max() + 1)])
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = np.argmax(embeddings @ centres.T, axis=1)
    labels[core] = core_labels
    return labels


def _turns(pieces: list[tuple[float, float]], labels: np.ndarray) -> tuple[Turn, ...]:
    """Adjacent pieces of one cluster joined; clusters renamed S1, S2 ... by first appearance."""
    names: dict[int, str] = {}
    turns: list[Turn] = []
    for (start, end), label in zip(pieces, labels):
        name = names.setdefault(int(label), f"S{len(names) + 1}")
        if turns and turns[-1].speaker == name and start - turns[-1].end <= TOUCH_S:
            turns[-1] = Turn(turns[-1].start, end, name)
        else:
            turns.append(Turn(start, end, name))
    return tuple(Turn(round(t.start, 3), round(t.end, 3), t.speaker) for t in turns)


def diarize(
    samples: np.ndarray,
    *,
    speakers: int | None = None,
    threshold: float = THRESHOLD,
    encoder: SpeakerEncoder | None = None,
) -> Diarization:
    """Who speaks when in 16 kHz mono `samples`; `speakers` fixes the count, else it is found."""
    if speakers is not None and speakers < 1:
        raise InputError(f"the number of speakers must be at least 1, got {speakers}")
    samples = np.asarray(samples, np.float32)
    pieces = pieces_of(speech_spans(samples))
    if not pieces:
        return Diarization(turns=(), speakers=())
    level = normalize_volume(samples)
    clips = [level[round(s * SAMPLE_RATE) : round(e * SAMPLE_RATE)] for s, e in pieces]
    embeddings = (encoder or shared_encoder()).embed(clips)
    durations = np.array([e - s for s, e in pieces])
    turns = _turns(pieces, cluster(embeddings, durations, speakers, threshold))
    return Diarization(turns=turns, speakers=tuple(dict.fromkeys(t.speaker for t in turns)))


def diarize_file(path: str | Path, *, speakers: int | None = None) -> Diarization:
    """`diarize` on a media file's audio (decoded to 16 kHz mono)."""
    return diarize(read_audio(path, sample_rate=SAMPLE_RATE, mono=True), speakers=speakers)


def _word_speakers(words: tuple[Word, ...], diarization: Diarization) -> list[str | None]:
    return [diarization.speaker_between(w.start, w.end) for w in words]


def split_at_speakers(transcript: Transcript, diarization: Diarization) -> tuple[Cue, ...]:
    """Whisper segments as cues with a speaker each, a segment split where the speaker changes.

    A word belongs to the speaker who talks longest during it (the nearest turn's when it falls in
    a pause); a segment without word times takes the speaker of its whole span.
    """
    cues: list[Cue] = []
    for segment in transcript.segments:
        if not segment.words:
            text = " ".join(segment.text.split())
            if text:
                cues.append(Cue(text, segment.start, segment.end, diarization.speaker_between(segment.start, segment.end)))
            continue
        runs: list[list[Word]] = []
        owners: list[str | None] = []
        for word, who in zip(segment.words, _word_speakers(segment.words, diarization)):
            if runs and owners[-1] == who:
                runs[-1].append(word)
            else:
                runs.append([word])
                owners.append(who)
        for run, who in zip(runs, owners):
            text = " ".join("".join(w.text for w in run).split())
            if text:
                cues.append(Cue(text, run[0].start, run[-1].end, who))
    return tuple(cues)
