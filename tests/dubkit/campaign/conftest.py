"""Spots for campaign tests: the example spot under two names (same timing, same scripts), and a file
named like a video that is none (a bad input that only the probe finds)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
LANGS = ("ja", "ko")  # the example's fastest preview voices


@pytest.fixture(scope="module")
def spots_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("spots")
    for stem in ("ad", "cut"):
        shutil.copy(EXAMPLES / "ad.mp4", folder / f"{stem}.mp4")
        for code in ("en", *LANGS):
            shutil.copy(EXAMPLES / f"ad.{code}.srt", folder / f"{stem}.{code}.srt")
    (folder / "broken.mp4").write_bytes(b"this is not a video\n" * 100)
    return folder
