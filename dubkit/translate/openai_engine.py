"""The one adapter for an OpenAI-compatible chat endpoint (`POST {base_url}/chat/completions`).

Works with any server that speaks the protocol (OpenAI, vLLM, llama.cpp server, Ollama's /v1 ...).
The model is asked for a JSON array of translated lines and the reply is validated strictly: it
must parse as JSON, be an array, hold exactly one string per input line. Anything else is a
`TranslationError` naming what was wrong and quoting the reply; nothing is retried silently.
Standard library only (urllib), so there is no client SDK to pin.
"""
from __future__ import annotations

import http.client
import json
import os
import socket
import time
import urllib.error
import urllib.request
from typing import Any, Sequence

from dubkit.errors import InputError
from dubkit.translate.base import TranslationError, TranslationResult
from langs import Language

# Bump when the prompt changes: it is part of the identity (cache keys).
PROMPT_VERSION = 2

SYSTEM_PROMPT = (
    "You are a professional dubbing translator. Translate each line of the user's JSON array "
    "{source}into {target}. The lines will be spoken aloud over video, so keep each line about as "
    "short as the original and natural to say. Keep every placeholder such as {{{{T0}}}} exactly "
    "as written. Reply with only a JSON array of {count} strings, one translation per input line, "
    "in the same order, and nothing else."
)

_QUOTE = 300  # characters of a bad reply quoted in an error message


def _quote(text: str) -> str:
    return text if len(text) <= _QUOTE else text[:_QUOTE] + "..."


def parse_reply(content: str, expected: int) -> list[str]:
    """Validate a model's reply text: a JSON array of exactly `expected` strings.

    One surrounding Markdown code fence (```json ... ```) is tolerated because chat models add it
    even when told not to; the content inside is still parsed strictly.
    """
    text = content.strip()
    if text.startswith("```"):
        first_newline = text.find("\n")
        if first_newline == -1 or not text.rstrip().endswith("```"):
            raise TranslationError(
                f"reply has an unclosed code fence: {_quote(content)!r}", engine="openai", detail=content
            )
        text = text[first_newline + 1 : text.rstrip().rfind("```")].strip()
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise TranslationError(
            f"reply is not JSON ({err.msg} at char {err.pos}): {_quote(content)!r}", engine="openai", detail=content
        ) from err
    if not isinstance(value, list):
        raise TranslationError(
            f"reply is a JSON {type(value).__name__}, not an array of lines: {_quote(content)!r}",
            engine="openai", detail=content,
        )
    if len(value) != expected:
        raise TranslationError(
            f"reply has {len(value)} lines for {expected} input lines: {_quote(content)!r}",
            engine="openai", detail=content,
        )
    bad = [i for i, v in enumerate(value) if not isinstance(v, str)]
    if bad:
        raise TranslationError(
            f"reply item {bad[0]} is a {type(value[bad[0]]).__name__}, not a string: {_quote(content)!r}",
            engine="openai", detail=content,
        )
    return value


class OpenAITranslator:
    """Translate through an OpenAI-compatible `/chat/completions` endpoint."""

    name = "openai"
    keeps_placeholders = True  # the prompt tells the model to copy {{T0}} ... unchanged

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 120.0,
        temperature: float = 0.0,
        max_lines_per_request: int = 40,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise InputError(f"translator base URL {base_url!r} must start with http:// or https://")
        if not model:
            raise InputError("the OpenAI-compatible translator needs a model name")
        if timeout <= 0 or max_lines_per_request < 1:
            raise InputError(f"timeout ({timeout}) must be > 0 and max_lines_per_request ({max_lines_per_request}) >= 1")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.temperature = temperature
        self.max_lines_per_request = max_lines_per_request

    def identity(self) -> dict[str, Any]:
        """Endpoint, model and prompt identity (the API key is never part of it)."""
        return {
            "engine": self.name,
            "base_url": self.base_url,
            "model": self.model,
            "temperature": self.temperature,
            "prompt_version": PROMPT_VERSION,
            "max_lines_per_request": self.max_lines_per_request,
        }

    def messages(self, lines: Sequence[str], target: Language, source: Language | None) -> list[dict[str, str]]:
        """The chat messages for one request (public so the report can show what was asked)."""
        system = SYSTEM_PROMPT.format(
            source=f"from {source.english_name} " if source is not None else "",
            target=target.written_as,  # the dub is spoken: how to write the language for speech
            count=len(lines),
        )
        return [
            {"role": "system", "content": system},
            {"role": "user", "content": json.dumps(list(lines), ensure_ascii=False)},
        ]

    def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base_url}/chat/completions"
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = os.environ.get(self.api_key_env, "")
        if key:
            headers["Authorization"] = f"Bearer {key}"
        request = urllib.request.Request(
            url, data=json.dumps(payload, ensure_ascii=False).encode("utf-8"), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read().decode("utf-8", errors="replace")
        except urllib.error.HTTPError as err:
            with err:  # the error is also the response: close it
                body = err.read().decode("utf-8", errors="replace")
            message = body
            try:  # OpenAI-style {"error": {"message": ...}}
                message = json.loads(body)["error"]["message"]
            except (ValueError, KeyError, TypeError):
                pass
            raise TranslationError(
                f"{url} answered HTTP {err.code}: {_quote(str(message))}", engine=self.name, detail=body
            ) from err
        except (urllib.error.URLError, http.client.HTTPException, socket.timeout, TimeoutError, ConnectionError) as err:
            reason = getattr(err, "reason", err)
            raise TranslationError(
                f"cannot reach {url} (timeout {self.timeout:g} s): {reason}", engine=self.name, detail=str(reason)
            ) from err
        try:
            return json.loads(body)
        except json.JSONDecodeError as err:
            raise TranslationError(
                f"{url} answered with a body that is not JSON: {_quote(body)!r}", engine=self.name, detail=body
            ) from err

    def _translate_chunk(self, lines: Sequence[str], target: Language, source: Language | None) -> list[str]:
        payload = {
            "model": self.model,
            "messages": self.messages(lines, target, source),
            "temperature": self.temperature,
        }
        reply = self._post(payload)
        try:
            choice = reply["choices"][0]
            content = choice["message"]["content"]
        except (KeyError, IndexError, TypeError) as err:
            raise TranslationError(
                f"reply lacks choices[0].message.content: {_quote(json.dumps(reply))!r}",
                engine=self.name, detail=json.dumps(reply),
            ) from err
        if not isinstance(content, str):
            raise TranslationError(
                f"reply's message content is {type(content).__name__}, not text", engine=self.name,
                detail=json.dumps(reply),
            )
        if choice.get("finish_reason") == "length":
            raise TranslationError(
                f"reply was cut off at the model's length limit: {_quote(content)!r}", engine=self.name, detail=content
            )
        return parse_reply(content, len(lines))

    def translate(
        self, lines: Sequence[str], target: Language, source: Language | None = None
    ) -> TranslationResult:
        """Translate in requests of at most `max_lines_per_request` lines (context helps an LLM)."""
        started = time.monotonic()
        lines = tuple(lines)
        out: list[str] = []
        for i in range(0, len(lines), self.max_lines_per_request):
            out.extend(self._translate_chunk(lines[i : i + self.max_lines_per_request], target, source))
        return TranslationResult(
            lines=tuple(s.strip() for s in out), source_lines=lines, language=target.code, engine=self.name,
            identity=self.identity(), seconds=time.monotonic() - started,
        )
