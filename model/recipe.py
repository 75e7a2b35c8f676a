"""Sampling recipes: which DiT runs first, how many steps, CFG or not, what happens to the audio, and the SR stage,
for each kind of job (docs/model.md §Recipes). The one place these facts live; the generator and dubkit's engine
read them here.

Two job kinds: `t2v` (the model voices the lines: text, or text + reference image) and `a2v` (a supplied voice
track conditions the picture and is kept). What the official code and its released example configs run:

* t2v at 256p: the distilled DiT, 8 steps, no CFG (`example/distill`), or the base DiT, 32 UniPC steps with CFG
  against the negative prompt (`example/base`);
* super-resolution (540p, 1080p): the base DiT first (32 steps, CFG), then the SR DiT (5 steps, one conditional
  forward) — every released SR config loads `base` first;
* a2v: only the base sampler keeps a supplied voice track clean and fixed; the official distilled sampler applies
  its re-noising update to the supplied audio too, so the voice track is regenerated rather than conditioned on.

Anything else dubkit can run is labelled: distill + SR is the "fast" mode (no released config), distilled A2V with
the audio kept fixed is "experimental" (no official code runs it; whether the distilled weights follow a fixed
voice track is untested).
"""

from __future__ import annotations

from dataclasses import dataclass

from model.config import BASE_RESOLUTION, MODES, RESOLUTIONS
from model.errors import ModelError

KINDS = ("t2v", "a2v")
STATUSES = ("official", "fast", "experimental")


class RecipeError(ModelError, ValueError):
    """Recipe settings that contradict each other (the message names them)."""


@dataclass(frozen=True)
class Stage:
    """One sampling stage: the DiT it runs, its steps, CFG branches (2: prompt and negative prompt, 1: prompt
    only) and the coordinate style of its packing."""

    dit: str  # model.weights component: "base", "distill", "540p_sr", "1080p_sr"
    steps: int
    cfg_number: int
    coords: str  # "v2" (base, distill) | "v1" (SR)
    sampler: str  # "unipc" (flow UniPC) | "renoise" (the distilled sampler's fresh noise every step)


FIRST_STAGES: dict[str, Stage] = {
    "base": Stage("base", steps=32, cfg_number=2, coords="v2", sampler="unipc"),
    "distill": Stage("distill", steps=8, cfg_number=1, coords="v2", sampler="renoise"),
}
SR_STAGES: dict[str, Stage] = {
    "540p": Stage("540p_sr", steps=5, cfg_number=1, coords="v1", sampler="unipc"),
    "1080p": Stage("1080p_sr", steps=5, cfg_number=1, coords="v1", sampler="unipc"),
}
DEFAULT_T2V_MODE = "distill"  # plain 256p speech: the distilled example (8 steps) unless asked otherwise

LABELS = {
    "official": "",
    "fast": "fast mode: distilled first stage before SR (no released config runs it; the released SR configs "
            "run the base model first)",
    "experimental": "experimental: distilled A2V with the voice track kept fixed (no official code runs it; the "
                    "official distilled sampler regenerates supplied audio)",
}


@dataclass(frozen=True)
class Recipe:
    """What one generation runs: the job kind, the first stage, the optional SR stage and how official it is."""

    kind: str  # "t2v" | "a2v"
    resolution: str  # "256p" | "540p" | "1080p"
    first: Stage
    sr: Stage | None
    status: str  # "official" | "fast" | "experimental"

    @property
    def mode(self) -> str:
        """The first stage's DiT as a sampling mode ("base" | "distill")."""
        return self.first.dit

    @property
    def audio_fixed(self) -> bool:
        """A2V: the supplied voice track's latent is fed to every call, never stepped, and returned as it is."""
        return self.kind == "a2v"

    @property
    def label(self) -> str:
        """'' for an official recipe, else what makes it fast or experimental."""
        return LABELS[self.status]

    @property
    def name(self) -> str:
        """e.g. "a2v base 32 cfg2 + 540p_sr 5"."""
        first = f"{self.kind} {self.first.dit} {self.first.steps} cfg{self.first.cfg_number}"
        return first + (f" + {self.sr.dit} {self.sr.steps}" if self.sr else "")

    def facts(self) -> dict:
        """The recipe as plain data, for reports and cache keys."""
        facts = {
            "recipe": self.name, "kind": self.kind, "first_stage": self.first.dit, "steps": self.first.steps,
            "cfg_number": self.first.cfg_number, "audio": "voice track kept fixed" if self.audio_fixed else "generated",
            "sr": self.sr.dit if self.sr else None, "sr_steps": self.sr.steps if self.sr else 0,
            "status": self.status,
        }
        return facts | ({"label": self.label} if self.label else {})


