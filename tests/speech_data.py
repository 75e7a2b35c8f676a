"""Real human speech from Debian packages, cut into short test clips with their transcripts.

- English: LibriVox (pocketsphinx-testdata), 16 kHz, public domain.
- French: Asterisk prompts (asterisk-core-sounds-fr-wav), 8 kHz, one speaker, CC-BY-SA-3.0.
- Mandarin: isolated syllables (gcin-voice) named by zhuyin and tone, concatenated into sentences.

A clip is several utterances joined with silent gaps, so a timed script for it is known exactly.
The packages and their licences are listed in docs/eval.md §Real speech for tests.
"""
from __future__ import annotations

import gzip
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dubkit.adapters.av import read_audio
from eval.types import Cue

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
ASTERISK_FR = Path("/usr/share/asterisk/sounds/fr")
ASTERISK_FR_TEXT = Path("/usr/share/doc/asterisk-core-sounds-fr/core-sounds-fr.txt.gz")
GCIN = Path("/usr/share/gcin-voice/ogg")
RATE = 16_000
LEAD, GAP = 0.5, 0.8  # seconds of silence before the first utterance and between utterances
MARGIN = 0.3  # a cue starts/ends this far into the surrounding silence (word times wobble)

# Mandarin sentences and their syllables: zhuyin + tone digit (no digit = first tone, as gcin names them).
MANDARIN = {
    "我是中国人": "ㄨㄛ3 ㄕ4 ㄓㄨㄥ ㄍㄨㄛ2 ㄖㄣ2",
    "今天天气很好": "ㄐㄧㄣ ㄊㄧㄢ ㄊㄧㄢ ㄑㄧ4 ㄏㄣ3 ㄏㄠ3",
    "欢迎光临": "ㄏㄨㄢ ㄧㄥ2 ㄍㄨㄤ ㄌㄧㄣ2",
    "谢谢你": "ㄒㄧㄝ4 ㄒㄧㄝ4 ㄋㄧ3",
}


@dataclass(frozen=True)
class Utterance:
    text: str
    audio: np.ndarray  # 16 kHz mono float32


@dataclass(frozen=True)
class Clip:
    """A WAV file of utterances separated by silence, and the timed cues that describe it."""

    path: Path
    cues: tuple[Cue, ...]
    duration: float


def require(path: Path, package: str) -> Path:
    """The path, or a clear failure naming the Debian package that provides it."""
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: install the Debian package {package}")
    return path


def librivox() -> dict[str, Utterance]:
    """The five LibriVox utterances by file id, with their transcripts."""
    folder = require(LIBRIVOX, "pocketsphinx-testdata")
    out = {}
    for line in (folder / "transcription").read_text().splitlines():
        text, _, file_id = line.rpartition("(")
        text = text.replace("<s>", "").replace("</s>", "").strip()
        file_id = file_id.strip(") ")
        out[file_id] = Utterance(text, read_audio(folder / f"{file_id}.wav"))
    return out


def asterisk_fr(names: list[str]) -> list[Utterance]:
    """French prompts by name, with the transcripts the package documents."""
    require(ASTERISK_FR, "asterisk-core-sounds-fr-wav")
    lines = gzip.decompress(require(ASTERISK_FR_TEXT, "asterisk-core-sounds-fr").read_bytes())
    texts = dict(
        line.split(": ", 1) for line in lines.decode("utf-8").splitlines() if ": " in line
    )
    return [Utterance(texts[n].strip(), read_audio(ASTERISK_FR / f"{n}.wav")) for n in names]


def _trim(audio: np.ndarray, level: float = 0.02, keep: int = 160) -> np.ndarray:
    loud = np.nonzero(np.abs(audio) > level)[0]
    return audio[max(loud[0] - keep, 0) : loud[-1] + keep]


def mandarin(sentence: str, syllable_gap: float = 0.06) -> Utterance:
    """A Mandarin sentence built from gcin-voice syllables with short pauses between them."""
    require(GCIN, "gcin-voice")
    parts = []
    for syllable in MANDARIN[sentence].split():
        parts += [_trim(read_audio(GCIN / syllable / "3.ogg")), np.zeros(int(syllable_gap * RATE), np.float32)]
    return Utterance(sentence, np.concatenate(parts[:-1]))


def write_wav(path: Path, audio: np.ndarray, rate: int = RATE) -> Path:
    """16-bit mono PCM WAV (stdlib only)."""
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


def build_clip(path: Path, utterances: list[Utterance]) -> Clip:
    """Join utterances with silence, write the WAV, and return it with exact cue times."""
    chunks = [np.zeros(int(LEAD * RATE), np.float32)]
    cues, t = [], LEAD
    for u in utterances:
        start, end = t, t + len(u.audio) / RATE
        cues.append(Cue(u.text, round(max(start - MARGIN, 0.0), 3), round(end + MARGIN, 3)))
        chunks += [u.audio, np.zeros(int(GAP * RATE), np.float32)]
        t = end + GAP
    audio = np.concatenate(chunks)
    write_wav(path, audio)
    return Clip(path, tuple(cues), len(audio) / RATE)


def levenshtein_counts(ref: list[str], hyp: list[str]) -> int:
    """Minimum substitutions + deletions + insertions turning `ref` into `hyp` (plain DP, no jiwer)."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]
