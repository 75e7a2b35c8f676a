"""Glossary: file format, enforcement on engine output, checks on scripts and on what was said."""
from __future__ import annotations

import json

import pytest

from dubkit.translate.base import GlossaryError
from dubkit.translate.glossary import (
    Glossary,
    check_lines,
    check_speech,
    contains_term,
    enforce,
    load_glossary,
    protect,
    restore,
)
from eval.types import Cue
from langs import get_language

ZH, EN, DE = get_language("zh"), get_language("en"), get_language("de")
TOML = """
keep = ["Acme", "HyperClean 3000"]

[forced.zh-CN]
"free shipping" = "包邮"

[forced.de]
"free shipping" = "kostenloser Versand"
"""


@pytest.fixture
def glossary(tmp_path) -> Glossary:
    path = tmp_path / "glossary.toml"
    path.write_text(TOML, encoding="utf-8")
    return load_glossary(path)


def test_toml_file_loads_with_language_aliases(glossary):
    assert glossary.keep == ("Acme", "HyperClean 3000")
    assert glossary.forced == {"zh": {"free shipping": "包邮"}, "de": {"free shipping": "kostenloser Versand"}}


def test_json_file_loads_the_same_structure(tmp_path):
    path = tmp_path / "g.json"
    path.write_text(json.dumps({"keep": ["Acme"], "forced": {"ja": {"free shipping": "送料無料"}}}))
    assert load_glossary(path).forced == {"ja": {"free shipping": "送料無料"}}


@pytest.mark.parametrize(
    "text, message",
    [
        ('keep = "Acme"', "keep must be a list"),
        ('keep = [""]', "keep must be a list of non-empty strings"),
        ('colour = 1', "unknown key"),
        ('[forced.xx]\n"a" = "b"', "forced.xx: unknown language 'xx'"),
        ('[forced.zh]\n"a" = ""', "is not a pair of non-empty strings"),
        ('[forced.zh]\n"a" = "b"\n[forced.cmn]\n"c" = "d"', "repeats language 'zh'"),
        ("keep = [", "cannot be parsed"),
    ],
)
def test_invalid_glossary_is_an_error_naming_the_entry(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(GlossaryError, match=message) as info:
        load_glossary(path)
    assert str(path) in str(info.value)


def test_missing_or_unknown_format_glossary_is_an_error(tmp_path):
    with pytest.raises(GlossaryError, match="does not exist"):
        load_glossary(tmp_path / "none.toml")
    (tmp_path / "g.csv").write_text("Acme\n")
    with pytest.raises(GlossaryError, match="unknown format '.csv'"):
        load_glossary(tmp_path / "g.csv")


def test_terms_match_whole_words_case_insensitively():
    assert contains_term("welcome to ACME!", "Acme")
    assert not contains_term("the Acmes are here", "Acme")
    assert contains_term("欢迎来到Acme商店", "Acme")  # no spaces around a Latin term in CJK text
    assert contains_term("今天包邮", "包邮")


def test_required_terms_follow_the_source_line(glossary):
    assert glossary.required_terms("Acme offers free shipping.", ZH) == ("包邮", "Acme")
    assert glossary.required_terms("Acme offers free shipping.", EN) == ("Acme",)
    assert glossary.required_terms("Nothing special.", ZH) == ()


def test_check_lines_catches_a_dropped_brand_name(glossary):
    source = [Cue("Welcome to Acme.", 0.0, 2.0), Cue("Free shipping today.", 2.5, 4.0)]
    translated = [Cue("欢迎光临。", 0.0, 2.0), Cue("今天包邮。", 2.5, 4.0)]
    (violation,) = check_lines(source, translated, glossary, ZH)
    assert (violation.index, violation.term, violation.where) == (0, "Acme", "script")
    assert (violation.start, violation.end) == (0.0, 2.0)
    assert "lacks glossary term 'Acme'" in str(violation)


def test_check_lines_pairs_by_time_when_a_translator_splits_a_line(glossary):
    source = [Cue("Welcome to Acme, free shipping for all.", 0.0, 4.0)]
    translated = [Cue("欢迎来到Acme，", 0.0, 2.0), Cue("全场包邮。", 2.0, 4.0)]
    assert check_lines(source, translated, glossary, ZH) == ()


def test_check_lines_pairs_untimed_scripts_by_index_or_as_a_whole(glossary):
    source = [Cue("Welcome to Acme."), Cue("Bye.")]
    assert [v.index for v in check_lines(source, [Cue("Willkommen."), Cue("Tschüss.")], glossary, DE)] == [0]
    whole = check_lines(source, [Cue("Willkommen bei Acme und tschüss.")], glossary, DE)
    assert whole == ()


def test_protect_and_restore_round_trip_placeholders(glossary):
    text, slots = protect("Acme: free shipping on the HyperClean 3000!", glossary, ZH)
    assert "Acme" not in text and "free shipping" not in text and "HyperClean" not in text
    assert sorted(slots.values()) == sorted(["Acme", "包邮", "HyperClean 3000"])
    engine_output = text.replace("{{T0}}", "{{ T0 }}")  # an engine that adds spaces inside
    restored = restore(engine_output, slots)
    for term in slots.values():
        assert term in restored


def test_enforce_substitutes_forced_terms_left_untranslated(glossary):
    fixed = enforce("Free shipping at Acme.", "Acme 提供 free shipping。", glossary, ZH)
    assert fixed == "Acme 提供 包邮。"
    assert enforce("Free shipping.", "全场包邮。", glossary, ZH) == "全场包邮。"  # already right: untouched


def test_check_speech_finds_terms_after_normalisation(glossary):
    assert check_speech("Get the HyperClean 3000 now.", "get the hyperclean three thousand now", glossary, EN) == ()
    (missing,) = check_speech("Welcome to Acme.", "welcome to acne", glossary, EN, index=3, start=1.0, end=2.0)
    assert (missing.term, missing.where, missing.index) == ("Acme", "speech", 3)


def test_check_speech_compares_chinese_in_simplified_characters_without_spaces(glossary):
    assert check_speech("今天包邮。", "今 天 包 郵", glossary, ZH) == ()  # traditional 郵 from Whisper
    assert [v.term for v in check_speech("今天包邮。", "今天免费", glossary, ZH)] == ["包邮"]
