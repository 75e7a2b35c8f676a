"""The `magihuman` engine: lip-synced speech and picture from daVinci-MagiHuman (model.generator).

Per window: the window's first source frame is the reference image (TI2V); the prompt is the
model's own format (model.prompt) built from the lines, the language's prompt name (langs) and an
editable English description of each speaker; when the user supplies a voice actor's track for
the language, the window's slice of it conditions the generation (A2V) and is kept as the audio.
Frames come back at the model's 25 fps, fitted to the source's frame size; audio at 44.1 kHz
covering exactly the window.
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from dubkit.adapters import package_version
from dubkit.adapters.audio import fit_length, time_slice, to_stereo
from dubkit.adapters.av import read_audio
from dubkit.engines.base import WindowRender, WindowRequest, cuda_available
from dubkit.errors import InputError, OutputError
from dubkit.store.files import atomic_write_text, file_digest
from dubkit.store.paths import checkpoint_hash_store
from model.config import BASE_RESOLUTION, DEFAULT_MODE
from model.prompt import Utterance, clean_line, space_line
from model.prompt import build_prompt as model_prompt
from model.weights import component_names, component_path

MODEL_FPS = 25.0
MODEL_RATE = 44_100
FRAMES_PER_LATENT = 4  # pixel frames per latent frame: a clip is 25*S + 1 frames with 25*S % 4 == 0
DEFAULT_SPEAKER = "The person on screen"
WEIGHT_SUFFIXES = (".safetensors", ".pth", ".ckpt", ".bin", ".json", ".zst")


def required_components(resolution: str, mode: str) -> tuple[str, ...]:
    """model.weights component names a run at `resolution` in `mode` loads."""
    return tuple(component_names(modes=(mode,), resolutions=(resolution,)))


def model_seconds(duration: float) -> float:
    """The clip length to ask the model for: `duration` rounded up to whole latent frames (0.16 s)."""
    step = FRAMES_PER_LATENT / MODEL_FPS
    return round(math.ceil(duration / step - 1e-9) * step, 6)


def _speaker(cue_speaker: str | None, descriptions: dict[str, str]) -> str:
    if cue_speaker and cue_speaker in descriptions:
        return descriptions[cue_speaker]
    if "default" in descriptions:
        return descriptions["default"]
    if len(descriptions) == 1:  # one described speaker: the lines are theirs
        return next(iter(descriptions.values()))
    return DEFAULT_SPEAKER  # a bare speaker name ("anna") describes nothing the model can draw


def build_prompt(request: WindowRequest) -> str:
    """The model's prompt for a window: an English description quoting each line where it is
    spoken, the `Dialogue:` paragraph (speaker description + language prompt name), and
    `Background Sound:`."""
    lang = request.language
    said, dialogue = [], []
    for cue in request.lines:
        who = _speaker(cue.speaker, request.speaker_descriptions)
        line = clean_line(cue.text)  # Dialogue: format_utterance spaces it; the inline quote: space_line, once
        spoken = space_line(line, lang.prompt_name)
        said.append(f'{who} looks into the camera and says in {lang.english_name}, "{spoken}"')
        dialogue.append(Utterance(speaker=who, language=lang.prompt_name, text=line))
    description = (
        " ".join(s.rstrip(".") + "." for s in said)
        + " The lips, jaw and cheeks move precisely with every syllable; the voice is clear, warm and natural,"
        " at a conversational pace. The camera is static; lighting, framing and background stay as in the"
        " first frame."
    )
    return model_prompt(description, dialogue, None)


def _resize(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(frame).resize((width, height), Image.LANCZOS))


def fit_frames(frames: np.ndarray, reference: np.ndarray | None, width: int, height: int) -> tuple[np.ndarray, dict]:
    """Generated frames at the source's size.

    Same aspect (within 2 %): resized. Otherwise the model saw the centre crop of the reference at its
    own aspect (the reference image is centre-cropped to the target aspect, docs/model.md), so the frames are resized to that crop and pasted into the
    reference frame; the border keeps the window's first source frame.
    """
    n, h, w, _ = frames.shape
    if abs((w / h) / (width / height) - 1) <= 0.02 or reference is None:
        return np.stack([_resize(f, width, height) for f in frames]), {"fit": "resize"}
    if width / height > w / h:
        cw, ch = round(height * w / h), height
    else:
        cw, ch = width, round(width * h / w)
    x, y = (width - cw) // 2, (height - ch) // 2
    base = _resize(reference, width, height) if reference.shape[:2] != (height, width) else reference
    out = np.repeat(base[None], n, axis=0)
    for i, f in enumerate(frames):
        out[i, y:y + ch, x:x + cw] = _resize(f, cw, ch)
    return out, {"fit": "centre-crop paste", "crop": [x, y, cw, ch]}


def voice_segment(path: Path, start: float, end: float) -> np.ndarray:
    """The [start, end) slice of a voice track, stereo 44.1 kHz, zero-padded past its end."""
    track = read_audio(path, sample_rate=MODEL_RATE, mono=False)
    return to_stereo(time_slice(track, MODEL_RATE, start, end))


def checkpoint_hashes(folder: Path, components: tuple[str, ...] | None = None) -> dict[str, str]:
    """sha256 of every weight/config file of `components` (model.weights layout) under `folder`.

    Hashing tens of GB takes minutes, so digests are remembered per (path, size, mtime) in
    DUBKIT_HOME/checkpoint-sha256.json; a changed file is hashed again.
    """
    folder = Path(folder)
    roots = [component_path(folder, c) for c in (components or ())] or [folder]
    files = sorted({p for r in roots if r.is_dir() for p in r.rglob("*") if p.is_file() and p.suffix in WEIGHT_SUFFIXES})
    store = checkpoint_hash_store()
    try:
        known = json.loads(store.read_text("utf-8")) if store.is_file() else {}
    except (OSError, ValueError):
        known = {}
    hashes, changed = {}, False
    for p in files:
        st = p.stat()
        memo = f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}"
        if memo not in known:
            known[memo], changed = file_digest(p), True
        hashes[str(p.relative_to(folder))] = known[memo]
    if changed:
        try:
            store.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(store, json.dumps(known, indent=0))
        except (OSError, OutputError):  # a read-only home only costs re-hashing next time
            pass
    return hashes


def state_digest(module) -> str:
    """sha256 over a module's parameters and buffers (identity of in-memory weights, e.g. tiny tests)."""
    h = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()


