"""A local HTTP server speaking the OpenAI chat-completions protocol, for translator tests.

It answers POST /v1/chat/completions with whatever `respond(request_json)` returns and records
every request (path, headers, body) so tests can check what the client sent.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# respond(body) -> (HTTP status, reply); a dict reply is sent as JSON, a str as-is.
Responder = Callable[[dict], "tuple[int, dict | str]"]


def completion(content: str, finish_reason: str = "stop") -> dict:
    """A chat-completions reply carrying `content`, shaped like the OpenAI API's."""
    return {
        "id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": "test-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def dictionary_responder(table: dict[str, str]) -> Responder:
    """Translate each line of the user message (a JSON array) through `table`; unknown lines
    come back unchanged. The reply is a JSON array string, as the client asks for."""
    def respond(body: dict) -> tuple[int, dict]:
        lines = json.loads(body["messages"][-1]["content"])
        return 200, completion(json.dumps([table.get(line, line) for line in lines], ensure_ascii=False))
    return respond


@dataclass
class ChatServer:
    base_url: str
    requests: list[dict] = field(default_factory=list)
    respond: Responder | None = None


@contextmanager
def serve_chat(respond: Responder) -> Iterator[ChatServer]:
    """Run the server on 127.0.0.1 (a free port) in a thread for the duration of the block."""
    state = ChatServer(base_url="", respond=respond)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            body = json.loads(raw.decode("utf-8"))
            state.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            if self.path != "/v1/chat/completions":
                status, reply = 404, {"error": {"message": f"no route {self.path}"}}
            else:
                status, reply = state.respond(body)  # type: ignore[misc]
            data = (json.dumps(reply, ensure_ascii=False) if isinstance(reply, dict) else reply).encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout tests): nothing to answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True  # a deliberately slow handler must not hold up shutdown
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
