"""Where each language's script comes from: --scripts DIR, beside the media, aliases, templates."""
from __future__ import annotations

import pytest

from dubkit.adapters.subtitles import write_script
from dubkit.errors import ScriptError
from dubkit.translate.base import TranslationError
from dubkit.translate.scripts import find_script, load_translation, require_sources
from dubkit.translate.template import template_text
from eval.types import Cue
from langs import get_language

ZH, KO, JA, EN = (get_language(c) for c in ("zh", "ko", "ja", "en"))
CUES = [Cue("你好。", 0.0, 1.0), Cue("再见。", 1.5, 2.5)]


@pytest.fixture
def media(tmp_path):
    path = tmp_path / "ad.mp4"
    path.write_bytes(b"")  # only its name and folder matter here
    return path


def test_script_beside_media_is_found(media):
    write_script(CUES, media.parent / "ad.zh.srt")
    assert find_script(media, ZH).path.name == "ad.zh.srt"
    assert find_script(media, KO) is None


@pytest.mark.parametrize("name", ["ad.zh-CN.srt", "ad.cmn.vtt", "ad.zh_Hans.ass", "ad.ZH.json"])
def test_aliases_and_formats_name_the_language(media, name):
    write_script(CUES, media.parent / name)
    assert find_script(media, ZH).path.name == name


def test_files_that_are_not_language_scripts_are_ignored(media):
    for name in ("ad.srt", "ad.source.srt", "ad.final.srt", "other.zh.srt", "ad.zh.txt"):
        (media.parent / name).write_text("x")
    assert find_script(media, ZH) is None


def test_scripts_dir_beats_the_media_folder(media, tmp_path):
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    write_script(CUES, media.parent / "ad.zh.srt")
    write_script(CUES, scripts / "zh.srt")  # bare <tag>.<ext> is accepted in --scripts DIR
    assert find_script(media, ZH, scripts).path == scripts / "zh.srt"
    write_script(CUES, media.parent / "ad.ko.srt")
    assert find_script(media, KO, scripts).path == media.parent / "ad.ko.srt"  # falls back


def test_two_scripts_for_one_language_in_a_folder_is_an_error_naming_both(media):
    write_script(CUES, media.parent / "ad.zh.srt")
    write_script(CUES, media.parent / "ad.zh-CN.vtt")
    with pytest.raises(ScriptError, match=r"2 scripts for zh in .*: ad.zh-CN.vtt, ad.zh.srt"):
        find_script(media, ZH)


def test_finished_script_beats_a_template_in_the_same_folder(media):
    write_script(CUES, media.parent / "ad.zh.template.srt")
    assert find_script(media, ZH).template
    write_script(CUES, media.parent / "ad.zh.srt")
    found = find_script(media, ZH)
    assert found.path.name == "ad.zh.srt" and not found.template


def test_missing_scripts_dir_is_an_error(media, tmp_path):
    with pytest.raises(ScriptError, match="scripts folder .*nope does not exist"):
        find_script(media, ZH, tmp_path / "nope")


def test_require_sources_names_every_language_without_a_script(media):
    write_script(CUES, media.parent / "ad.zh.srt")
    with pytest.raises(TranslationError, match=r"no translated script for ko, ja .*ad\.ko\.srt, ad\.ja\.srt"):
        require_sources(media, [ZH, KO, JA])
    found = require_sources(media, [ZH, KO], have_translator=True)
    assert found["zh"].path.name == "ad.zh.srt" and found["ko"] is None


def test_source_language_needs_no_script(media):
    assert require_sources(media, [EN], source_language=EN) == {"en": None}


def test_filled_template_reads_back_to_its_translations(media):
    path = media.parent / "ad.zh.template.srt"
    write_script([Cue(template_text("Hello.", ZH, "你好。"), 0.0, 1.0),
                  Cue(template_text("Bye.", ZH, "再见。"), 1.5, 2.5)], path)
    cues = load_translation(find_script(media, ZH))
    assert [c.text for c in cues] == ["你好。", "再见。"] and cues[1].start == 1.5


def test_unfilled_template_lines_are_an_error_naming_them(media):
    path = media.parent / "ad.zh.template.srt"
    write_script([Cue(template_text("Hello.", ZH, "你好。"), 0.0, 1.0),
                  Cue(template_text("Bye.", ZH), 1.5, 2.5)], path)
    with pytest.raises(ScriptError, match=r"1 template line\(s\) not translated yet: 2"):
        load_translation(find_script(media, ZH))


def test_plain_script_is_read_as_it_is(media):
    write_script(CUES, media.parent / "ad.zh.srt")
    assert load_translation(find_script(media, ZH)) == tuple(CUES)
