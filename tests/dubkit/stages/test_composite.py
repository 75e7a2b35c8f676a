"""Brand-safe regeneration: which windows get new picture (faces) and the composite around the face.

The pictures are public-domain photos that ship with scikit-image: the astronaut portrait the example
spot is made from (a face) and the coffee cup (no face). The "regenerated" frames are synthetic (the
source's colours inverted), so a change anywhere outside the face region shows.
"""
import numpy as np
import pytest

from dubkit.adapters.av import read_frames
from dubkit.engines.base import WindowRender
from dubkit.errors import InputError
from dubkit.stages.composite import (
    FACE_PRESENCE,
    MIN_FACE_HEIGHT,
    at_rate,
    blend,
    check_mode,
    composite_render,
    decide,
    face_mask,
    find_faces,
    mask_preview,
    window_faces,
)
from dubkit.stages.plan import Plan, Window
from dubkit.store.cache import StageCache
from tests.dubkit.pictures import FPS, SIZE, source_video


@pytest.fixture(scope="module")
def photos():
    from skimage import data

    return {"astronaut": data.astronaut(), "coffee": data.coffee()}


@pytest.fixture(scope="module")
def two_shots(tmp_path_factory, photos):
    """Two seconds: the astronaut, then the coffee cup."""
    return source_video(tmp_path_factory.mktemp("faces") / "two.mp4", [photos["astronaut"], photos["coffee"]])


def test_a_window_over_the_astronaut_photo_is_lip_sync(two_shots):
    faces = window_faces(two_shots, Window(0, 0.0, 1.0, ()), "auto")
    assert faces.lipsync, faces.reason
    assert faces.frames_with_face == len(faces.boxes) and faces.face_height >= MIN_FACE_HEIGHT
    assert "face in 4/4 frames" in faces.reason and faces.summary()["picture"] == "lip-sync"


def test_a_window_over_the_coffee_cup_is_voice_only(two_shots):
    faces = window_faces(two_shots, Window(1, 1.0, 2.0, ()), "auto")
    assert not faces.lipsync and faces.face_height is None
    assert faces.summary() == {"picture": "voice-only", "reason": "no face in 4 frames", "face_height": None,
                               "frames_with_face": 0, "frames_looked_at": 4}


def test_lipsync_never_and_always_override_what_the_faces_say(two_shots, tmp_path):
    windows = (Window(0, 0.0, 1.0, ()), Window(1, 1.0, 2.0, ()))
    plan = Plan((1.0,), windows, {}, *SIZE)
    cache = StageCache(tmp_path)
    never = find_faces(two_shots, plan, "never", cache)
    always = find_faces(two_shots, plan, "always", cache)
    assert [f.lipsync for f in never.windows.values()] == [False, False]
    assert all(f.reason.startswith("--lipsync never") and not f.boxes for f in never.windows.values())
    assert [f.lipsync for f in always.windows.values()] == [True, True]
    assert always.windows[1].reason == "--lipsync always (no face in 4 frames)"
    assert never.key != always.key != find_faces(two_shots, plan, "auto", cache).key
    with pytest.raises(InputError, match="'sometimes'"):
        check_mode("sometimes")


def test_the_decision_needs_a_large_enough_face_in_enough_frames():
    big, small = (0.4, 0.1, 0.2, MIN_FACE_HEIGHT + 0.05), (0.4, 0.1, 0.05, MIN_FACE_HEIGHT / 2)
    assert decide("auto", [big] * 4)[0]
    lipsync, reason, height = decide("auto", [small] * 4)
    assert not lipsync and reason.startswith("face too small") and height == small[3]
    brief = [big] * round(4 * FACE_PRESENCE - 1) + [None] * 3
    lipsync, reason, _ = decide("auto", brief)
    assert not lipsync and reason.startswith("face on screen too briefly")


def test_the_mask_is_feathered_inside_the_face_ellipse_and_exactly_zero_outside():
    mask = face_mask((0.4, 0.2, 0.2, 0.3), 200, 100)
    assert mask.shape == (100, 200) and mask.max() == 1.0 and mask.min() == 0.0
    assert 0 < np.count_nonzero((mask > 0) & (mask < 1))  # a soft edge
    assert mask[:, :60].max() == 0 and mask[:, 140:].max() == 0  # well away from the face: nothing
    assert np.array_equal(face_mask(None, 20, 10), np.ones((10, 20), np.float32))