def recipe_for(resolution: str = BASE_RESOLUTION, *, voice: bool = False, mode: str | None = None,
               a2v_distill_experimental: bool = False) -> Recipe:
    """The recipe a generation with these settings runs (the generator's rule).

    `mode` None takes the official default for the job (a2v and SR: base; plain 256p: distill). An explicit
    "distill" before SR is the fast mode; "distill" with a voice track needs `a2v_distill_experimental`.
    """
    if resolution not in RESOLUTIONS:
        raise RecipeError(f"resolution must be one of {', '.join(RESOLUTIONS)}, got {resolution!r}")
    if mode is not None and mode not in MODES:
        raise RecipeError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    sr = SR_STAGES.get(resolution)
    if mode is None:
        mode = "base" if voice or sr else DEFAULT_T2V_MODE
    if voice and mode == "distill" and not a2v_distill_experimental:
        raise RecipeError(
            "distilled A2V (mode 'distill' with a voice track) is experimental: the official distilled sampler "
            "regenerates supplied audio; use the base model (the official A2V path) or ask for it explicitly "
            "(a2v_distill_experimental / --a2v-distill-experimental)"
        )
    status = "official"
    if mode == "distill" and voice:
        status = "experimental"
    elif mode == "distill" and sr:
        status = "fast"
    return Recipe("a2v" if voice else "t2v", resolution, FIRST_STAGES[mode], sr, status)


@dataclass(frozen=True)
class RecipeChoice:
    """A job's recipe settings (dubkit's `--resolution`, `--mode`, `--sr-fast`, `--a2v-distill-experimental`).

    `mode` is the first stage of windows without a voice track; None takes the official default (256p: distill,
    SR: base). `sr_fast` runs those windows' first stage distilled before SR. Windows with a voice track run the
    base model (the official A2V path) unless `a2v_distill_experimental`.
    """

    resolution: str = BASE_RESOLUTION
    mode: str | None = None
    sr_fast: bool = False
    a2v_distill_experimental: bool = False

    def __post_init__(self) -> None:
        if self.resolution not in RESOLUTIONS:
            raise RecipeError(f"resolution must be one of {', '.join(RESOLUTIONS)}, got {self.resolution!r}")
        if self.mode is not None and self.mode not in MODES:
            raise RecipeError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        sr = self.resolution in SR_STAGES
        if self.sr_fast and not sr:
            raise RecipeError(f"--sr-fast changes the stage before super-resolution; resolution {self.resolution} "
                              f"has none (use 540p or 1080p)")
        if self.sr_fast and self.mode == "base":
            raise RecipeError("--sr-fast runs the distilled model before SR; it contradicts --mode base")
        if sr and self.mode == "distill" and not self.sr_fast:
            raise RecipeError(f"--mode distill at {self.resolution}: the released SR configs run the base model "
                              f"first; pass --sr-fast for the distilled fast mode")

    def recipe(self, voice: bool) -> Recipe:
        """The recipe of a window with (`voice`) or without a voice track."""
        if voice:
            mode = "distill" if self.a2v_distill_experimental else "base"
        else:
            mode = "distill" if self.sr_fast else self.mode
        return recipe_for(self.resolution, voice=voice, mode=mode,
                          a2v_distill_experimental=self.a2v_distill_experimental)

    def modes(self, kinds: tuple[str, ...] = ("t2v",)) -> tuple[str, ...]:
        """The first-stage DiTs a job with windows of these kinds loads."""
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise RecipeError(f"job kinds must be among {KINDS}, got {sorted(unknown)}")
        return tuple(dict.fromkeys(self.recipe(kind == "a2v").mode for kind in kinds))
