"""The one translator-spec grammar: --translator lists and open_translator share it."""
import pytest

from dubkit.errors import InputError
from dubkit.translate import open_translator
from dubkit.translate.spec import (
    TranslatorSpec,
    parse_translator_spec,
    parse_translator_specs,
)


def test_each_form_of_the_grammar(monkeypatch):
    monkeypatch.delenv("DUBKIT_OPENAI_BASE_URL", raising=False)
    assert parse_translator_spec("ct2:/m/yue#nllb") == TranslatorSpec("ctranslate2", "/m/yue", prefix_style="nllb")
    assert parse_translator_spec("ctranslate2:/m") == TranslatorSpec("ctranslate2", "/m")
    assert parse_translator_spec("openai:http://h:1/v1#qwen") == TranslatorSpec("openai", "qwen", base_url="http://h:1/v1")
    assert parse_translator_spec("openai:https://h/v1").model == "default"
    assert parse_translator_spec("openai:qwen", base_url="http://h:2/v1").base_url == "http://h:2/v1"


def test_the_cli_form_opens_the_same_translator_as_the_api_form():
    by_cli = open_translator("openai:http://127.0.0.1:9/v1#m").identity()
    by_api = open_translator("openai:m", base_url="http://127.0.0.1:9/v1").identity()
    assert by_cli == by_api


def test_default_and_per_language_translators():
    specs = parse_translator_specs(["ct2:/models/opus-en-zh", "ja=openai:http://127.0.0.1:8000/v1#qwen",
                                    "zh-HK=ct2:/m/yue#nllb"])
    assert specs == {None: "ct2:/models/opus-en-zh", "ja": "openai:http://127.0.0.1:8000/v1#qwen",
                     "yue": "ct2:/m/yue#nllb"}
    assert parse_translator_specs(["ct2:/models/a=b"]) == {None: "ct2:/models/a=b"}


@pytest.mark.parametrize("specs, words", [
    (["deepl:key"], "ct2:FOLDER"),
    (["ct2"], "ct2:FOLDER"),
    (["ct2:/a", "ctranslate2:/b"], "twice"),
    (["zh=ct2:/a", "zh-CN=ct2:/b"], "twice"),
    (["openai:qwen"], r"needs a base URL"),
])
def test_bad_specs_are_refused(monkeypatch, specs, words):
    monkeypatch.delenv("DUBKIT_OPENAI_BASE_URL", raising=False)
    with pytest.raises(InputError, match=words):
        parse_translator_specs(specs)


def test_an_unknown_language_prefix_is_refused():
    from langs import LanguageError

    with pytest.raises(LanguageError, match="xx"):
        parse_translator_specs(["xx=ct2:/a"])