class MagiHumanEngine:
    """Window renderer over model.generator.Generator (implements dubkit.engines.base.Engine)."""

    name = "magihuman"
    is_preview = False
    uses_seed = True

    def __init__(self, generator, *, resolution: str = BASE_RESOLUTION, mode: str = DEFAULT_MODE,
                 checkpoint_hashes: dict[str, str] | None = None):
        self.generator = generator
        self.resolution = resolution
        self.mode = mode
        self._hashes = checkpoint_hashes

    @classmethod
    def from_weights(cls, weights: Path, *, resolution: str = BASE_RESOLUTION, mode: str = DEFAULT_MODE,
                     device: str | None = None, preset: str = "15b") -> "MagiHumanEngine":
        """Load the generator from a weights folder (model.weights layout) onto `device`.

        `preset` is the DiT architecture: "15b" for the released weights, "tiny" for tests that
        drive this same loading path with tiny random weights.
        """
        from model.generator import Generator

        device = device or ("cuda" if cuda_available() else "cpu")
        generator = Generator.from_pretrained(
            Path(weights), device=device, modes=(mode,), resolutions=(resolution,), preset=preset,
        )
        hashes = checkpoint_hashes(Path(weights), required_components(resolution, mode))
        return cls(generator, resolution=resolution, mode=mode, checkpoint_hashes=hashes)

    def identity(self) -> dict[str, Any]:
        """Engine, resolution, mode and the checkpoint hashes (file sha256, or in-memory weights)."""
        if self._hashes is None:
            parts = {k: getattr(self.generator, k, None) for k in ("dit", "text_encoder", "video_vae", "audio_vae", "turbo_vae")}
            self._hashes = {k: "state:" + state_digest(getattr(v, "module", v)) for k, v in parts.items()
                            if v is not None and hasattr(getattr(v, "module", v), "state_dict")}
        torch_version = package_version("torch")
        return {"engine": self.name, "preview": False, "resolution": self.resolution, "mode": self.mode,
                "checkpoints": self._hashes, "torch": torch_version, "fps": MODEL_FPS, "sample_rate": MODEL_RATE}

    def render(self, request: WindowRequest) -> WindowRender:
        """Generate the window: reference frame + prompt (+ voice track) -> frames and speech."""
        from model.generator import GeneratorInputError, VoiceTrack

        if request.reference_frame is None:
            raise InputError(f"window {request.index}: magihuman needs the window's first frame as reference")
        if not request.lines:
            raise InputError(f"window {request.index}: no line to speak in {request.language.code}")
        prompt = build_prompt(request)
        n_audio = round(request.duration * MODEL_RATE)
        voice = None
        if request.voice_track is not None:
            voice = voice_segment(Path(request.voice_track), request.start, request.end)
        try:
            generation = self.generator.generate(
                prompt, reference_image=request.reference_frame,
                voice_track=VoiceTrack(samples=voice, sample_rate=MODEL_RATE) if voice is not None else None,
                seconds=model_seconds(request.duration), resolution=self.resolution, mode=self.mode,
                seed=request.seed,
            )
        except GeneratorInputError as err:  # e.g. a voice track the audio VAE cannot take
            raise InputError(f"window {request.index} ({request.language.code}): {err}") from err
        n_frames = max(1, round(request.duration * MODEL_FPS))
        frames = np.asarray(generation.frames, np.uint8)
        if len(frames) < n_frames:  # the model's clip is never shorter; guard the invariant
            frames = np.concatenate([frames, np.repeat(frames[-1:], n_frames - len(frames), axis=0)])
        width = request.width or request.reference_frame.shape[1]
        height = request.height or request.reference_frame.shape[0]
        frames, fit = fit_frames(frames[:n_frames], request.reference_frame, width, height)
        audio = voice if voice is not None else fit_length(to_stereo(generation.audio), n_audio)
        info = {"engine": self.name, "preview": False, "prompt": prompt, "seed": request.seed,
                "mode": self.mode, "resolution": self.resolution, "a2v": voice is not None,
                "model_seconds": model_seconds(request.duration), "generated_shape": list(generation.frames.shape),
                **fit}
        return WindowRender(audio=audio, sample_rate=MODEL_RATE, frames=frames, fps=MODEL_FPS, info=info)


__all__ = ["MagiHumanEngine", "build_prompt", "checkpoint_hashes", "model_seconds", "required_components"]
