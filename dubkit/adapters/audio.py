"""Audio buffers in memory: the one resampler and the mono/stereo, length and time-slice helpers.

Buffers are float32 numpy arrays, shape (n,) for mono or (n, channels), with time on axis 0.
Files are decoded (and converted to a requested rate while decoding) by `dubkit.adapters.av.read_audio`;
everything that changes the rate of a buffer already in memory calls `resample` here. A timeline too
long to hold (a 10-minute 48 kHz stereo mix is 230 MB of float32) lives on disk as a WAV written and
read block by block: written here with plain file writes (float32 scratch files and 24-bit deliverables,
so a full disk is an OSError with its errno; RF64 past 4 GiB), read through soundfile (libsndfile).
"""
from __future__ import annotations

import errno
from math import gcd
from pathlib import Path

import numpy as np


def resample(audio: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """`audio` at `target_rate`, float32, same channel layout (time on axis 0).

    Polyphase filtering by the exact rational ratio (scipy.signal.resample_poly, the technique the
    quality gate has always scored with); the same rate returns the buffer as float32 unchanged.
    """
    audio = np.asarray(audio, np.float32)
    if orig_rate <= 0 or target_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {orig_rate} -> {target_rate}")
    if orig_rate == target_rate or len(audio) == 0:
        return audio
    from scipy.signal import (
        resample_poly,  # heavy import (~1.5 s), only when a rate changes
    )

    g = gcd(orig_rate, target_rate)
    return resample_poly(audio, target_rate // g, orig_rate // g, axis=0).astype(np.float32)


def to_mono(audio: np.ndarray) -> np.ndarray:
    """(n,) float32: the mean of the channels of (n,) or (n, channels) audio."""
    audio = np.asarray(audio, np.float32)
    return audio.reshape(len(audio), -1).mean(axis=1)


def to_stereo(audio: np.ndarray) -> np.ndarray:
    """(n, 2) float32: mono duplicated to both channels; of more channels, the first two."""
    audio = np.asarray(audio, np.float32).reshape(len(audio), -1)
    return np.repeat(audio, 2, axis=1) if audio.shape[1] == 1 else audio[:, :2]


def fit_length(audio: np.ndarray, n: int) -> np.ndarray:
    """Exactly `n` samples: trimmed, or zero-padded at the end (same channel layout, float32)."""
    audio = np.asarray(audio, np.float32)
    out = np.zeros((max(0, n), *audio.shape[1:]), np.float32)
    take = min(len(out), len(audio))
    out[:take] = audio[:take]
    return out


def sample_span(start: float, end: float, rate: int) -> tuple[int, int]:
    """The sample indices [a, b) of the span [start, end) seconds at `rate` (each end rounded)."""
    return round(start * rate), round(end * rate)


def time_slice(audio: np.ndarray, rate: int, start: float, end: float) -> np.ndarray:
    """The [start, end) seconds of `audio`, zero-padded where the span runs past the buffer's end."""
    a, b = sample_span(start, end, rate)
    return fit_length(audio[a:b], b - a)


def write_wav24(path: Path, audio: np.ndarray, rate: int) -> Path:
    """Write float audio (n,) or (n, C) in [-1, 1] as a 24-bit PCM WAV (clipped, rounded to the nearest step)."""
    audio = np.asarray(audio).reshape(len(audio), -1)
    return write_wav24_blocks(path, [audio], rate, audio.shape[1], frames=len(audio))


# Long timelines live on disk, not in memory: WAVs written block by block by `wav_writer` (float32 scratch
# files, 24-bit deliverables with write_wav24's rounding) and read back block by block through soundfile.

BLOCK = 480_000  # samples per block when a whole timeline is streamed: 10 s at 48 kHz, 3.8 MB in stereo


RIFF_LIMIT = 2**32 - 1  # what a RIFF size field holds: past it (3.1 h of 48 kHz stereo float) the file is RF64


def _riff_size(data: int, reserve: bool) -> int:
    """The RIFF size field of a WAV with `data` bytes: WAVE, the JUNK chunk when reserved, fmt, data (padded)."""
    return 4 + (8 + 28 if reserve else 0) + (8 + 16) + 8 + data + data % 2


class wav_writer:  # noqa: N801 (used as a context manager, like open())
    """A WAV written block by block: `with wav_writer(path, rate, 2) as f: f.write(block)`, 32-bit float
    (`pcm24=False`: values round-trip exactly) or 24-bit PCM (clipped, rounded to the nearest step). Every
    block is (n_i, channels) (or (n_i,) for mono). Plain file writes, the header's sizes patched at the end,
    so a full disk raises the OSError with its errno that the job turns into its one-line "no room" message
    (libsndfile would only say "System error"). `frames`, when the length is known, picks the header: the
    canonical 44-byte one when it fits RIFF's 4 GiB; else (or when unknown) a JUNK chunk is reserved that
    becomes the ds64 chunk when the data outgrows 4 GiB, making the file RF64 (EBU Tech 3306), which ffmpeg
    and libsndfile read."""

    def __init__(self, path: Path, rate: int, channels: int = 2, *, pcm24: bool = False, frames: int | None = None):
        self.path, self.rate, self.channels, self.frames, self.pcm24 = Path(path), rate, channels, 0, pcm24
        self.width = 3 if pcm24 else 4
        # the canonical header, unless the length is unknown or too long for it
        self.reserve = frames is None or _riff_size(frames * channels * self.width, reserve=False) > RIFF_LIMIT
        self._file = open(self.path, "wb")  # noqa: SIM115 (closed in __exit__)
        self._file.write(self._header())

    def _header(self) -> bytes:
        import struct

        data = self.frames * self.channels * self.width
        tag, bits = (1, 24) if self.pcm24 else (3, 32)
        fmt = struct.pack("<HHIIHH", tag, self.channels, self.rate, self.rate * self.channels * self.width,
                          self.channels * self.width, bits)
        riff, size = _riff_size(data, self.reserve), struct.pack("<I", len(fmt))
        junk = b"JUNK" + struct.pack("<I", 28) + bytes(28) if self.reserve else b""
        if riff <= RIFF_LIMIT:
            head = b"RIFF" + struct.pack("<I", riff) + b"WAVE" + junk
            return head + b"fmt " + size + fmt + b"data" + struct.pack("<I", data)
        if not self.reserve:
            raise OSError(errno.EFBIG, f"{self.path.name} outgrew the length it was opened for")
        ds64 = struct.pack("<QQQI", riff, data, self.frames, 0)
        return (b"RF64" + struct.pack("<I", RIFF_LIMIT) + b"WAVE" + b"ds64" + struct.pack("<I", 28) + ds64
                + b"fmt " + size + fmt + b"data" + struct.pack("<I", RIFF_LIMIT))

    def write(self, block: np.ndarray) -> None:
        block = np.asarray(block).reshape(len(block), self.channels)
        self._file.write(_pcm24(block) if self.pcm24 else np.asarray(block, "<f4").tobytes())
        self.frames += len(block)

    def __enter__(self) -> wav_writer:
        return self

    def __exit__(self, *exc) -> None:
        try:
            if (self.frames * self.channels * self.width) % 2:
                self._file.write(b"\0")  # RIFF chunks are padded to an even length
            self._file.seek(0)
            self._file.write(self._header())
        finally:
            self._file.close()


def float_wav_blocks(path: Path, block: int | None = None, start: int = 0, stop: int | None = None):
    """(n_i, channels) float32 blocks of at most `block` (default BLOCK) samples of a WAV from sample `start`
    to `stop`."""
    import soundfile

    block = block or BLOCK
    with soundfile.SoundFile(str(path)) as f:
        stop = f.frames if stop is None else min(stop, f.frames)
        f.seek(min(start, f.frames))
        at = start
        while at < stop:
            data = f.read(min(block, stop - at), dtype="float32", always_2d=True)
            if not len(data):
                return
            at += len(data)
            yield data


def read_wav_span(path: Path, a: int, b: int) -> np.ndarray:
    """(b - a, channels) float32: samples [a, b) of a WAV, zero-padded outside the file."""
    import soundfile

    with soundfile.SoundFile(str(path)) as f:
        out = np.zeros((b - a, f.channels), np.float32)
        lo, hi = max(a, 0), min(b, f.frames)
        if hi > lo:
            f.seek(lo)
            out[lo - a : hi - a] = f.read(hi - lo, dtype="float32", always_2d=True)
        return out


def wav_frames(path: Path) -> int:
    """How many samples (per channel) a WAV holds."""
    import soundfile

    return soundfile.info(str(path)).frames


def _pcm24(block: np.ndarray) -> bytes:
    block = np.asarray(block, np.float64)
    ints = np.clip(np.round(block * 2**23), -(2**23), 2**23 - 1).astype("<i4")  # (n, C)
    return ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()  # little-endian: the low three bytes


def write_wav24_blocks(path: Path, blocks, rate: int, channels: int, frames: int | None = None) -> Path:
    """Write float blocks (n_i, channels) in [-1, 1] as one 24-bit PCM WAV (clipped, rounded to the nearest
    step), block by block; `frames`: the length when known (a canonical 44-byte header when it fits RIFF)."""
    with wav_writer(path, rate, channels, pcm24=True, frames=frames) as out:
        for block in blocks:
            out.write(block)
    return Path(path)


def fit_blocks(blocks, n: int, channels: int = 2):
    """The blocks trimmed to `n` samples in all, zero-padded at the end to exactly `n` (float32)."""
    have = 0
    for block in blocks:
        take = min(len(block), n - have)
        if take <= 0:
            return
        yield np.asarray(block[:take], np.float32)
        have += take
    for lo in range(have, n, BLOCK):
        yield np.zeros((min(BLOCK, n - lo), channels), np.float32)
