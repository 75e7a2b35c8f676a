"""The engine interface: one (window, language) in, speech (and optionally new frames) out.

`preview` (CPU voice-over) and `magihuman` (the lip-synced generator) implement it; the pipeline
only talks to this interface, so the engines are interchangeable.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from eval.types import Cue
from langs import Language


@dataclass(frozen=True)
class WindowRequest:
    """What to generate for one window of the source in one language.

    `start`/`end` are seconds in the source timeline. `lines` are the translated cues that fall in
    the window, with source-timeline times. `reference_frame` is the window's first source frame
    (H, W, 3) uint8, used as the TI2V reference image by generating engines.
    """

    index: int
    start: float
    end: float
    language: Language
    lines: tuple[Cue, ...]
    seed: int
    reference_frame: np.ndarray | None = None
    speaker_descriptions: dict[str, str] = field(default_factory=dict)
    voice_track: Path | None = None  # a human voice actor's track for this language (A2V mode)
    # Per speaker, job-wide (the same in every window): the median F0 in Hz of their source speech, and
    # a human recording of their lines in this language (on the source timeline), docs/speakers.md.
    speaker_pitch: dict[str, float] = field(default_factory=dict)
    speaker_tracks: dict[str, Path] = field(default_factory=dict)
    width: int | None = None  # source frame size, for engines that must match it
    height: int | None = None

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class WindowRender:
    """An engine's output for one window.

    `audio` is float32 (samples, channels) at `sample_rate`, covering exactly the window's
    duration (the engine pads or trims). `frames` is None when the original frames are kept
    (preview), else uint8 (n_frames, H, W, 3) at `fps`. `info` records what reproduces the render
    (prompt, seed, model identity, speed factor ...) for the report.
    """

    audio: np.ndarray
    sample_rate: int
    frames: np.ndarray | None = None
    fps: float = 25.0
    info: dict[str, Any] = field(default_factory=dict)


class Engine(Protocol):
    """A speech/picture generator for windows."""

    name: str
    is_preview: bool
    uses_seed: bool  # False: the output does not depend on the seed, so the gate loop never retries
    uses_reference: bool  # False: the window's reference frame is never looked at, so none is decoded for it

    def identity(self) -> dict[str, Any]:
        """Everything that changes the output besides the request (versions, voices, checkpoint
        hashes); it goes into cache keys and the report."""
        ...

    def render(self, request: WindowRequest) -> WindowRender:
        """Generate one window. Raises DubkitError subclasses for bad input."""
        ...


def cuda_available() -> bool:
    """Whether torch sees a CUDA device (False when torch is not installed)."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())
