"""Window planning: speech spans and shot cuts -> frame-aligned windows of at most the clip length."""
import numpy as np
import pytest

from dubkit.errors import ScriptError
from dubkit.stages.plan import MAX_WINDOW, Window, assign_lines, cut_times, plan_windows
from eval.types import Cue

FPS = 25.0


def _aligned(t: float) -> bool:
    return abs(t * FPS - round(t * FPS)) < 1e-6


def test_close_cues_share_one_window_padded_and_frame_aligned():
    cues = [Cue("a", 1.03, 2.0), Cue("b", 2.3, 3.1)]
    (w,) = plan_windows(cues, duration=10.0, fps=FPS)
    assert w.cues == tuple(cues)
    assert w.start <= 1.03 and w.end >= 3.1
    assert _aligned(w.start) and _aligned(w.end)
    assert w.start >= 1.03 - 0.2 - 1 / FPS and w.end <= 3.1 + 0.2 + 1 / FPS


def test_a_long_pause_splits_windows_and_leaves_the_gap_unwindowed():
    windows = plan_windows([Cue("a", 0.5, 1.5), Cue("b", 5.0, 6.0)], duration=8.0, fps=FPS)
    assert len(windows) == 2
    assert windows[0].end < 5.0 - 0.2 and windows[1].start > 1.5 + 0.2 - 1e-9


def test_windows_never_cross_a_shot_cut():
    cues = [Cue("a", 0.5, 1.9), Cue("b", 2.1, 3.0)]
    windows = plan_windows(cues, duration=5.0, fps=FPS, cuts=[2.0])
    assert [len(w.cues) for w in windows] == [1, 1]
    assert windows[0].end <= 2.0 and windows[1].start >= 2.0


def test_windows_never_exceed_the_clip_length():
    cues = [Cue(str(i), i * 1.0, i * 1.0 + 0.8) for i in range(20)]
    windows = plan_windows(cues, duration=21.0, fps=FPS)
    assert all(w.duration <= MAX_WINDOW + 1e-9 for w in windows)
    assert sum(len(w.cues) for w in windows) == 20
    assert all(a.end <= b.start for a, b in zip(windows, windows[1:], strict=False))


def test_window_stays_inside_the_source():
    (w,) = plan_windows([Cue("a", 0.05, 2.9)], duration=3.0, fps=FPS)
    assert w.start == 0.0 and w.end <= 3.0


def test_a_cue_longer_than_the_clip_is_refused_with_its_text():
    with pytest.raises(ScriptError, match="too long|longer than"):
        plan_windows([Cue("a very long line", 0.0, 9.5)], duration=10.0, fps=FPS)


def test_an_untimed_cue_is_refused():
    with pytest.raises(ScriptError, match="no start/end"):
        plan_windows([Cue("untimed")], duration=10.0, fps=FPS)


def test_no_speech_means_no_windows():
    assert plan_windows([], duration=4.0, fps=FPS) == ()


def test_translated_lines_go_to_the_window_they_overlap_most_and_none_is_dropped():
    windows = (Window(0, 0.0, 2.0, ()), Window(1, 4.0, 6.0, ()))
    lines = [Cue("x", 0.2, 1.8), Cue("y", 3.9, 5.0), Cue("z", 2.5, 2.9)]
    assert assign_lines(windows, lines) == ((lines[0], lines[2]), (lines[1],))


def test_cut_detection_finds_a_hard_cut_and_ignores_motion_within_a_shot():
    rng = np.random.default_rng(0)
    dark = [np.clip(40 + rng.normal(0, 3, (36, 64, 3)), 0, 255).astype(np.uint8) for _ in range(10)]
    for i, f in enumerate(dark):  # a moving bright square inside the dark shot
        f[10:20, i * 4: i * 4 + 10] = 200
    bright = [np.full((36, 64, 3), 210, np.uint8) for _ in range(10)]
    assert cut_times(dark + bright, FPS) == (10 / FPS,)


def test_a_pan_that_changes_every_frame_is_not_a_cut():
    rng = np.random.default_rng(1)
    scene = rng.integers(0, 255, (36, 400, 3), dtype=np.uint8)
    frames = [np.ascontiguousarray(scene[:, 8 * i: 8 * i + 64]) for i in range(40)]
    assert cut_times(frames, FPS) == ()


def test_a_cut_between_shots_of_similar_colours_is_found():
    from skimage import data

    face = data.astronaut()
    wide = face[::8, ::8][:36, :64]
    close = face[100:280:5, 150:470:5][:36, :64]
    frames = [wide.copy() for _ in range(15)] + [close.copy() for _ in range(15)]
    assert cut_times(frames, FPS) == (15 / FPS,)
