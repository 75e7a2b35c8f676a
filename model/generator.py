"""daVinci-MagiHuman end to end: prompt (+ reference image, + voice track) -> 25 fps frames + 44.1 kHz stereo.

`Generator.generate` is a numbered recipe over the stages (docs/model.md §Generator):

0. the recipe (model.recipe): which DiT runs first, its steps and CFG, whether the audio is kept fixed, SR;
1. encode the prompt (and, for the base sampler, the negative prompt, once per Generator);
2. reference image (TI2V): centre-crop to the target aspect, Lanczos resize, scale to [−1, 1], encode as a
   1-frame video;
3. starting noise (video; audio too unless a voice track is given, which is encoded and kept fixed: A2V);
4. first stage at 256p: 32-step UniPC with CFG against the negative prompt (base), or the 8-step distilled
   sampler;
5. optional latent super-resolution to 540p / 1080p (5 UniPC steps; 1080p with local attention);
6. decode video (the Turbo VAE by default, as the official pipeline; or the full Wan2.2 decoder) and audio
   (Stable Audio Open decoder).

All randomness comes from one CPU `torch.Generator` seeded with `seed`, drawn in a fixed order, so the same
seed gives the same noise on every device (the official code draws on the GPU with its own generator: same
distribution, different numbers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from model.adapters.audio_vae import OUTPUT_RATE, AudioVAE
from model.adapters.text_encoder import TextEncoder
from model.adapters.turbo_vae import TurboVAE, load_turbo_vae
from model.adapters.video_vae import SPATIAL_COMPRESSION, TEMPORAL_COMPRESSION, VideoVAE, to_uint8_frames
from model.config import (
    BASE_RESOLUTION,
    FRAME_RECEPTIVE_FIELD_1080P,
    LOCAL_ATTN_LAYERS_1080P,
    MODES,
    RESOLUTIONS,
)
from model.errors import ModelError
from model.offload import AUTO_HEADROOM, HostCopy, device_free_bytes, dit_activation_bytes, keeps_fit
from model.packing import local_attention_ranges, pack, unpack
from model.prompt import NEGATIVE_PROMPT
from model.recipe import FIRST_STAGES, SR_STAGES, Recipe, RecipeError, recipe_for
from model.samplers import NoiseFn, StepCallback, Velocity, prepare_sr, sample_base, sample_distill, sample_sr
from model.schedule import flow_schedule
from model.weights import (
    WeightsMissingError,
    check,
    component_names,
    component_path,
    turbo_vae_files,
)

FPS = 25
STEPS = {mode: stage.steps for mode, stage in FIRST_STAGES.items()}  # model.recipe holds the facts
SR_STEPS = SR_STAGES["540p"].steps

Progress = Callable[[str, int, int], None]
"""Called as (stage name, steps done, steps in stage)."""


OFFLOAD_LEVELS = ("none", "text", "auto", "all")


class GeneratorError(ModelError):
    """The generator cannot run as asked (a component it needs was not loaded, ...)."""


class GeneratorInputError(GeneratorError, ValueError):
    """A bad argument to `generate` (the message names the argument and its value)."""


class NoCudaError(GeneratorError):
    """Real weights were asked for on a GPU, but no CUDA device is available."""


@dataclass(frozen=True)
class VoiceTrack:
    """Speech to keep (A2V): float32 samples [n] or [n, channels] at `sample_rate` Hz."""

    samples: np.ndarray
    sample_rate: int


@dataclass(frozen=True)
class Latents:
    """Final latents of a run: video [1, 48, T, h, w] (normalised), audio [1, Na, 64]."""

    video: torch.Tensor
    audio: torch.Tensor
    recipe: Recipe | None = None


@dataclass(frozen=True)
class Generation:
    """A generated clip.

    frames: uint8 [F, H, W, 3] RGB at `fps` (F = 4·(T−1)+1 for T latent frames).
    audio: float32 [n, 2] stereo at `sample_rate` (44.1 kHz).
    """

    frames: np.ndarray
    audio: np.ndarray
    seed: int
    mode: str
    resolution: str
    fps: int = FPS
    sample_rate: int = OUTPUT_RATE
    recipe: Recipe | None = None  # what ran (model.recipe): kind, stages, official / fast / experimental


def clip_lengths(seconds: float) -> tuple[int, int]:
    """(pixel/audio frames F = 25·S + 1, latent frames T = (F−1)//4 + 1) for a clip of `seconds`."""
    frames = seconds * FPS
    if not np.isfinite(frames) or frames < 1 or abs(frames - round(frames)) > 1e-6:
        raise GeneratorInputError(f"seconds={seconds!r} must be positive and a whole number of 1/25 s frames")
    f = int(round(frames)) + 1
    return f, (f - 1) // TEMPORAL_COMPRESSION + 1


def a2v_lengths(track: VoiceTrack) -> tuple[int, int]:
    """(audio latent frames Na, latent frames T) of an A2V clip, from the voice track alone (as the official code).

    One audio latent frame is 2048 samples at 51.2 kHz = 40 ms, so Na = ⌈25·n / rate⌉ for n samples (a last,
    partial 40 ms frame is completed with silence); T = (Na − 1)//4 + 1, whose video has 4T − 3 ≤ Na frames.
    Nothing is padded to a further latent frame: a caller that needs V video frames passes 4·⌈(V − 1)/4⌉ + 1
    frames of audio (`a2v_audio_frames`).
    """
    n = np.asarray(track.samples).shape[0]
    frames = -(-n * FPS // track.sample_rate)  # exact integer ceil
    return frames, (frames - 1) // TEMPORAL_COMPRESSION + 1


def a2v_audio_frames(video_frames: int) -> int:
    """Audio frames (40 ms each) to supply so that an A2V clip has at least `video_frames` video frames: the
    smallest 4T − 3 >= video_frames (T latent frames)."""
    if video_frames < 1:
        raise GeneratorInputError(f"video_frames must be >= 1, got {video_frames}")
    return TEMPORAL_COMPRESSION * -(-(video_frames - 1) // TEMPORAL_COMPRESSION) + 1


def _rgb_array(image: np.ndarray | Image.Image) -> np.ndarray:
    """The reference image as uint8 (H, W, 3), or GeneratorInputError naming what it is instead."""
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("RGB"))
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or min(image.shape[:2]) < 1:
        raise GeneratorInputError(
            f"reference_image must be uint8 RGB (H, W, 3), got {image.dtype} array of shape {image.shape}"
        )
    return image


def centre_crop_box(width: int, height: int, target_w: int, target_h: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the official centre crop of a width×height image to the target aspect.

    The kept side stays whole, the other is truncated to an integer (`int(h·tw/th)`), and the box's float edges
    `(w ∓ new_w)/2` are rounded half to even, as Pillow's `crop` rounds them.
    """
    if (width, height) == (target_w, target_h):
        return 0, 0, width, height
    if height / width > target_h / target_w:  # too tall: keep the width
        new_w, new_h = width, int(width * target_h / target_w)
    else:
        new_w, new_h = int(height * target_w / target_h), height
    edges = ((width - new_w) / 2, (height - new_h) / 2, (width + new_w) / 2, (height + new_h) / 2)
    left, top, right, bottom = (int(round(e)) for e in edges)
    return left, top, right, bottom


def prepare_image(image: np.ndarray | Image.Image, width: int, height: int) -> torch.Tensor:
    """RGB image -> [1, 3, 1, height, width] in [−1, 1]: centre-crop to the target aspect, Lanczos resize, then
    x/255·2 − 1 in float32 (the official pipeline's image processor)."""
    image = Image.fromarray(_rgb_array(image))
    cropped = image.crop(centre_crop_box(image.width, image.height, width, height))
    resized = np.asarray(cropped.resize((width, height), Image.Resampling.LANCZOS), dtype=np.float32) / 255.0
    pixels = torch.from_numpy(2.0 * resized - 1.0).permute(2, 0, 1)  # (H,W,3) -> (3,H,W)
    return pixels[None, :, None]  # (1, 3, 1, H, W)


def run_first_stage(
    recipe: Recipe,
    cond: Velocity,
    uncond: Velocity | None,
    video: torch.Tensor,
    audio: torch.Tensor,
    noise: NoiseFn,
    *,
    reference: torch.Tensor | None = None,
    on_step: StepCallback | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The recipe's first stage: UniPC with CFG (base) or the re-noising distilled sampler; audio kept fixed for
    A2V. `uncond` (the negative-prompt branch) is needed for CFG only."""
    stage = recipe.first
    schedule = flow_schedule(stage.steps)
    if stage.sampler == "unipc":
        if uncond is None:
            raise GeneratorError(f"recipe {recipe.name} needs the unconditional (negative prompt) branch")
        return sample_base(cond, uncond, video, audio, schedule, reference=reference,
                           audio_fixed=recipe.audio_fixed, on_step=on_step)
    return sample_distill(cond, video, audio, schedule, noise, reference=reference,
                          audio_fixed=recipe.audio_fixed, on_step=on_step)


class Generator:
    """Runs MagiHuman from components; `from_pretrained` builds it from a models folder."""

    def __init__(
        self,
        dits: Mapping[str, torch.nn.Module],
        text_encoder: TextEncoder,
        video_vae: VideoVAE,
        audio_vae: AudioVAE,
        *,
        sr_dits: Mapping[str, torch.nn.Module] | None = None,
        turbo_vae: TurboVAE | None = None,
        device: str | torch.device = "cpu",
        offload: bool | str = False,
        resolutions: Mapping[str, tuple[int, int]] = RESOLUTIONS,
    ):
        """`dits` maps "distill"/"base" to base-stage DiTs; `sr_dits` maps "540p"/"1080p" to SR DiTs (the 1080p
        one built with `LOCAL_ATTN_LAYERS_1080P`). Video is decoded with `turbo_vae` when given, else with
        `video_vae`'s own (Wan2.2) decoder; `video_vae` always encodes reference images.
        `offload`: False/"none" keeps everything on `device`;
        "text" keeps only the text encoder in (pinned) host memory, lent to `device` just to encode and dropped
        after, never copied back (the 9B encoder is idle while the DiTs run: this is what lets base + 1080p SR DiTs
        share one 80 GB card); "auto" lends it the same way but keeps the GPU copy while the device's free memory
        still covers the run's DiT activations (`model.offload`); True/"all" also keeps the DiTs on the CPU and
        moves each to `device` only around its stage (smaller cards). On a CPU device nothing moves.
        `resolutions` maps names to (width, height); tests shrink it.
        """
        unknown = set(dits) - set(MODES)
        if unknown or not dits:
            raise GeneratorError(f"dits must map some of {MODES} to DiTs, got keys {sorted(dits)}")
        self.dits = dict(dits)
        self.sr_dits = dict(sr_dits or {})
        bad_sr = set(self.sr_dits) - (set(resolutions) - {BASE_RESOLUTION})
        if bad_sr:
            raise GeneratorError(f"sr_dits keys {sorted(bad_sr)} are not SR resolutions of {sorted(resolutions)}")
        self.text_encoder, self.video_vae, self.audio_vae = text_encoder, video_vae, audio_vae
        self.turbo_vae = turbo_vae
        self.device = torch.device(device)
        self.offload = _offload_level(offload)
        lend = self.offload != "none" and self.device.type == "cuda"
        self._text_host = HostCopy(text_encoder.model) if lend else None
        self.resolutions = dict(resolutions)
        for name, (w, h) in self.resolutions.items():
            if w % (2 * SPATIAL_COMPRESSION) or h % (2 * SPATIAL_COMPRESSION):
                raise GeneratorError(f"resolution {name} = {w}x{h} must be a multiple of 32 in both directions")
        self._negative: torch.Tensor | None = None

    # ------------------------------------------------------------------------------------------ construction
    @classmethod
    def from_pretrained(
        cls,
        folder: str | Path,
        device: str | torch.device = "cuda",
        *,
        offload: bool | str = "auto",
        modes: tuple[str, ...] = ("distill",),
        resolutions: tuple[str, ...] = (BASE_RESOLUTION,),
        preset: str = "15b",
        vae: str = "turbo",
        compile: bool | None = None,
    ) -> Generator:
        """Load the real weights from a models folder (layout: `model.weights`): bf16 DiTs, bf16 T5Gemma and
        Wan2.2 VAE, float32 audio VAE, and (`vae="turbo"`, the default) the Turbo VAE that decodes video as the
        official pipeline does (bf16 on CUDA, float32 on a CPU); `vae="wan"` decodes with the full Wan2.2 decoder
        instead. Only the DiTs for `modes` and the SR models for `resolutions` load. The folder may be in
        dubkit's or the official layout.

        Raises WeightsMissingError listing every missing file, or NoCudaError ("no CUDA device") when `device`
        is a CUDA device and none is available. Pass device="cpu" deliberately to run without a GPU.
        `preset` is the DiT architecture ("15b"; "tiny" for tests of this loading path). Every DiT runs its exact
        fast paths (`model.loading.with_fast_paths`): MLP padded to a multiple of 64 and chunked, and layers compiled
        with a dynamic token count (`compile`; default: on CUDA).
        """
        from model.loading import load_dit, with_fast_paths

        device = torch.device(device)
        no_cuda = device.type == "cuda" and not torch.cuda.is_available()
        missing = check(folder, component_names(modes, resolutions, vae))
        if missing:
            raise WeightsMissingError(Path(folder), missing, extra="\nand no CUDA device" if no_cuda else "")
        if no_cuda:
            raise NoCudaError(f"no CUDA device: torch {torch.__version__} sees no GPU, so {device} is unavailable")
        level = _offload_level(offload)
        resident = torch.device("cpu") if level == "all" else device
        text = TextEncoder.from_pretrained(component_path(folder, "t5gemma"),
                                           device if level == "none" else torch.device("cpu"), torch.bfloat16)
        video = VideoVAE.from_pretrained(component_path(folder, "wan22_vae"), device, torch.bfloat16)
        audio = AudioVAE.from_pretrained(component_path(folder, "sao_vae"), device, torch.float32)
        # bf16 as the official pipeline on a GPU; float32 on a CPU, where bf16 3-D convolutions are far slower
        turbo_dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
        turbo = load_turbo_vae(*turbo_vae_files(folder), device, turbo_dtype) if vae == "turbo" else None
        dits = {m: load_dit(component_path(folder, m), preset, resident, torch.bfloat16) for m in modes}
        sr = {}
        for res in resolutions:
            if res != BASE_RESOLUTION:
                local = LOCAL_ATTN_LAYERS_1080P if res == "1080p" else None
                sr[res] = load_dit(component_path(folder, f"{res}_sr"), preset, resident, torch.bfloat16, local)
        for dit in (*dits.values(), *sr.values()):
            with_fast_paths(dit, device, compile)  # padded MLP, chunked MLP, compiled layers: all exact
        return cls(dits, text, video, audio, sr_dits=sr, turbo_vae=turbo, device=device, offload=offload)

    # ------------------------------------------------------------------------------------------ the recipe
    @torch.no_grad()
    def generate(
        self,
        prompt: str,
        *,
        reference_image: np.ndarray | Image.Image | None = None,
        voice_track: VoiceTrack | None = None,
        seconds: float | None = None,
        resolution: str = BASE_RESOLUTION,
        mode: str | None = None,
        seed: int = 0,
        progress: Progress | None = None,
        a2v_distill_experimental: bool = False,
    ) -> Generation:
        """Generate a clip: frames uint8 (F, H, W, 3) at 25 fps and stereo float32 audio at 44.1 kHz.

        `mode` None runs the official recipe for the job (model.recipe): with a voice track or before SR the
        base model (32 steps, CFG), else the distilled one. An explicit "distill" before SR is the (labelled)
        fast mode; with a voice track it needs `a2v_distill_experimental`. `seconds` (default 5) sets the length
        of a clip without a voice track; with one, the length follows the track (`a2v_lengths`).
        """
        latents = self.generate_latents(
            prompt, reference_image=reference_image, voice_track=voice_track, seconds=seconds,
            resolution=resolution, mode=mode, seed=seed, progress=progress,
            a2v_distill_experimental=a2v_distill_experimental,
        )
        # 6. decode
        decoder = self.turbo_vae if self.turbo_vae is not None else self.video_vae
        frames = to_uint8_frames(decoder.decode(latents.video)[0]).cpu().numpy()
        audio = self.audio_vae.decode(latents.audio)
        return Generation(frames=frames, audio=audio, seed=seed, mode=latents.recipe.mode, resolution=resolution,
                          recipe=latents.recipe)

    @torch.no_grad()
    def generate_latents(
        self,
        prompt: str,
        *,
        reference_image: np.ndarray | Image.Image | None = None,
        voice_track: VoiceTrack | None = None,
        seconds: float | None = None,
        resolution: str = BASE_RESOLUTION,
        mode: str | None = None,
        seed: int = 0,
        progress: Progress | None = None,
        a2v_distill_experimental: bool = False,
    ) -> Latents:
        """Steps 0-5 of `generate`: the final latents before decoding."""
        # 0. the recipe, and the clip length (from the voice track in A2V)
        recipe = self._recipe(resolution, voice_track, mode, a2v_distill_experimental)
        frames, latent_frames = self._lengths(seconds, voice_track)
        self._check_request(prompt, resolution, recipe.mode, seed)
        if reference_image is not None:
            reference_image = _rgb_array(reference_image)  # fail before any model work
        rng = torch.Generator("cpu").manual_seed(seed)
        noise = self._noise_fn(rng)

        # 1. prompt features (the negative prompt only for the CFG sampler, encoded once per Generator)
        with self._text_encoder_lent(lambda: self._activation_reserve(mode, resolution, latent_frames, frames)):
            text = self.text_encoder.encode(prompt).to(self.device)
            negative = self._negative_features() if recipe.first.cfg_number == 2 else None

        # 2. reference latent at the base resolution
        width, height = self.resolutions[BASE_RESOLUTION]
        reference = self._encode_reference(reference_image, width, height)

        # 3. starting noise: video first, then audio (or the fixed, clean voice-track latent)
        shape = (1, 48, latent_frames, height // SPATIAL_COMPRESSION, width // SPATIAL_COMPRESSION)
        video = noise(torch.empty(shape, device=self.device))
        if voice_track is None:
            audio = noise(torch.empty((1, frames, 64), device=self.device))
        else:
            audio = self.audio_vae.encode(voice_track.samples, voice_track.sample_rate, frames, rng).to(self.device)

        # 4. first stage
        dit = self.dits[recipe.mode]
        on_step = self._reporter(progress, f"{recipe.mode} stage", recipe.first.steps)
        with self._on_device(dit, "all"):
            uncond = self._velocity(dit, negative, "v2") if negative is not None else None
            video, audio = run_first_stage(recipe, self._velocity(dit, text, "v2"), uncond, video, audio, noise,
                                           reference=reference, on_step=on_step)

        # 5. latent super-resolution; the clean first-stage audio is the output audio
        if resolution != BASE_RESOLUTION:
            video = self._super_resolve(video, audio, text, reference_image, resolution, noise, progress)
        return Latents(video=video, audio=audio, recipe=recipe)

    # ------------------------------------------------------------------------------------------ stages
    def _super_resolve(self, video, audio, text, reference_image, resolution, noise, progress) -> torch.Tensor:
        width, height = self.resolutions[resolution]
        video_sr, audio_context = prepare_sr(
            video, audio, (height // SPATIAL_COMPRESSION, width // SPATIAL_COMPRESSION), noise
        )
        reference = self._encode_reference(reference_image, width, height)
        dit = self.sr_dits[resolution]
        schedule = flow_schedule(SR_STEPS)
        with self._on_device(dit, "all"):
            return sample_sr(
                self._velocity(dit, text, "v1"), video_sr, audio_context, schedule,
                reference=reference, on_step=self._reporter(progress, f"{resolution} super-resolution", SR_STEPS),
            )

    def _velocity(self, dit: torch.nn.Module, text: torch.Tensor, style: str) -> Velocity:
        """Wrap the DiT as a sampler velocity function over batched latents (batch size 1)."""
        local = bool(dit.cfg.local_attn_layers)

        def velocity(video: torch.Tensor, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            packed = pack(video[0], audio[0], text, style)  # (48,T,h,w), (Na,64), (Nt,C)
            ranges = local_attention_ranges(packed, FRAME_RECEPTIVE_FIELD_1080P) if local else (None, None)
            out = dit(packed.x, packed.coords, packed.modality, *ranges)  # (L, 192)
            v_video, v_audio = unpack(out, packed)
            return v_video[None], v_audio[None]

        return velocity

    def _encode_reference(self, image, width: int, height: int) -> torch.Tensor | None:
        if image is None:
            return None
        pixels = prepare_image(image, width, height).to(self.device)
        return self.video_vae.encode(pixels).to(self.device)  # (1, 48, 1, h, w)

    def _negative_features(self) -> torch.Tensor:
        if self._negative is None:
            self._negative = self.text_encoder.encode(NEGATIVE_PROMPT).to(self.device)
        return self._negative

    def _noise_fn(self, rng: torch.Generator):
        # Drawn on the CPU so a seed means the same noise on every device.
        def noise(like: torch.Tensor) -> torch.Tensor:
            return torch.randn(like.shape, generator=rng, dtype=torch.float32).to(like.device)

        return noise

    @contextmanager
    def _text_encoder_lent(self, needed_bytes: Callable[[], int]) -> Iterator[None]:
        """Lend the text encoder to the device while encoding; afterwards drop its copy, unless `offload="auto"`
        finds the memory the rest of the run needs (`needed_bytes()`) free with the encoder resident."""
        if self._text_host is None:
            yield
            return
        self._text_host.lend(self.device)
        try:
            yield
        finally:
            if self.offload != "auto" or not keeps_fit(device_free_bytes(self.device), needed_bytes()):
                self._text_host.drop()

    def _activation_reserve(self, mode: str, resolution: str, latent_frames: int, frames: int) -> int:
        """AUTO_HEADROOM × the activation estimate of this request's largest DiT stage (text at its 640 tokens)."""
        dit = self.sr_dits.get(resolution, self.dits[mode])
        width, height = self.resolutions[resolution]
        video = latent_frames * (height // (2 * SPATIAL_COMPRESSION)) * (width // (2 * SPATIAL_COMPRESSION))
        tokens = video + frames + self.text_encoder.max_tokens
        return int(AUTO_HEADROOM * dit_activation_bytes(dit.cfg, tokens, getattr(dit, "mlp_chunk", None)))

    @contextmanager
    def _on_device(self, module: torch.nn.Module, needs: str) -> Iterator[None]:
        """Hold `module` on the compute device only for the duration of its stage when the offload level
        covers it ("text": only the text encoder; "all": text encoder and DiTs)."""
        if self.offload == "none" or (needs == "all" and self.offload != "all"):
            yield
            return
        module.to(self.device)
        try:
            yield
        finally:
            module.to("cpu")
            if self.device.type == "cuda":
                torch.cuda.empty_cache()

    @staticmethod
    def _reporter(progress: Progress | None, stage: str, total: int):
        if progress is None:
            return None
        return lambda i, video, audio: progress(stage, i + 1, total)

    def _recipe(self, resolution, voice_track, mode, a2v_distill_experimental) -> Recipe:
        if resolution not in self.resolutions:
            raise GeneratorInputError(f"resolution must be one of {sorted(self.resolutions)}, got {resolution!r}")
        try:
            return recipe_for(resolution, voice=voice_track is not None, mode=mode,
                              a2v_distill_experimental=a2v_distill_experimental)
        except RecipeError as err:
            raise GeneratorInputError(str(err)) from err

    @staticmethod
    def _lengths(seconds: float | None, voice_track: VoiceTrack | None) -> tuple[int, int]:
        """(audio frames, latent frames): from `seconds` (default 5 s), or in A2V from the voice track alone."""
        if voice_track is None:
            return clip_lengths(5.0 if seconds is None else seconds)
        if seconds is not None:
            raise GeneratorInputError(
                f"seconds={seconds!r} with a voice track: an A2V clip's length follows the track; leave seconds out"
            )
        _check_voice_track(voice_track)
        return a2v_lengths(voice_track)

    def _check_request(self, prompt, resolution, mode, seed) -> None:
        if not isinstance(prompt, str) or not prompt.strip():
            raise GeneratorInputError(f"prompt must be a non-empty string, got {prompt!r}")
        if mode not in self.dits:
            raise GeneratorError(f"mode {mode!r} needs the {mode} DiT, which this Generator was not built with")
        if resolution != BASE_RESOLUTION and resolution not in self.sr_dits:
            raise GeneratorError(f"resolution {resolution!r} needs the {resolution} SR DiT, which was not loaded")
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
            raise GeneratorInputError(f"seed must be an integer in [0, 2**63), got {seed!r}")


def _check_voice_track(track: VoiceTrack) -> None:
    """A voice track must be non-empty, finite float audio [n] or [n, channels] at a positive sample rate."""
    if not isinstance(track, VoiceTrack):
        raise GeneratorInputError(f"voice_track must be a VoiceTrack, got {type(track).__name__}")
    samples = np.asarray(track.samples)
    if samples.ndim not in (1, 2) or samples.shape[0] == 0 or not np.issubdtype(samples.dtype, np.floating):
        raise GeneratorInputError(
            f"voice_track samples must be a non-empty float array [n] or [n, channels], got {samples.dtype} "
            f"{samples.shape}"
        )
    if not isinstance(track.sample_rate, int) or track.sample_rate <= 0:
        raise GeneratorInputError(f"voice_track sample_rate must be a positive integer, got {track.sample_rate!r}")
    if not np.isfinite(samples).all():
        raise GeneratorInputError("voice_track contains NaN or infinite samples")


def _offload_level(offload: bool | str) -> str:
    """False/True are the old spellings of "none"/"all"."""
    level = ("all" if offload else "none") if isinstance(offload, bool) else offload
    if level not in OFFLOAD_LEVELS:
        raise GeneratorInputError(
            f"offload must be one of {', '.join(OFFLOAD_LEVELS)} (or True/False), got {offload!r}")
    return level
