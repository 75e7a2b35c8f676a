"""The `magihuman` engine: lip-synced speech and picture from daVinci-MagiHuman (model.generator).

Per window: the window's first source frame is the reference image (TI2V); the prompt is the
model's own format (model.prompt) built from the lines, the language's prompt name (langs) and an
editable English description of each speaker; when the user supplies a voice actor's track for
the language, the window's slice of it conditions the generation (A2V) and is kept as the audio.
Frames come back at the model's 25 fps, fitted to the source's frame size; audio at 44.1 kHz
covering exactly the window.

Which model runs how is the job's recipe (model.recipe): windows with a voice track run the official
A2V path (base model, 32 steps, CFG, the track kept fixed) unless the job asked for the experimental
distilled A2V; super-resolution runs the base model first unless the job asked for the fast mode. Each
render's `info["recipe"]` says which recipe ran and labels the fast and experimental ones.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from dubkit.adapters import package_version
from dubkit.adapters.audio import fit_length, to_stereo
from dubkit.adapters.av import read_audio_span
from dubkit.adapters.pitch import register_of
from dubkit.engines.base import WindowRender, WindowRequest, cuda_available
from dubkit.errors import InputError, OutputError
from dubkit.store.files import atomic_write_text, file_digest
from dubkit.store.paths import checkpoint_hash_store
from model.prompt import Utterance, clean_line, space_line
from model.prompt import build_prompt as model_prompt
from model.recipe import RecipeChoice
from model.weights import component_names, component_path

MODEL_FPS = 25.0
MODEL_RATE = 44_100
FRAMES_PER_LATENT = 4  # pixel frames per latent frame: a clip is 25*S + 1 frames with 25*S % 4 == 0
DEFAULT_SPEAKER = "The person on screen"
WEIGHT_SUFFIXES = (".safetensors", ".pth", ".ckpt", ".bin", ".json", ".zst")


def required_components(recipes: RecipeChoice, kinds: tuple[str, ...] = ("t2v",)) -> tuple[str, ...]:
    """model.weights component names a job with these recipe settings and window kinds ("t2v": the model
    voices the lines, "a2v": a voice track conditions the window) loads."""
    return tuple(component_names(modes=recipes.modes(kinds), resolutions=(recipes.resolution,)))


def clip_frames(duration: float) -> int:
    """Frames (40 ms, video and audio alike) the model generates for a window of `duration` seconds: the
    fewest 4T − 3 (T latent frames) that cover it, so no latent frame is added beyond what the window needs."""
    covered = max(2, math.ceil(duration * MODEL_FPS - 1e-6))
    return FRAMES_PER_LATENT * math.ceil((covered - 1) / FRAMES_PER_LATENT) + 1


def model_seconds(duration: float) -> float:
    """The clip length to ask the model for (without a voice track): (clip_frames − 1)/25 s, since a clip of
    S seconds has 25·S + 1 frames."""
    return round((clip_frames(duration) - 1) / MODEL_FPS, 6)


ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")


def _speaker(cue_speaker: str | None, request: WindowRequest) -> str:
    """How the prompt describes the speaker of a line: the user's description (`--speaker Anna="..."`);
    with several speakers and none given, their order and apparent sex from the source's median F0
    ("The second speaker, a woman"), so the model gives each their own face and voice."""
    descriptions = request.speaker_descriptions
    pitch = request.speaker_pitch
    if cue_speaker and cue_speaker in descriptions:
        return descriptions[cue_speaker]
    if cue_speaker and cue_speaker in pitch and len(pitch) > 1:
        order = list(pitch).index(cue_speaker)
        nth = ORDINALS[order] if order < len(ORDINALS) else f"number {order + 1}"
        return f"The {nth} speaker, a {'woman' if register_of(pitch[cue_speaker]) == 'female' else 'man'}"
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
        who = _speaker(cue.speaker, request)
        line = clean_line(cue.text)  # Dialogue: format_utterance spaces it; the inline quote: space_line, once
        spoken = space_line(line, lang.prompt_name)
        subject = f"{who}," if "," in who else who  # "The second speaker, a woman, looks ..."
        said.append(f'{subject} looks into the camera and says in {lang.english_name}, "{spoken}"')
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
    own aspect (the reference image is centre-cropped to the target aspect, docs/model.md), so the frames
    are resized to that crop and pasted into the reference frame; the border keeps the window's first
    source frame.
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
        out[i, y : y + ch, x : x + cw] = _resize(f, cw, ch)
    return out, {"fit": "centre-crop paste", "crop": [x, y, cw, ch]}


def voice_segment(path: Path, start: float, end: float) -> np.ndarray:
    """The [start, end) slice of a voice track, stereo 44.1 kHz, zero-padded past its end (read by seeking:
    a window of a 10-minute recording costs what the window costs)."""
    return to_stereo(read_audio_span(path, start, end, MODEL_RATE))


def _conditioning_voice(request: WindowRequest, seconds: float) -> np.ndarray | None:
    """The audio that conditions a window (A2V), `seconds` long from the window's start: the language's voice
    track; else, when every speaker of the window's lines has a recording of their own, those recordings
    mixed; else None (the model voices the lines itself: one speaker's recording cannot condition another
    speaker's lines). `seconds` may run a few frames past the window's end (the clip covers whole latent
    frames); the track's own audio fills them."""
    end = request.start + seconds
    n = round(seconds * MODEL_RATE)
    if request.voice_track is not None:
        return fit_length(voice_segment(Path(request.voice_track), request.start, end), n)
    if not has_voice(request):
        return None
    speakers = {c.speaker for c in request.lines}
    mixed = sum(voice_segment(Path(request.speaker_tracks[s]), request.start, end) for s in sorted(speakers))
    return fit_length(np.clip(mixed, -1.0, 1.0), n)


def has_voice(request: WindowRequest) -> bool:
    """Whether the window is an A2V window (a voice track, or a recording for every speaker of its lines)."""
    if request.voice_track is not None:
        return True
    speakers = {c.speaker for c in request.lines}
    return bool(request.speaker_tracks) and speakers <= set(request.speaker_tracks)


def checkpoint_hashes(folder: Path, components: tuple[str, ...] | None = None) -> dict[str, str]:
    """sha256 of every weight/config file of `components` (model.weights layout) under `folder`.

    Hashing tens of GB takes minutes, so digests are remembered per (path, size, mtime) in
    DUBKIT_HOME/checkpoint-sha256.json; a changed file is hashed again.
    """
    folder = Path(folder)
    roots = [component_path(folder, c) for c in (components or ())] or [folder]
    files = sorted(
        {p for r in roots if r.is_dir() for p in r.rglob("*") if p.is_file() and p.suffix in WEIGHT_SUFFIXES}
    )
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
    uses_reference = True  # the window's first frame is the generation's reference image

    def __init__(
        self,
        generator,
        *,
        recipes: RecipeChoice | None = None,
        checkpoint_hashes: dict[str, str] | None = None,
    ):
        """`recipes`: the job's recipe settings (resolution, plain-window mode, fast SR, experimental distilled
        A2V); default: the official recipes at 256p."""
        self.generator = generator
        self.recipes = recipes or RecipeChoice()
        self.resolution = self.recipes.resolution
        self._hashes = checkpoint_hashes

    @classmethod
    def from_weights(
        cls,
        weights: Path,
        *,
        recipes: RecipeChoice | None = None,
        kinds: tuple[str, ...] = ("t2v",),
        device: str | None = None,
        preset: str = "15b",
    ) -> MagiHumanEngine:
        """Load the generator from a weights folder (model.weights layout) onto `device`, with the DiTs the
        recipes of these window kinds need ("a2v" loads the base model: the official A2V path).

        `preset` is the DiT architecture: "15b" for the released weights, "tiny" for tests that
        drive this same loading path with tiny random weights.
        """
        from model.generator import Generator

        recipes = recipes or RecipeChoice()
        device = device or ("cuda" if cuda_available() else "cpu")
        generator = Generator.from_pretrained(
            Path(weights),
            device=device,
            modes=recipes.modes(kinds),
            resolutions=(recipes.resolution,),
            preset=preset,
        )
        hashes = checkpoint_hashes(Path(weights), required_components(recipes, kinds))
        return cls(generator, recipes=recipes, checkpoint_hashes=hashes)

    def identity(self) -> dict[str, Any]:
        """Engine, resolution, recipe settings and the checkpoint hashes (file sha256, or in-memory weights)."""
        if self._hashes is None:
            parts = {
                k: getattr(self.generator, k, None)
                for k in ("dit", "text_encoder", "video_vae", "audio_vae", "turbo_vae")
            }
            self._hashes = {
                k: "state:" + state_digest(getattr(v, "module", v))
                for k, v in parts.items()
                if v is not None and hasattr(getattr(v, "module", v), "state_dict")
            }
        torch_version = package_version("torch")
        return {
            "engine": self.name,
            "preview": False,
            "resolution": self.resolution,
            "mode": self.recipes.mode,
            "recipes": asdict(self.recipes),
            "checkpoints": self._hashes,
            "torch": torch_version,
            "fps": MODEL_FPS,
            "sample_rate": MODEL_RATE,
        }

    def render(self, request: WindowRequest) -> WindowRender:
        """Generate the window: reference frame + prompt (+ voice track) -> frames and speech."""
        from model.generator import GeneratorInputError, VoiceTrack

        if request.reference_frame is None:
            raise InputError(f"window {request.index}: magihuman needs the window's first frame as reference")
        if not request.lines:
            raise InputError(f"window {request.index}: no line to speak in {request.language.code}")
        prompt = build_prompt(request)
        n_audio = round(request.duration * MODEL_RATE)
        recipe = self.recipes.recipe(voice=has_voice(request))
        seconds = model_seconds(request.duration)
        voice = _conditioning_voice(request, clip_frames(request.duration) / MODEL_FPS) if recipe.audio_fixed else None
        try:
            generation = self.generator.generate(
                prompt,
                reference_image=request.reference_frame,
                voice_track=VoiceTrack(samples=voice, sample_rate=MODEL_RATE) if voice is not None else None,
                seconds=None if voice is not None else seconds,
                resolution=self.resolution,
                mode=recipe.mode,
                seed=request.seed,
                a2v_distill_experimental=recipe.status == "experimental",
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
        audio = fit_length(voice, n_audio) if voice is not None else fit_length(to_stereo(generation.audio), n_audio)
        info = {
            "engine": self.name,
            "preview": False,
            "prompt": prompt,
            "seed": request.seed,
            "mode": recipe.mode,
            "resolution": self.resolution,
            "a2v": voice is not None,
            "recipe": recipe.facts(),
            "model_seconds": seconds,
            "generated_shape": list(generation.frames.shape),
            **fit,
        }
        return WindowRender(audio=audio, sample_rate=MODEL_RATE, frames=frames, fps=MODEL_FPS, info=info)


__all__ = ["MagiHumanEngine", "build_prompt", "checkpoint_hashes", "clip_frames", "has_voice", "model_seconds",
           "required_components"]
