"""Shared by the delivery tests: one Mandarin preview render of the example spot, assembled once per profile."""
from __future__ import annotations

from pathlib import Path

import pytest

from dubkit.adapters.subtitles import read_script
from dubkit.engines.base import WindowRequest
from dubkit.engines.preview import PreviewEngine
from dubkit.stages.deliver import Delivery, PlacedRender, assemble
from dubkit.stages.delivery.profiles import PROFILES
from dubkit.stages.probe import probe_source
from langs import get_language
from tests.dubkit.fonts import cjk_font

EXAMPLES = Path(__file__).resolve().parents[4] / "examples"
WINDOW = (0.2, 7.76)
ZH = get_language("zh")


@pytest.fixture(scope="package")
def spot():
    """The example's source info, its Mandarin cues and one preview render of its speech window."""
    source = probe_source(EXAMPLES / "ad.mp4")
    cues = read_script(EXAMPLES / "ad.zh.srt").cues
    render = PreviewEngine().render(WindowRequest(0, *WINDOW, ZH, cues, seed=0))
    return source, cues, PlacedRender(*WINDOW, render)


@pytest.fixture(scope="package")
def delivered(spot, tmp_path_factory):
    """Profile name -> its AssemblyResult, assembled on first use (the burn-in tests reuse them)."""
    source, cues, placed = spot
    done = {}

    def get(name: str):
        if name not in done:
            profile = PROFILES[name]
            font = cjk_font() if profile.burn_in else None
            # the master file also gets bilingual subtitles: Mandarin over the English source line
            english = tuple(read_script(EXAMPLES / "ad.en.srt").cues) if name == "master" else None
            done[name] = assemble(source, [placed], cues, ZH, tmp_path_factory.mktemp(name),
                                  me_track=EXAMPLES / "ad.me.m4a",
                                  delivery=Delivery(profile=profile, stems=True, burn_in=font, bilingual=english,
                                                    source_language=get_language("en") if english else None))
        return done[name]

    return get
