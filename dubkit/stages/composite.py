"""Step 3b, faces, and the composite: which windows get new picture, and where it goes back.

Brand-safe regeneration (docs/localize.md): a window's picture is regenerated only where a face is on
screen and large enough to lip-sync; every other window keeps its original frames and gets the new speech
alone ("voice-only"). Where a window is lip-synced, the generated picture is put back only inside a
feathered ellipse around the face and mouth, tracked frame by frame from the detections, so logos, text and
background outside it stay pixel-identical to the source. The generated frames are taken at the source's
frame rate (nearest generated frame in time), so the spliced window has the source's frames, one for one.

`find_faces` is the recipe step (cached per source and windows); `composite_render` is called by the
deliver step on each window's chosen render; any engine that returns frames goes through it.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from dubkit.adapters.av import frames_at
from dubkit.adapters.faces import Face, detect_faces, detector_identity, shrink
from dubkit.engines.base import WindowRender
from dubkit.errors import InputError
from dubkit.stages.plan import Plan, Window
from dubkit.stages.probe import SourceInfo
from dubkit.store.cache import StageCache, cache_key

LIPSYNC_MODES = ("auto", "always", "never")
# auto: lip-sync a window when its largest face is at least MIN_FACE_HEIGHT of the frame's height in at least
# FACE_PRESENCE of the frames looked at. Smaller faces show too few mouth pixels for new lips to read as
# speech (at the model's 256p a 12 % face is a 30-pixel face), and regenerating them risks the picture for
# nothing; a face on screen for less than half the window is a cutaway, not a speaker.
MIN_FACE_HEIGHT = 0.12
FACE_PRESENCE = 0.5
DETECT_FPS = 4.0  # frames looked at per second of window; boxes in between are interpolated
ANALYSIS_HEIGHT = 240  # frames are scaled to this height before detection
# The composited region: an ellipse centred a little below the face box's centre (the mouth and chin sit in
# its lower half), with half-axes grown by MASK_GROW, whose outer FEATHER (as a fraction of the radius) fades
# the generated picture into the source's.
MASK_DROP = 0.1  # centre moved down by this fraction of the face height
MASK_GROW = 0.35
FEATHER = 0.3

Box = tuple[float, float, float, float]  # x, y, width, height as fractions of the frame's width and height


@dataclass(frozen=True)
class WindowFaces:
    """What the face step decided for one window, and the face track the composite follows.

    `times` are window-relative seconds of the frames looked at; `boxes` the largest face in each (None
    where none was found). `face_height` is the median height of those faces as a fraction of the frame's.
    """

    index: int
    lipsync: bool
    reason: str
    face_height: float | None
    times: tuple[float, ...]
    boxes: tuple[Box | None, ...]

    @property
    def frames_with_face(self) -> int:
        return sum(b is not None for b in self.boxes)

    def box_at(self, t: float) -> Box | None:
        """The face box at window-relative time `t`: interpolated between the nearest detections either
        side, held before the first and after the last; None when no frame had a face."""
        found = [(s, b) for s, b in zip(self.times, self.boxes, strict=True) if b is not None]
        if not found:
            return None
        before = [(s, b) for s, b in found if s <= t]
        after = [(s, b) for s, b in found if s > t]
        if not before or not after:
            return (before or after)[-1 if before else 0][1]
        (s0, b0), (s1, b1) = before[-1], after[0]
        k = (t - s0) / (s1 - s0)
        return tuple(a + k * (b - a) for a, b in zip(b0, b1, strict=True))  # type: ignore[return-value]

    def to_json(self) -> dict:
        return {**asdict(self), "times": list(self.times), "boxes": [list(b) if b else None for b in self.boxes]}

    @classmethod
    def from_json(cls, data: dict) -> WindowFaces:
        return cls(index=int(data["index"]), lipsync=bool(data["lipsync"]), reason=str(data["reason"]),
                   face_height=data["face_height"], times=tuple(float(t) for t in data["times"]),
                   boxes=tuple(tuple(float(v) for v in b) if b else None for b in data["boxes"]))

    def summary(self) -> dict:
        """The report's record of the decision."""
        return {"picture": "lip-sync" if self.lipsync else "voice-only", "reason": self.reason,
                "face_height": None if self.face_height is None else round(self.face_height, 4),
                "frames_with_face": self.frames_with_face, "frames_looked_at": len(self.boxes)}


