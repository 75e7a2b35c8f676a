"""The translate stage: scripts first, else the engine; glossary enforced on engine output."""
from __future__ import annotations

import json

import pytest

from dubkit.adapters.subtitles import write_script
from dubkit.errors import InputError
from dubkit.translate import open_translator, prepare_translations, translate_cues
from dubkit.translate.base import TranslationError
from dubkit.translate.glossary import Glossary
from dubkit.translate.openai_engine import OpenAITranslator
from eval.types import Cue
from langs import get_language
from tests.dubkit.chat_server import completion, dictionary_responder, serve_chat

ZH, KO, EN = get_language("zh"), get_language("ko"), get_language("en")
SOURCE = [Cue("Welcome to Acme.", 0.0, 2.0, "A"), Cue("Free shipping today.", 2.5, 4.0, "B")]
GLOSSARY = Glossary(keep=("Acme",), forced={"zh": {"free shipping": "包邮"}})


def reply_with(lines):
    return lambda body: (200, completion(json.dumps(lines, ensure_ascii=False)))


def test_engine_output_keeps_timing_and_speaker():
    table = {"Welcome to Acme.": "欢迎。", "Free shipping today.": "今天包邮。"}
    with serve_chat(dictionary_responder(table)) as server:
        done = translate_cues(SOURCE, ZH, OpenAITranslator(server.base_url, "m"), source=EN)
    assert [c.text for c in done.cues] == ["欢迎。", "今天包邮。"]
    assert [(c.start, c.end, c.speaker) for c in done.cues] == [(0.0, 2.0, "A"), (2.5, 4.0, "B")]
    assert done.origin == "engine:openai" and done.identity["model"] == "m"


def test_glossary_terms_travel_as_placeholders_and_come_back():
    with serve_chat(reply_with(["欢迎来到{{T0}}。", "今天{{T0}}。"])) as server:
        done = translate_cues(SOURCE, ZH, OpenAITranslator(server.base_url, "m"), glossary=GLOSSARY)
    sent = json.loads(server.requests[0]["body"]["messages"][1]["content"])
    assert sent == ["Welcome to {{T0}}.", "{{T0}} today."]
    assert [c.text for c in done.cues] == ["欢迎来到Acme。", "今天包邮。"]
    assert done.violations == ()


def test_engine_dropping_a_brand_name_is_reported_as_a_violation():
    with serve_chat(reply_with(["欢迎光临。", "今天{{T0}}。"])) as server:
        done = translate_cues(SOURCE, ZH, OpenAITranslator(server.base_url, "m"), glossary=GLOSSARY)
    (violation,) = done.violations
    assert (violation.index, violation.term, violation.where) == (0, "Acme", "translation")


def test_empty_translation_of_a_real_line_is_an_error():
    with serve_chat(reply_with(["欢迎。", "  "])) as server:
        with pytest.raises(TranslationError, match="empty zh translation for line 2"):
            translate_cues(SOURCE, ZH, OpenAITranslator(server.base_url, "m"))


def test_supplied_script_is_used_and_checked_engine_fills_the_rest(tmp_path):
    media = tmp_path / "ad.mp4"
    media.write_bytes(b"")
    write_script([Cue("欢迎光临。", 0.0, 2.0), Cue("今天包邮。", 2.5, 4.0)], tmp_path / "ad.zh-CN.srt")
    with serve_chat(reply_with(["{{T0}}에 오신 것을 환영합니다.", "오늘 무료 배송."])) as server:
        out = prepare_translations(media, SOURCE, [ZH, KO], source=EN, glossary=GLOSSARY,
                                   translator=OpenAITranslator(server.base_url, "m"), duration=5.0)
    assert out["zh"].origin == f"script:{tmp_path / 'ad.zh-CN.srt'}"
    assert len(out["zh"].identity["sha256"]) == 64
    assert [v.term for v in out["zh"].violations] == ["Acme"]  # the human script lost the brand too
    assert out["ko"].origin == "engine:openai" and out["ko"].cues[0].text.startswith("Acme")
    assert len(server.requests) == 1  # only Korean went to the engine


def test_missing_script_without_translator_fails_before_any_work(tmp_path):
    media = tmp_path / "ad.mp4"
    media.write_bytes(b"")
    with pytest.raises(TranslationError, match="no translated script for zh, ko"):
        prepare_translations(media, SOURCE, [ZH, KO], source=EN)


def test_target_equal_to_source_uses_the_source_script(tmp_path):
    out = prepare_translations(tmp_path / "ad.mp4", SOURCE, [EN], source=EN)
    assert out["en"].cues == tuple(SOURCE) and out["en"].origin == "source"


def test_open_translator_parses_specs(monkeypatch):
    monkeypatch.setenv("DUBKIT_OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    translator = open_translator("openai:qwen2.5")
    assert translator.name == "openai" and translator.identity()["base_url"] == "http://127.0.0.1:9/v1"
    assert open_translator("openai:m", base_url="http://h:1/v1").identity()["base_url"] == "http://h:1/v1"


def test_open_translator_rejects_bad_specs(monkeypatch, tmp_path):
    monkeypatch.delenv("DUBKIT_OPENAI_BASE_URL", raising=False)
    with pytest.raises(InputError, match=r"needs a base URL: --translator openai:URL\[#MODEL\]"):
        open_translator("openai:m")
    with pytest.raises(InputError, match="is not 'ctranslate2:MODEL_DIR"):
        open_translator("deepl:x")
    with pytest.raises(InputError, match="no model.bin"):
        open_translator(f"ctranslate2:{tmp_path}")
