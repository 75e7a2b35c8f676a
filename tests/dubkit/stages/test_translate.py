"""--translator specs: a default engine, per-language engines, and clear refusals."""
import pytest

from dubkit.errors import InputError
from dubkit.stages.translate import parse_translator_specs


def test_default_and_per_language_translators():
    specs = parse_translator_specs(["ct2:/models/opus-en-zh", "ja=openai:http://127.0.0.1:8000/v1#qwen",
                                    "zh-HK=ct2:/m/yue#nllb"])
    assert specs == {None: "ct2:/models/opus-en-zh", "ja": "openai:http://127.0.0.1:8000/v1#qwen",
                     "yue": "ct2:/m/yue#nllb"}


def test_an_equals_sign_inside_a_path_is_not_a_language():
    assert parse_translator_specs(["ct2:/models/a=b"]) == {None: "ct2:/models/a=b"}


@pytest.mark.parametrize("specs, words", [
    (["deepl:key"], "ct2:FOLDER"),
    (["ct2"], "ct2:FOLDER"),
    (["ct2:/a", "ctranslate2:/b"], "twice"),
    (["zh=ct2:/a", "zh-CN=ct2:/b"], "twice"),
])
def test_bad_specs_are_refused(specs, words):
    with pytest.raises(InputError, match=words):
        parse_translator_specs(specs)


def test_an_unknown_language_prefix_is_refused():
    from langs import LanguageError

    with pytest.raises(LanguageError, match="xx"):
        parse_translator_specs(["xx=ct2:/a"])
