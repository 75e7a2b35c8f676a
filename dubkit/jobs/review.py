"""`dubkit review OUT`: the output folder's report served locally, so its review buttons save to
OUT/review.json (docs/review.md).

The server is the standard library's ThreadingHTTPServer and is careful because a browser can be
tricked into sending requests to it:
- it binds 127.0.0.1 only, on a free port the system picks (or --port);
- every URL starts with a random token, `/<token>/report.html`: a request without it is refused,
  reads and writes alike, and the page's own relative links carry it;
- a request whose Host is not this server's address is refused (a rebound DNS name cannot reach it);
- it serves regular files under OUT only: the path is resolved (links followed) and must stay inside
  OUT, hidden names (the cache, temporary files) are refused, and there are no folder listings;
- the one write is `POST /<token>/review.json`: the body must be a valid review (the schema that
  `dubkit localize` reads) and is saved atomically.
"""
from __future__ import annotations

import json
import mimetypes
import secrets
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from dubkit.errors import InputError, ReviewError
from dubkit.stages.review import MAX_REVIEW_BYTES, REVIEW_NAME, parse_review
from dubkit.store.files import atomic_write_text

HOST = "127.0.0.1"
REPORT_NAME = "report.html"
_CHUNK = 1 << 16


@dataclass(frozen=True)
class _Site:
    root: Path  # OUT, resolved
    token: str


def resolve_inside(root: Path, url_path: str) -> Path | None:
    """The file under `root` that a URL path (after the token) names, or None when it names anything
    else: a parent folder (`..`), an absolute path, a hidden name, a link leading outside, a folder."""
    parts = [p for p in unquote(url_path).split("/") if p]
    if not parts or any(p in (".", "..") or p.startswith(".") or "\\" in p or "\0" in p for p in parts):
        return None
    candidate = (root / Path(*parts)).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


class _Handler(BaseHTTPRequestHandler):
    server_version = "dubkit-review"
    site: _Site  # set on the subclass made per server

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass  # the command prints its own one line; request logs would bury it

    def _refuse(self, status: HTTPStatus, why: str) -> None:
        body = why.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _route(self) -> str | None:
        """The path after the token, or None (and a refusal sent) when the request may not proceed."""
        host = self.headers.get("Host", "")
        port = self.server.server_address[1]
        if host not in (f"{HOST}:{port}", f"localhost:{port}"):
            self._refuse(HTTPStatus.FORBIDDEN, "wrong host")
            return None
        path = urlsplit(self.path).path
        prefix = f"/{self.site.token}/"
        if not secrets.compare_digest(path[: len(prefix)].encode(), prefix.encode()):
            self._refuse(HTTPStatus.FORBIDDEN, "missing or wrong token")
            return None
        return path[len(prefix):]

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        rest = self._route()
        if rest is None:
            return
        target = resolve_inside(self.site.root, rest or REPORT_NAME)
        if target is None:
            self._refuse(HTTPStatus.NOT_FOUND, "not found")
            return
        self._send_file(target)

    do_HEAD = do_GET  # noqa: N815

    def _send_file(self, target: Path) -> None:
        size = target.stat().st_size
        start, end = 0, size - 1
        ranged = self.headers.get("Range", "")
        if ranged.startswith("bytes=") and "," not in ranged:  # one range: what a video element asks to seek
            first, _, last = ranged[6:].partition("-")
            try:
                start, end = (int(first), int(last) if last else size - 1) if first else (size - int(last), size - 1)
            except ValueError:
                start, end = 0, size - 1
            if not 0 <= start <= end < size:
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self.send_header("Content-Range", f"bytes */{size}")
                self.end_headers()
                return
        self.send_response(HTTPStatus.PARTIAL_CONTENT if ranged.startswith("bytes=") else HTTPStatus.OK)
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        self.send_header("Content-Type", kind + ("; charset=utf-8" if kind.startswith("text/") else ""))
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Cache-Control", "no-store")
        if ranged.startswith("bytes="):
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if self.command == "HEAD":
            return
        with open(target, "rb") as f:
            f.seek(start)
            left = end - start + 1
            while left > 0 and (chunk := f.read(min(_CHUNK, left))):
                self.wfile.write(chunk)
                left -= len(chunk)

    def do_POST(self) -> None:  # noqa: N802
        rest = self._route()
        if rest is None:
            return
        if rest != REVIEW_NAME:
            self._refuse(HTTPStatus.FORBIDDEN, f"only {REVIEW_NAME} can be written")
            return
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= MAX_REVIEW_BYTES:
            self._refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "a review is a JSON body of at most 8 MB")
            return
        try:
            data = json.loads(self.rfile.read(length).decode("utf-8"))
            parse_review(data, REVIEW_NAME)
        except (ValueError, ReviewError) as err:
            self._refuse(HTTPStatus.BAD_REQUEST, f"not a valid review: {err}")
            return
        atomic_write_text(self.site.root / REVIEW_NAME, json.dumps(data, indent=1, ensure_ascii=False) + "\n")
        self._refuse(HTTPStatus.OK, "saved")


class ReviewServer:
    """The report of an output folder served on 127.0.0.1; `url` is the page with its token."""

    def __init__(self, out: Path, port: int = 0):
        root = Path(out).resolve()
        if not (root / REPORT_NAME).is_file():
            raise InputError(f"{out} has no {REPORT_NAME}: run dubkit localize with -o {out} first")
        handler = type("Handler", (_Handler,), {"site": _Site(root, secrets.token_urlsafe(24))})
        try:
            self.httpd = ThreadingHTTPServer((HOST, port), handler)
        except OSError as err:
            raise InputError(f"cannot serve on {HOST}:{port}: {err.strerror}") from err
        self.httpd.daemon_threads = True
        self.token = handler.site.token
        self.port = self.httpd.server_address[1]
        self.url = f"http://{HOST}:{self.port}/{self.token}/{REPORT_NAME}"
        self._thread: threading.Thread | None = None

    def start(self) -> ReviewServer:
        """Serve in a background thread (tests, the Python API)."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve until interrupted (the command)."""
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> ReviewServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
