"""Burned-in subtitles: drawn inside the subtitle area only, Chinese drawn as glyphs (not the empty boxes of a
font without CJK), and a font that lacks the script refused with a clear error."""
from __future__ import annotations

from pathlib import Path

import ffmpeg as ffmpeg_python
import numpy as np
import pytest
from PIL import Image

from dubkit.adapters import ffmpeg
from dubkit.adapters.av import read_frames
from dubkit.adapters.fonts import missing_characters
from dubkit.errors import InputError
from dubkit.stages.deliver import Delivery, assemble
from dubkit.stages.delivery.burn_in import MARGIN_BOTTOM, burn_in_files, choose_font
from dubkit.stages.delivery.profiles import PROFILES
from eval.types import Cue
from langs import get_language
from tests.dubkit.fonts import cjk_font, latin_only_font

pytestmark = pytest.mark.slow
LINE = "美好的一天，从一杯开始。"
CHANGED = 40  # a pixel "changed" when a channel moved by more than this


def _changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(int) - b.astype(int)).max(axis=-1) > CHANGED


def test_burned_in_subtitles_change_the_subtitle_area_only(delivered):
    """The social file (burned in) against the streaming file (same picture settings, not burned in), at 4 s
    where cue 2 is on screen."""
    (burned,) = read_frames(delivered("social").video, [4.0])
    (plain,) = read_frames(delivered("streaming").video, [4.0])
    h, w, _ = burned.shape
    changed = _changed(burned, plain)
    area = changed[int(0.7 * h) : h - int(MARGIN_BOTTOM * h) + 2, int(0.05 * w) : int(0.95 * w)]
    assert area.mean() > 0.03  # text strokes and outline
    assert changed[: int(0.6 * h)].mean() < 0.001  # nothing above it
    assert changed[h - int(MARGIN_BOTTOM * h) + 3 :].mean() < 0.001  # the safe-area margin below stays clear


def _render_line(font, folder: Path) -> np.ndarray:
    """The line burned into one grey 384x384 frame with `font` alone (no fallback font)."""
    burn = burn_in_files([Cue(LINE, 0.0, 1.0)], font, 384, 384, folder, [get_language("zh")])
    png = folder / "frame.png"
    stream = (ffmpeg_python.input("color=c=gray:s=384x384:d=1", f="lavfi").video
              .filter("subtitles", **burn.filter_args()).output(str(png), vframes=1, update=1))
    ffmpeg.run(stream, what="rendering a test line", cwd=burn.folder, env=burn.env())
    return np.asarray(Image.open(png).convert("RGB"))


def _cell_difference(frame: np.ndarray, grey: np.ndarray) -> float:
    """How different the drawn characters are from one another: the inked span cut into one cell per
    character, the mean share of pixels that differ between neighbouring cells."""
    ink = _changed(frame, grey)
    ys, xs = np.nonzero(ink)
    edges = np.linspace(xs.min(), xs.max() + 1, len(LINE) + 1).round().astype(int)
    width = int(np.diff(edges).min())
    cells = [ink[ys.min() : ys.max() + 1, x : x + width] for x in edges[:-1]]
    return float(np.mean([(a != b).mean() for a, b in zip(cells, cells[1:], strict=False)]))


def test_chinese_is_drawn_as_glyphs_not_as_the_boxes_of_a_font_without_cjk(tmp_path):
    (tmp_path / "cjk").mkdir(), (tmp_path / "latin").mkdir()
    cjk = _render_line(cjk_font(), tmp_path / "cjk")
    boxes = _render_line(latin_only_font(), tmp_path / "latin")
    grey = np.full_like(cjk, cjk[0, 0])
    assert _changed(cjk, grey).mean() > 0.005 and _changed(boxes, grey).mean() > 0.005  # both drew something
    assert _changed(cjk, boxes).mean() > 0.005  # but not the same thing
    # a font without the glyphs draws one empty box per character: the real glyphs differ from one another
    assert _cell_difference(cjk, grey) > 2 * _cell_difference(boxes, grey)


def test_the_installed_font_for_each_cjk_language_covers_its_script():
    cjk_font()
    for code, text in (("zh", LINE), ("ja", "目覚めよう、もっと良い朝へ。"), ("ko", "좋은 하루예요.")):
        font = choose_font(get_language(code), None, text)
        assert not missing_characters(font.path, text), (code, font)


def test_a_font_without_the_script_is_refused_naming_it(spot, tmp_path):
    source, cues, placed = spot
    font = latin_only_font()
    with pytest.raises(InputError, match="DejaVuSans.ttf does not cover zh"):
        choose_font(get_language("zh"), font.path)
    with pytest.raises(InputError, match="no glyph for"):
        assemble(source, [placed], cues, get_language("zh"), tmp_path,
                 delivery=Delivery(profile=PROFILES["social"], burn_in=font))
    assert not list(tmp_path.iterdir())  # nothing half-written