@dataclass(frozen=True)
class FacePlan:
    """Step 3b's result: the `--lipsync` mode and each window's decision; `key` identifies it all."""

    mode: str
    windows: dict[int, WindowFaces]
    key: str


def check_mode(mode: str) -> str:
    """`mode` when it is one of LIPSYNC_MODES, else InputError naming it."""
    if mode not in LIPSYNC_MODES:
        raise InputError(f"unknown --lipsync {mode!r}; choose one of {', '.join(LIPSYNC_MODES)}")
    return mode


def decide(mode: str, boxes: Sequence[Box | None]) -> tuple[bool, str, float | None]:
    """(lip-sync?, why, median face height) for a window whose frames showed `boxes`."""
    heights = sorted(b[3] for b in boxes if b is not None)
    height = heights[len(heights) // 2] if heights else None
    large = sum(b is not None and b[3] >= MIN_FACE_HEIGHT for b in boxes)
    seen = (f"face in {len(heights)}/{len(boxes)} frames, {height:.0%} of the frame's height" if heights
            else f"no face in {len(boxes)} frames")
    if mode == "never":
        return False, f"--lipsync never ({seen})", height
    if mode == "always":
        return True, f"--lipsync always ({seen})", height
    if large >= FACE_PRESENCE * len(boxes) and large:
        return True, seen, height
    if not heights:
        return False, seen, height
    if height is not None and height < MIN_FACE_HEIGHT:
        return False, f"face too small: {seen}, under {MIN_FACE_HEIGHT:.0%}", height
    return False, f"face on screen too briefly: {seen}, large enough in {large}", height


def look_times(window: Window) -> tuple[float, ...]:
    """Window-relative times of the frames looked at: DETECT_FPS per second, centred in their slots."""
    n = max(1, math.ceil(window.duration * DETECT_FPS - 1e-9))
    return tuple(round((k + 0.5) * window.duration / n, 6) for k in range(n))


def largest_face(frame: np.ndarray) -> Box | None:
    """The largest face at least MIN_FACE_HEIGHT/2 of the frame's height, as fractions of its size."""
    small = shrink(frame, ANALYSIS_HEIGHT)
    h, w = small.shape[:2]
    faces: tuple[Face, ...] = detect_faces(small, min_height=round(MIN_FACE_HEIGHT / 2 * h))
    if not faces:
        return None
    f = faces[0]
    return (round(f.x / w, 5), round(f.y / h, 5), round(f.width / w, 5), round(f.height / h, 5))


def window_faces(source: SourceInfo, window: Window, mode: str) -> WindowFaces:
    """Look for faces in one window of the source and decide (never: no frame is decoded)."""
    if mode == "never":
        return WindowFaces(window.index, False, "--lipsync never", None, (), ())
    times = look_times(window)
    frames = frames_at(source.path, [window.start + t for t in times], height=ANALYSIS_HEIGHT)
    boxes = tuple(largest_face(f) for f in frames)
    lipsync, reason, height = decide(mode, boxes)
    return WindowFaces(window.index, lipsync, reason, height, times, boxes)


def find_faces(source: SourceInfo, plan: Plan, mode: str, cache: StageCache) -> FacePlan:
    """Step 3b: every window's faces and decision, cached by the source, the windows, mode and detector."""
    rule = {"min_face_height": MIN_FACE_HEIGHT, "presence": FACE_PRESENCE, "detect_fps": DETECT_FPS,
            "analysis_height": ANALYSIS_HEIGHT}
    key = cache_key("faces", source=source.digest, windows=[[w.index, w.start, w.end] for w in plan.windows],
                    mode=check_mode(mode), rule=rule, detector=detector_identity())
    hit = cache.get_json("faces", key)
    if hit is None:
        hit = {"windows": [window_faces(source, w, mode).to_json() for w in plan.windows]}
        cache.put_json("faces", key, hit)
    windows = {d["index"]: WindowFaces.from_json(d) for d in hit["windows"]}
    mask = {"drop": MASK_DROP, "grow": MASK_GROW, "feather": FEATHER}
    return FacePlan(mode=mode, windows=windows, key=cache_key("composite", faces=key, mask=mask))


def face_mask(box: Box | None, width: int, height: int) -> np.ndarray:
    """(height, width) float32 weights of the generated picture: 1 inside the face ellipse, a smooth fall
    to exactly 0 at its edge and beyond; all ones when there is no face to follow (`--lipsync always`)."""
    if box is None:
        return np.ones((height, width), np.float32)
    x, y, w, h = box
    cx, cy = (x + w / 2) * width, (y + h / 2 + MASK_DROP * h) * height
    ax, ay = w / 2 * (1 + MASK_GROW) * width, h / 2 * (1 + MASK_GROW) * height
    mask = np.zeros((height, width), np.float32)
    # only the ellipse's bounding box is computed: at 1080p the face is a small part of the frame
    x0, x1 = max(0, math.floor(cx - ax)), min(width, math.ceil(cx + ax))
    y0, y1 = max(0, math.floor(cy - ay)), min(height, math.ceil(cy + ay))
    if x1 <= x0 or y1 <= y0:
        return mask
    xs = (np.arange(x0, x1, dtype=np.float32) + 0.5 - cx) / ax
    ys = (np.arange(y0, y1, dtype=np.float32) + 0.5 - cy) / ay
    r = np.sqrt(ys[:, None] ** 2 + xs[None, :] ** 2)
    k = np.clip((1.0 - r) / FEATHER, 0.0, 1.0)
    mask[y0:y1, x0:x1] = k * k * (3 - 2 * k)  # smoothstep: no visible seam at either edge
    return mask


def blend(source: np.ndarray, generated: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """One frame: the generated picture where `mask` > 0, weighted by it; the source's exact pixels elsewhere."""
    if source.shape != generated.shape or mask.shape != source.shape[:2]:
        raise ValueError(f"blend needs equal frames and an (H, W) mask: {source.shape}, {generated.shape}, "
                         f"{mask.shape}")
    out = source.copy()
    rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    if not len(rows):
        return out
    box = np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    a = mask[box][..., None]
    mixed = source[box] * (1.0 - a) + generated[box] * a  # a == 0 gives the source value exactly
    out[box] = np.rint(mixed).astype(np.uint8)
    return out


def at_rate(frames: np.ndarray, fps: float, n: int, out_fps: float) -> np.ndarray:
    """`n` frames at `out_fps` from `frames` at `fps`: the frame on screen at each output frame's start."""
    picks = [min(len(frames) - 1, math.floor(k / out_fps * fps + 1e-6)) for k in range(n)]
    return frames[picks]


def composite_render(source: SourceInfo, window: Window, render: WindowRender, faces: WindowFaces) -> WindowRender:
    """The render as delivered: voice-only windows lose their frames (the source's stay); lip-synced windows
    get the source's frames with the generated picture blended in around the face, at the source's rate.
    A render without frames (the preview engine) is returned as it is."""
    if not faces.lipsync:
        return replace(render, frames=None)
    if render.frames is None:
        return render
    n = max(1, round(window.duration * source.fps))
    generated = at_rate(np.asarray(render.frames), render.fps, n, source.fps)
    out = np.empty((n, source.height, source.width, 3), np.uint8)
    originals = frames_at(source.path, [window.start + (k + 0.5) / source.fps for k in range(n)])
    for k, original in enumerate(originals):  # one source frame in memory at a time
        mask = face_mask(faces.box_at(k / source.fps), original.shape[1], original.shape[0])
        out[k] = blend(original, generated[k], mask)
    return replace(render, frames=out, fps=source.fps)


def mask_preview(frame: np.ndarray, faces: WindowFaces) -> np.ndarray:
    """The window's first frame as the report shows the mask: full brightness where the picture may be
    regenerated, dimmed to a quarter where the source stays (all dimmed for a voice-only window)."""
    mask = face_mask(faces.box_at(0.0), frame.shape[1], frame.shape[0]) if faces.lipsync else None
    weight = 0.25 if mask is None else 0.25 + 0.75 * mask
    return np.rint(frame * np.atleast_2d(weight)[..., None]).astype(np.uint8)


def mask_previews(plan: Plan, faces: FacePlan) -> dict[int, np.ndarray]:
    """mask_preview of every window's first frame, by window index (the report's mask thumbnails)."""
    return {i: mask_preview(plan.small_reference(i), f) for i, f in faces.windows.items() if i in plan.references}
