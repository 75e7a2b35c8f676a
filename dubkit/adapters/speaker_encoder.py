"""The one speaker-encoder adapter: Resemblyzer's pretrained voice encoder, loaded safely.

The `resemblyzer` wheel ships `resemblyzer/pretrained.pt` (a GE2E-trained speaker encoder). Its own
Python module is never imported: importing it pulls webrtcvad (and through it pkg_resources), and its
loader unpickles the whole checkpoint. Here the file is located through the distribution's metadata,
its sha256 is checked against the pinned value, and only tensors are read
(`torch.load(..., weights_only=True)`) into a small torch module written from the encoder's facts
(docs/speakers.md):

- 16 kHz audio, volume raised (never lowered) to -30 dBFS;
- a power (not log) mel spectrogram: 40 bands, 25 ms window (n_fft 400), 10 ms hop (160 samples);
- partials of 160 frames (1.6 s); a 3-layer LSTM 40 -> 256, the last layer's final hidden state
  through a 256 -> 256 linear layer and a ReLU, L2-normalised;
- an utterance's embedding is the L2-normalised mean of its partials' embeddings.
"""
from __future__ import annotations

import threading
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import numpy as np

from dubkit.errors import DubkitError
from dubkit.store.files import file_digest

SAMPLE_RATE = 16_000
N_MELS = 40
N_FFT = 400  # 25 ms at 16 kHz
HOP = 160  # 10 ms at 16 kHz
PARTIAL_FRAMES = 160  # 1.6 s per partial utterance
HIDDEN = 256
EMBEDDING = 256
LAYERS = 3
TARGET_DBFS = -30.0
WEIGHTS_FILE = "resemblyzer/pretrained.pt"
WEIGHTS_SHA256 = "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"  # resemblyzer 0.1.4
_INT16_MAX = 2**15 - 1


class SpeakerEncoderError(DubkitError):
    """The speaker encoder's weights are missing, altered or unreadable."""


def weights_path() -> Path:
    """Where the installed `resemblyzer` distribution keeps its pretrained encoder."""
    try:
        dist = distribution("resemblyzer")
    except PackageNotFoundError as err:
        raise SpeakerEncoderError(
            "the speaker encoder needs the 'resemblyzer' package (pip install resemblyzer)"
        ) from err
    return Path(dist.locate_file(WEIGHTS_FILE))


def load_weights(path: Path) -> dict:
    """The encoder's tensors from `path`, after checking the file's sha256 against the pinned value."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise SpeakerEncoderError(f"speaker encoder weights not found at {path}")
    digest = file_digest(path)
    if digest != WEIGHTS_SHA256:
        raise SpeakerEncoderError(
            f"speaker encoder weights {path} have sha256 {digest}, expected {WEIGHTS_SHA256}: "
            "the file was altered or is another model; reinstall resemblyzer==0.1.4"
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        state = checkpoint["model_state"]
    except Exception as err:  # torch raises several types for a bad archive; name the file
        raise SpeakerEncoderError(f"cannot read speaker encoder weights {path}: {err}") from err
    return {k: v for k, v in state.items() if k.startswith(("lstm.", "linear."))}


def _network(state: dict):
    """The encoder network with `state` loaded (strict: every tensor must fit)."""
    from torch import nn

    class _Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(N_MELS, HIDDEN, LAYERS, batch_first=True)
            self.linear = nn.Linear(HIDDEN, EMBEDDING)

        def forward(self, mels):
            _, (hidden, _) = self.lstm(mels)
            raw = nn.functional.relu(self.linear(hidden[-1]))
            return raw / raw.norm(dim=1, keepdim=True).clamp_min(1e-8)

    net = _Encoder()
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise SpeakerEncoderError(f"speaker encoder weights do not fit the network: {err}") from err
    return net.eval()


def normalize_volume(samples: np.ndarray) -> np.ndarray:
    """Raise the level to -30 dBFS (RMS of int16-scaled samples); louder audio is left as it is."""
    rms = float(np.sqrt(np.mean((samples.astype(np.float64) * _INT16_MAX) ** 2))) if samples.size else 0.0
    if rms <= 0:
        return samples.astype(np.float32)
    change = TARGET_DBFS - 20 * np.log10(rms / _INT16_MAX)
    return (samples * 10 ** (max(change, 0.0) / 20)).astype(np.float32)


def mel_frames(samples: np.ndarray) -> np.ndarray:
    """(frames, 40) power mel spectrogram of 16 kHz samples, as the encoder was trained on."""
    import librosa

    mel = librosa.feature.melspectrogram(
        y=samples.astype(np.float32), sr=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS
    )
    return mel.astype(np.float32).T


class SpeakerEncoder:
    """Loaded once; `embed` turns pieces of 16 kHz speech into 256-d unit vectors."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else weights_path()
        self._net = _network(load_weights(self.path))
        self._lock = threading.Lock()

    def identity(self) -> dict[str, str]:
        return {"speaker_encoder": "resemblyzer pretrained.pt", "sha256": WEIGHTS_SHA256}

    def embed(self, pieces: list[np.ndarray]) -> np.ndarray:
        """(len(pieces), 256) embeddings; each piece is cut into 1.6 s partials (zero-padded when
        shorter) and its embedding is the normalised mean of theirs. Pieces should be level-normalised
        together first (`normalize_volume` on the whole recording)."""
        import torch

        batch, owner = [], []
        for i, piece in enumerate(pieces):
            for partial in _partials(mel_frames(piece)):
                batch.append(partial)
                owner.append(i)
        if not batch:
            return np.zeros((0, EMBEDDING), np.float32)
        with self._lock, torch.no_grad():
            partial_embeds = self._net(torch.from_numpy(np.stack(batch))).numpy()
        out = np.zeros((len(pieces), EMBEDDING), np.float64)
        np.add.at(out, np.asarray(owner), partial_embeds)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.maximum(norms, 1e-8)).astype(np.float32)


def _partials(mel: np.ndarray, step: int = PARTIAL_FRAMES // 2) -> list[np.ndarray]:
    """160-frame slices at half overlap; the last is zero-padded; a short piece gives one slice."""
    if len(mel) <= PARTIAL_FRAMES:
        return [np.pad(mel, ((0, PARTIAL_FRAMES - len(mel)), (0, 0)))]
    starts = list(range(0, len(mel) - PARTIAL_FRAMES + 1, step))
    if starts[-1] + PARTIAL_FRAMES < len(mel) and len(mel) - starts[-1] - step >= PARTIAL_FRAMES * 3 // 4:
        starts.append(starts[-1] + step)
    return [np.pad(mel[s : s + PARTIAL_FRAMES], ((0, max(0, s + PARTIAL_FRAMES - len(mel))), (0, 0))) for s in starts]
