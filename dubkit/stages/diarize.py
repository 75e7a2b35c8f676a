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

`speaker_runs` cuts a Whisper segment where the speaker changes, using word times; the source-script
stage (`dubkit.stages.transcribe.cues_from_transcript`) makes cues of the pieces.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from dubkit.adapters.av import read_audio
from dubkit.adapters.pitch import median_f0
from dubkit.adapters.speaker_encoder import (
    SAMPLE_RATE,
    SpeakerEncoder,
    normalize_volume,
)
from dubkit.errors import InputError
from eval.asr import speech_spans
from eval.types import Cue, TranscriptSegment, Word

PIECE_S = 3.0  # longest piece embedded as one speaker (docs/speakers.md: 1.5 s split short prompts apart)
MIN_CLUSTER_S = 0.6  # shorter pieces are labelled after clustering, by the nearest centre
THRESHOLD = 0.33  # average-linkage cosine distance at which clusters stop merging (docs/speakers.md)
TOUCH_S = 0.05  # pieces closer than this belong to one turn when their speaker is the same
SNAP_S = 0.5  # a cue's first/last word this close to its turn's edge takes the edge (Whisper's word times lag)
LABEL = re.compile(r"S[1-9][0-9]*")  # the labels diarization gives
_NAME = re.compile(r"[^\W\d_][\w.'\- ]{0,39}")  # a name: a letter, then at most 39 letters, digits, . ' - or spaces

_encoder: SpeakerEncoder | None = None


@dataclass(frozen=True)
class SpeakerSettings:
    """What the source-script stage does about speakers: diarize a recognised script (with `count`
    speakers, or as many as are found) and rename labels (`S1` -> `Anna`)."""

    diarize: bool = False
    count: int | None = None
    names: Mapping[str, str] = field(default_factory=dict)


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
    for (start, end), label in zip(pieces, labels, strict=True):
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


def speaker_pitch(path: str | Path, cues: Sequence[Cue]) -> dict[str, float]:
    """The median F0 (Hz) of each speaker's lines in a media file's audio, speakers in order of first
    appearance; lines without a speaker are not measured (their voice stays the language's default).
    A speaker whose lines hold no voiced audio is left out."""
    audio = read_audio(path, sample_rate=SAMPLE_RATE, mono=True)
    pitch: dict[str, float] = {}
    timed = sorted((c for c in cues if c.timed), key=lambda c: c.start)
    for speaker in dict.fromkeys(c.speaker for c in timed if c.speaker):
        parts = [audio[round(c.start * SAMPLE_RATE) : round(c.end * SAMPLE_RATE)]
                 for c in timed if c.speaker == speaker]
        f0 = median_f0(np.concatenate(parts), SAMPLE_RATE) if parts else None
        if f0 is not None:
            pitch[speaker] = round(f0, 1)
    return pitch


def diarize_file(path: str | Path, *, speakers: int | None = None) -> Diarization:
    """`diarize` on a media file's audio (decoded to 16 kHz mono)."""
    return diarize(read_audio(path, sample_rate=SAMPLE_RATE, mono=True), speakers=speakers)


def _word_speakers(words: tuple[Word, ...], diarization: Diarization) -> list[str | None]:
    return [diarization.speaker_between(w.start, w.end) for w in words]


def speaker_runs(segment: TranscriptSegment, diarization: Diarization) -> list[tuple[TranscriptSegment, str | None]]:
    """A recognised segment cut where the speaker changes, each piece with its speaker.

    A word belongs to the speaker who talks longest during it (the nearest turn's when it falls in
    a pause); a segment without word times takes the speaker of its whole span.
    """
    if not segment.words:
        return [(segment, diarization.speaker_between(segment.start, segment.end))]
    runs: list[tuple[list[Word], str | None]] = []
    for word, who in zip(segment.words, _word_speakers(segment.words, diarization), strict=True):
        if runs and runs[-1][1] == who:
            runs[-1][0].append(word)
        else:
            runs.append(([word], who))
    return [(TranscriptSegment(ws[0].start, ws[-1].end, "".join(w.text for w in ws), tuple(ws)), who)
            for ws, who in runs]


def snap_to_turns(cues: Sequence[Cue], diarization: Diarization) -> tuple[Cue, ...]:
    """Each cue's edges moved out to its speaker's turn edges when they lie within `SNAP_S`.

    Whisper's word times end early or start late by a few hundred ms; the turn edges come from the
    voice activity detector and mark where the speaker's voice starts and stops. A cue never grows
    over another cue of its speaker.
    """
    out = list(cues)
    for i, cue in enumerate(out):
        turn = _turn_of(cue, diarization)
        if turn is None:
            continue
        mine = [c for j, c in enumerate(out) if j != i and c.speaker == cue.speaker]
        start, end = cue.start, cue.end
        if 0 < start - turn.start <= SNAP_S and not any(turn.start < c.end <= start for c in mine):
            start = turn.start
        if 0 < turn.end - end <= SNAP_S and not any(end <= c.start < turn.end for c in mine):
            end = turn.end
        out[i] = Cue(cue.text, round(start, 3), round(end, 3), cue.speaker)
    return tuple(out)


def _turn_of(cue: Cue, diarization: Diarization) -> Turn | None:
    """The turn of the cue's speaker that overlaps the cue most, if any."""
    best, most = None, 0.0
    for turn in diarization.turns:
        overlap = min(turn.end, cue.end) - max(turn.start, cue.start)
        if turn.speaker == cue.speaker and overlap > most:
            best, most = turn, overlap
    return best


def speaker_flags(pairs: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """`--speaker` items split into renames and descriptions (docs/speakers.md).

    `S1=Anna` (a diarization label and a name: a letter first, at most 40 letters, digits, spaces,
    `.`, `'` or `-`) renames; anything else (`Anna="warm female voice, 30s"`, `S2="deep voice, 50s"`)
    describes the speaker named by the key.
    """
    renames: dict[str, str] = {}
    descriptions: dict[str, str] = {}
    for key, value in pairs.items():
        if LABEL.fullmatch(key) and _NAME.fullmatch(value.strip()):
            renames[key] = value.strip()
        else:
            descriptions[key] = value
    return renames, descriptions


def only_renames(pairs: Mapping[str, str], job: str) -> dict[str, str]:
    """The renames among `--speaker` items; InputError for a description, which only localize uses."""
    renames, descriptions = speaker_flags(pairs)
    if descriptions:
        key = next(iter(descriptions))
        raise InputError(f"--speaker {key}={descriptions[key]}: {job} only names speakers found by --diarize "
                         "(S1=Anna); descriptions are for localize")
    return renames


def rename_speakers(cues: Sequence[Cue], renames: Mapping[str, str]) -> tuple[Cue, ...]:
    """The cues with their diarization labels replaced by the names given; InputError when a name
    is given to a label no cue carries."""
    present = {c.speaker for c in cues}
    unknown = sorted(set(renames) - present)
    if unknown:
        raise InputError(
            f"--speaker {unknown[0]}={renames[unknown[0]]}: no line is spoken by {unknown[0]} "
            f"(speakers found: {', '.join(sorted(s for s in present if s)) or 'none'})"
        )
    return tuple(replace(c, speaker=renames.get(c.speaker, c.speaker)) if c.speaker else c for c in cues)