def test_blend_keeps_every_source_pixel_where_the_mask_is_zero():
    rng = np.random.default_rng(0)
    source = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    generated = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    mask = face_mask((0.3, 0.2, 0.3, 0.4), 80, 60)
    out = blend(source, generated, mask)
    assert np.array_equal(out[mask == 0], source[mask == 0])
    assert np.array_equal(out[mask == 1], generated[mask == 1])


def test_frames_are_taken_at_the_source_rate():
    frames = np.arange(25)[:, None, None, None] * np.ones((1, 2, 2, 3), np.uint8)  # frame k is all k
    picked = at_rate(frames, 25.0, 30, 30.0)
    assert len(picked) == 30 and picked[0, 0, 0, 0] == 0 and picked[-1, 0, 0, 0] == 24
    assert np.all(np.diff(picked[:, 0, 0, 0].astype(int)) >= 0)


def test_the_composite_leaves_pixels_outside_the_face_mask_identical(two_shots):
    window = Window(0, 0.0, 1.0, ())
    faces = window_faces(two_shots, window, "auto")
    originals = np.stack(read_frames(two_shots.path, [(k + 0.5) / FPS for k in range(30)]))
    generated = 255 - np.repeat(originals[:1], 25, axis=0)  # synthetic "regenerated" picture at 25 fps
    render = WindowRender(audio=np.zeros((100, 1), np.float32), sample_rate=100, frames=generated, fps=25.0)
    out = composite_render(two_shots, window, render, faces)
    assert out.fps == FPS and out.frames.shape == (30, SIZE[1], SIZE[0], 3)
    for k in (0, 17, 29):
        mask = face_mask(faces.box_at(k / FPS), SIZE[0], SIZE[1])
        outside = mask == 0
        assert outside.mean() > 0.8  # the mask is the face region, not the frame
        assert np.array_equal(out.frames[k][outside], originals[k][outside])
        inside = mask == 1
        assert inside.any() and np.array_equal(out.frames[k][inside], generated[0][inside])


def test_a_voice_only_window_keeps_no_generated_frame_and_a_preview_render_passes_through(two_shots):
    window = Window(1, 1.0, 2.0, ())
    faces = window_faces(two_shots, window, "auto")
    generated = np.zeros((25, SIZE[1], SIZE[0], 3), np.uint8)
    render = WindowRender(audio=np.zeros((10, 1), np.float32), sample_rate=10, frames=generated)
    assert composite_render(two_shots, window, render, faces).frames is None
    speech_only = WindowRender(audio=np.zeros((10, 1), np.float32), sample_rate=10)
    lipsync = window_faces(two_shots, Window(0, 0.0, 1.0, ()), "auto")
    assert composite_render(two_shots, Window(0, 0.0, 1.0, ()), speech_only, lipsync) is speech_only


def test_lipsync_always_over_a_faceless_window_takes_the_whole_generated_frame(two_shots):
    window = Window(1, 1.0, 2.0, ())
    faces = window_faces(two_shots, window, "always")
    generated = np.full((25, SIZE[1], SIZE[0], 3), 7, np.uint8)
    render = WindowRender(audio=np.zeros((10, 1), np.float32), sample_rate=10, frames=generated, fps=25.0)
    out = composite_render(two_shots, window, render, faces)
    assert faces.lipsync and out.frames.shape == (30, SIZE[1], SIZE[0], 3) and np.all(out.frames == 7)


def test_the_mask_preview_is_bright_around_the_face_and_dimmed_elsewhere(two_shots):
    frame = np.full((SIZE[1], SIZE[0], 3), 200, np.uint8)
    lipsync = window_faces(two_shots, Window(0, 0.0, 1.0, ()), "auto")
    preview = mask_preview(frame, lipsync)
    assert preview.max() == 200 and preview.min() == 50
    voice_only = window_faces(two_shots, Window(1, 1.0, 2.0, ()), "auto")
    assert mask_preview(frame, voice_only).max() == 50
