"""A tiny local stand-in for the Hugging Face hub, so `models pull` is tested without a network.

It serves a folder laid out like hub repositories (`root/<owner>/<repo>/<files>`) on 127.0.0.1 with
the four routes huggingface_hub's `snapshot_download` uses:

    GET  /api/models/<owner>/<repo>/revision/<rev>      repository info (its commit sha, file list)
    GET  /api/models/<owner>/<repo>/tree/<rev>          the recursive file listing
    HEAD /<owner>/<repo>/resolve/<rev>/<path>           file metadata (commit, etag, size)
    GET  /<owner>/<repo>/resolve/<rev>/<path>           the file itself (Range requests honoured)

Usage:
    with serve_hub(tmp_path / "hub") as endpoint:
        huggingface_hub.snapshot_download("owner/repo", endpoint=endpoint, local_dir=...)

`HubRequestLog` records each request path, so tests can check that the hub was (or was not) asked.
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse


def _commit_of(repo: Path) -> str:
    """A stable 40-hex "commit" for a repository folder: a hash of its file names and contents."""
    digest = hashlib.sha1()
    for f in sorted(p for p in repo.rglob("*") if p.is_file()):
        digest.update(f.relative_to(repo).as_posix().encode())
        digest.update(hashlib.sha256(f.read_bytes()).digest())
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    root: Path
    log: list[str]

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def _repo(self, owner: str, name: str) -> Path | None:
        # Files may be symlinks (tests link a real model in), so paths are checked, not resolved.
        if ".." in (owner, name):
            return None
        repo = self.root / owner / name
        return repo if repo.is_dir() else None

    def _json(self, data, status: int = 200) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _not_found(self, what: str) -> None:
        body = json.dumps({"error": what}).encode()
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Error-Code", "RepoNotFound" if "repository" in what else "EntryNotFound")
        self.send_header("X-Error-Message", what)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _files(self, repo: Path) -> list[Path]:
        return sorted(p for p in repo.rglob("*") if p.is_file())

    def do_GET(self) -> None:
        self._route(head=False)

    def do_HEAD(self) -> None:
        self._route(head=True)

    def _route(self, head: bool) -> None:
        path = unquote(urlparse(self.path).path)
        self.log.append(f"{self.command} {path}")
        if m := re.fullmatch(r"/api/models/([^/]+)/([^/]+)/revision/([^/]+)", path):
            repo = self._repo(m[1], m[2])
            if repo is None:
                return self._not_found(f"repository {m[1]}/{m[2]} not found")
            siblings = [{"rfilename": f.relative_to(repo).as_posix()} for f in self._files(repo)]
            return self._json({"id": f"{m[1]}/{m[2]}", "sha": _commit_of(repo), "siblings": siblings})
        if m := re.fullmatch(r"/api/models/([^/]+)/([^/]+)/tree/([^/]+)(/.*)?", path):
            repo = self._repo(m[1], m[2])
            if repo is None:
                return self._not_found(f"repository {m[1]}/{m[2]} not found")
            entries = [
                {
                    "type": "file",
                    "path": f.relative_to(repo).as_posix(),
                    "size": f.stat().st_size,
                    "oid": hashlib.sha1(f.read_bytes()).hexdigest(),
                }
                for f in self._files(repo)
            ]
            return self._json(entries)
        if m := re.fullmatch(r"/([^/]+)/([^/]+)/resolve/([^/]+)/(.+)", path):
            repo = self._repo(m[1], m[2])
            if repo is None:
                return self._not_found(f"repository {m[1]}/{m[2]} not found")
            target = repo / m[4]
            if ".." in Path(m[4]).parts or not target.is_file():
                return self._not_found(f"entry {m[4]} not found")
            return self._send_file(repo, target, head)
        return self._not_found(f"no route for {path}")

    def _send_file(self, repo: Path, target: Path, head: bool) -> None:
        data = target.read_bytes()
        start = 0
        rng = self.headers.get("Range")
        if rng and (m := re.fullmatch(r"bytes=(\d+)-", rng.strip())):
            start = min(int(m[1]), len(data))
        self.send_response(206 if start else 200)
        self.send_header("X-Repo-Commit", _commit_of(repo))
        self.send_header("ETag", f'"{_sha256(target)}"')
        self.send_header("Content-Length", str(len(data) - start))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if not head:
            self.wfile.write(data[start:])


@contextmanager
def serve_hub(root: Path, log: list[str] | None = None) -> Iterator[str]:
    """Serve `root` as a hub on a free port of 127.0.0.1; yield the endpoint URL."""
    handler = type("HubHandler", (_Handler,), {"root": Path(root), "log": log if log is not None else []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
