"""The OpenAI-compatible translator against a real local HTTP server speaking the protocol."""
from __future__ import annotations

import json
import socket
import time

import pytest

from dubkit.translate.base import TranslationError
from dubkit.translate.openai_engine import OpenAITranslator, parse_reply
from langs import get_language
from tests.dubkit.chat_server import completion, dictionary_responder, serve_chat

ZH = get_language("zh")
EN = get_language("en")
TABLE = {"Welcome to the show.": "欢迎收看节目。", "See you soon.": "回头见。"}


def test_sends_chat_completion_request_and_returns_lines(monkeypatch):
    monkeypatch.setenv("TEST_TRANSLATOR_KEY", "sk-test-123")
    with serve_chat(dictionary_responder(TABLE)) as server:
        translator = OpenAITranslator(server.base_url, "qwen-test", api_key_env="TEST_TRANSLATOR_KEY")
        result = translator.translate(["Welcome to the show.", "See you soon."], ZH, EN)
    assert result.lines == ("欢迎收看节目。", "回头见。")
    assert result.source_lines == ("Welcome to the show.", "See you soon.")
    assert result.language == "zh" and result.engine == "openai"
    (request,) = server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer sk-test-123"
    body = request["body"]
    assert body["model"] == "qwen-test" and body["temperature"] == 0.0
    system, user = body["messages"]
    assert system["role"] == "system" and "Mandarin" in system["content"] and "English" in system["content"]
    assert "JSON array of 2 strings" in system["content"]
    assert user["role"] == "user" and json.loads(user["content"]) == ["Welcome to the show.", "See you soon."]
    assert "sk-test-123" not in json.dumps(result.identity)


def test_sends_no_authorization_header_without_a_key(monkeypatch):
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    with serve_chat(dictionary_responder(TABLE)) as server:
        OpenAITranslator(server.base_url, "m", api_key_env="NO_SUCH_KEY_VAR").translate(["See you soon."], ZH)
    assert "Authorization" not in server.requests[0]["headers"]


def test_splits_long_scripts_into_requests_and_keeps_order():
    lines = [f"line {i}" for i in range(5)]
    with serve_chat(dictionary_responder({line: line.upper() for line in lines})) as server:
        result = OpenAITranslator(server.base_url, "m", max_lines_per_request=2).translate(lines, ZH)
    assert result.lines == tuple(line.upper() for line in lines)
    assert [len(json.loads(r["body"]["messages"][1]["content"])) for r in server.requests] == [2, 2, 1]


@pytest.mark.parametrize(
    "content, message",
    [
        ("Sure! Here you go: 欢迎", "not JSON"),
        ('{"lines": ["欢迎"]}', "not an array"),
        ('["欢迎", "回头见", "多余"]', "3 lines for 2 input lines"),
        ('["欢迎", 7]', "item 1 is a int"),
        ("```json\n[\"欢迎\"", "unclosed code fence"),
    ],
)
def test_malformed_reply_is_an_error_naming_what_is_wrong(content, message):
    with serve_chat(lambda body: (200, completion(content))) as server:
        translator = OpenAITranslator(server.base_url, "m")
        with pytest.raises(TranslationError, match=message) as info:
            translator.translate(["Welcome to the show.", "See you soon."], ZH)
    assert info.value.engine == "openai" and info.value.detail == content
    assert len(server.requests) == 1  # never retried behind the user's back


def test_reply_in_a_code_fence_is_accepted():
    assert parse_reply('```json\n["欢迎", "回头见"]\n```', 2) == ["欢迎", "回头见"]


def test_reply_without_choices_is_an_error():
    with serve_chat(lambda body: (200, {"object": "chat.completion", "choices": []})) as server:
        with pytest.raises(TranslationError, match=r"lacks choices\[0\]"):
            OpenAITranslator(server.base_url, "m").translate(["x"], ZH)


def test_reply_cut_off_at_length_limit_is_an_error():
    with serve_chat(lambda body: (200, completion('["欢迎', finish_reason="length"))) as server:
        with pytest.raises(TranslationError, match="cut off"):
            OpenAITranslator(server.base_url, "m").translate(["x"], ZH)


def test_http_error_carries_the_servers_message_and_is_not_retried():
    reply = {"error": {"message": "model 'm' is overloaded", "type": "server_error"}}
    with serve_chat(lambda body: (503, reply)) as server:
        with pytest.raises(TranslationError, match=r"HTTP 503: model 'm' is overloaded") as info:
            OpenAITranslator(server.base_url, "m").translate(["x"], ZH)
    assert len(server.requests) == 1
    assert "overloaded" in info.value.detail


def test_body_that_is_not_json_is_an_error():
    with serve_chat(lambda body: (200, "<html>gateway</html>")) as server:
        with pytest.raises(TranslationError, match="not JSON"):
            OpenAITranslator(server.base_url, "m").translate(["x"], ZH)


def test_unreachable_endpoint_is_an_error_naming_the_url():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(TranslationError, match=rf"cannot reach http://127.0.0.1:{port}/v1/chat/completions"):
        OpenAITranslator(f"http://127.0.0.1:{port}/v1", "m", timeout=2).translate(["x"], ZH)


def test_server_closing_the_connection_is_an_error():
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def hang_up():
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.close()  # no status line at all

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    try:
        with pytest.raises(TranslationError, match="cannot reach"):
            OpenAITranslator(f"http://127.0.0.1:{port}/v1", "m", timeout=5).translate(["x"], ZH)
    finally:
        thread.join(timeout=5)
        listener.close()


def test_slow_endpoint_times_out_as_an_error():
    def slow(body):
        time.sleep(1.0)
        return 200, completion('["x"]')

    with serve_chat(slow) as server:
        started = time.monotonic()
        with pytest.raises(TranslationError, match="timeout 0.3 s"):
            OpenAITranslator(server.base_url, "m", timeout=0.3).translate(["x"], ZH)
    assert time.monotonic() - started < 1.0


def test_empty_input_makes_no_request():
    with serve_chat(dictionary_responder({})) as server:
        result = OpenAITranslator(server.base_url, "m").translate([], ZH)
    assert result.lines == () and server.requests == []


@pytest.mark.parametrize("url", ["127.0.0.1:8000/v1", "ftp://host/v1"])
def test_base_url_must_be_http(url):
    from dubkit.errors import InputError

    with pytest.raises(InputError, match="must start with http"):
        OpenAITranslator(url, "m")
