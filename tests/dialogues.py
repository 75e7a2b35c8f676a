"""Dialogues of real speech by different people, built from the Debian packages in tests/speech_data.py.

Each dialogue alternates turns of its speakers with short pauses (0.3 to 0.7 s, as in conversation);
a turn is one or two utterances of one speaker. The ground truth comes from the clips' boundaries:
every utterance, with its silent ends trimmed, is one reference turn of its speaker.

Speakers (docs/speakers.md):
  reader  LibriVox "Sense and Sensibility" reader (pocketsphinx-testdata), English, male
  cards   the pocketsphinx "cards" speaker (pocketsphinx-testdata), English, male
  fr      the Asterisk French prompts voice (asterisk-core-sounds-fr-wav), female
  zh      the gcin-voice Mandarin syllables, joined into sentences
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dubkit.adapters.av import read_audio
from tests.speech_data import (
    MANDARIN,
    RATE,
    asterisk_fr,
    librivox,
    mandarin,
    require,
    write_wav,
)

CARDS = Path("/usr/share/pocketsphinx/test/data/cards")
FRENCH = ["agent-pass", "all-circuits-busy-now", "conf-getpin", "conf-kicked", "conf-leaderhasleft",
          "conf-onlyperson", "check-number-dial-again"]
PAUSES = (0.5, 0.3, 0.7, 0.4)  # seconds between turns, in turn
JOIN = 0.25  # seconds between two utterances of one turn
LEAD = 0.5


@dataclass(frozen=True)
class Dialogue:
    """A WAV file and its reference turns (start, end, speaker) in seconds."""

    name: str
    path: Path
    reference: tuple[tuple[float, float, str], ...]
    duration: float

    @property
    def speakers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s for _, _, s in self.reference))


def _trim(audio: np.ndarray, top_db: float = 35.0) -> np.ndarray:
    import librosa

    _, (a, b) = librosa.effects.trim(audio, top_db=top_db)
    return audio[a:b]


def voices() -> dict[str, list[np.ndarray]]:
    """Each speaker's utterances, 16 kHz mono, silent ends trimmed."""
    cards = [read_audio(p) for p in sorted(require(CARDS, "pocketsphinx-testdata").glob("*.wav"))]
    return {
        "reader": [_trim(u.audio) for u in librivox().values()],
        "cards": [_trim(a) for a in cards],
        "fr": [_trim(u.audio) for u in asterisk_fr(FRENCH)],
        "zh": [_trim(mandarin(s).audio) for s in MANDARIN],
    }


def _turn_plan(speakers: list[str], counts: dict[str, int]) -> list[tuple[str, list[int]]]:
    """Alternate speakers; every third turn of a speaker holds two utterances, when it has them."""
    plan, used, k = [], {s: 0 for s in speakers}, 0
    while any(used[s] < counts[s] for s in speakers):
        s = speakers[k % len(speakers)]
        k += 1
        if used[s] >= counts[s]:
            continue
        take = 2 if k % 3 == 0 and used[s] + 2 <= counts[s] else 1
        plan.append((s, list(range(used[s], used[s] + take))))
        used[s] += take
    return plan


def build_dialogue(folder: Path, name: str, speakers: list[str], per_speaker: int | None = None) -> Dialogue:
    """Write `folder/name.wav`: the speakers' utterances (the first `per_speaker` of each, or all)
    as alternating turns, and its reference."""
    pool = voices()
    plan = _turn_plan(speakers, {s: min(len(pool[s]), per_speaker or len(pool[s])) for s in speakers})
    chunks, reference, t = [np.zeros(int(LEAD * RATE), np.float32)], [], LEAD
    for i, (speaker, indices) in enumerate(plan):
        for j, index in enumerate(indices):
            if j:
                chunks.append(np.zeros(int(JOIN * RATE), np.float32))
                t += int(JOIN * RATE) / RATE
            audio = pool[speaker][index]
            reference.append((round(t, 3), round(t + len(audio) / RATE, 3), speaker))
            chunks.append(audio)
            t += len(audio) / RATE
        pause = int(PAUSES[i % len(PAUSES)] * RATE)
        chunks.append(np.zeros(pause, np.float32))
        t += pause / RATE
    audio = np.concatenate(chunks)
    path = write_wav(Path(folder) / f"{name}.wav", audio)
    return Dialogue(name, path, tuple(reference), len(audio) / RATE)


DIALOGUES = {
    "reader-fr": ["reader", "fr"],
    "cards-zh": ["cards", "zh"],
    "four": ["reader", "fr", "cards", "zh"],
}
"""The measured dialogues (docs/speakers.md): two of two speakers with no speaker in common, and a
harder one of four, two of them English-speaking men."""


def as_video(dialogue: Dialogue) -> Path:
    """The dialogue as an MP4 with a still black picture (localize needs a video stream)."""
    import subprocess

    import imageio_ffmpeg

    out = dialogue.path.with_suffix(".mp4")
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
         f"color=c=black:s=64x64:r=25:d={dialogue.duration:.3f}", "-i", str(dialogue.path),
         "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(out)],
        check=True,
    )
    return out
