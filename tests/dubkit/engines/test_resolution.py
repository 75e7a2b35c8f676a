"""Resolution follows the source: the 1080p SR path above 720 lines, 540p at or below, 256p on request."""
from pathlib import Path

from dubkit.engines import source_resolution
from dubkit.options import LocalizeOptions, checked

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "ad.mp4"  # 384 x 384


def test_the_source_height_picks_the_output_resolution():
    assert source_resolution(1080) == "1080p" and source_resolution(2160) == "1080p"
    assert source_resolution(721) == "1080p"
    assert source_resolution(720) == "540p" and source_resolution(384) == "540p"


def test_auto_resolves_from_the_source_and_an_explicit_256p_is_kept(tmp_path):
    auto = checked(LocalizeOptions(source=EXAMPLE, languages="zh", out=tmp_path / "a"))
    assert auto.resolution == "540p"
    asked = checked(LocalizeOptions(source=EXAMPLE, languages="zh", out=tmp_path / "b", resolution="256p"))
    assert asked.resolution == "256p"
