"""Fonts for the burned-in subtitle tests: a CJK font (Debian fonts-noto-cjk) and one without CJK (fonts-dejavu)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from dubkit.adapters.fonts import Font, find_font, font_file
from dubkit.errors import InputError

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _missing(message: str):
    """Skip, but fail in CI (DUBKIT_REQUIRE_TEST_DATA=1) naming the package."""
    if os.environ.get("DUBKIT_REQUIRE_TEST_DATA"):
        pytest.fail(message)
    pytest.skip(message)


def cjk_font() -> Font:
    try:
        font = find_font("zh-cn", "美好的一天，从一杯开始。")
    except InputError as err:  # fontconfig's tools are missing
        _missing(str(err))
    if font is None:
        _missing("no installed font covers Chinese: install the Debian package fonts-noto-cjk")
    return font


def latin_only_font() -> Font:
    if not DEJAVU.is_file():
        _missing(f"{DEJAVU} is missing: install the Debian package fonts-dejavu-core")
    return font_file(DEJAVU)
