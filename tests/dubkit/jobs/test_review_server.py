"""`dubkit review OUT`: a real server on 127.0.0.1, spoken to over real sockets."""
import http.client
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from dubkit.errors import InputError
from dubkit.jobs.review import ReviewServer

REPO = Path(__file__).resolve().parents[3]
REVIEW = {"review_version": 1, "languages": {"zh": {"script_sha256": "ab" * 32,
                                                     "lines": {"2": {"decision": "approve", "take": 1, "seed": 5}}}}}


@pytest.fixture
def served(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").write_text("<!DOCTYPE html><p>report</p>", "utf-8")
    (out / "ad.zh.mp4").write_bytes(bytes(range(256)) * 40)
    (out / ".dubkit-cache").mkdir()
    (out / ".dubkit-cache" / "entry.json").write_text("{}", "utf-8")
    (tmp_path / "secret.txt").write_text("outside", "utf-8")
    (out / "escape.txt").symlink_to(tmp_path / "secret.txt")
    (out / "inside.txt").symlink_to(out / "report.html")
    with ReviewServer(out) as server:
        yield server, out


def _ask(server, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request(method, path, body=body, headers={"Content-Type": "application/json", **(headers or {})})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data, response


def test_the_report_is_served_under_the_token_and_refused_without_it(served):
    server, _ = served
    assert _ask(server, "GET", f"/{server.token}/report.html")[0] == 200
    assert _ask(server, "GET", f"/{server.token}/")[1].startswith(b"<!DOCTYPE html>")
    assert _ask(server, "GET", "/report.html")[0] == 403
    wrong = server.token[:-1] + ("y" if server.token.endswith("x") else "x")  # one character off, never the token
    assert _ask(server, "GET", f"/{wrong}/report.html")[0] == 403


def test_a_write_without_the_token_is_refused_and_writes_nothing(served):
    server, out = served
    status, _, _ = _ask(server, "POST", "/review.json", json.dumps(REVIEW).encode())
    assert status == 403 and not (out / "review.json").exists()
    status, _, _ = _ask(server, "POST", "/wrong-token/review.json", json.dumps(REVIEW).encode())
    assert status == 403 and not (out / "review.json").exists()


def test_a_write_with_the_token_saves_review_json_atomically(served):
    server, out = served
    status, body, _ = _ask(server, "POST", f"/{server.token}/review.json", json.dumps(REVIEW).encode())
    assert status == 200, body
    assert json.loads((out / "review.json").read_text("utf-8")) == REVIEW
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".") and p.is_file()) == []  # no temp left


def test_only_a_valid_review_is_written_and_only_to_review_json(served):
    server, out = served
    bad = {**REVIEW, "languages": {"zh": {"script_sha256": "x", "lines": {"1": {"decision": "reject"}}}}}
    assert _ask(server, "POST", f"/{server.token}/review.json", json.dumps(bad).encode())[0] == 400
    assert _ask(server, "POST", f"/{server.token}/review.json", b"{not json")[0] == 400
    assert _ask(server, "POST", f"/{server.token}/report.html", json.dumps(REVIEW).encode())[0] == 403
    assert not (out / "review.json").exists()
    assert (out / "report.html").read_text("utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("path", ["../secret.txt", "%2e%2e/secret.txt", "..%2fsecret.txt", "/etc/passwd",
                                  "%2fetc%2fpasswd", "escape.txt", ".dubkit-cache/entry.json", "sub/../../secret.txt"])
def test_paths_outside_out_are_refused(served, path):
    server, _ = served
    status, body, _ = _ask(server, "GET", f"/{server.token}/{path}")
    assert status == 404 and b"outside" not in body


def test_a_link_that_stays_inside_out_is_served(served):
    server, _ = served
    assert _ask(server, "GET", f"/{server.token}/inside.txt")[0] == 200


def test_another_host_name_is_refused(served):
    server, _ = served
    assert _ask(server, "GET", f"/{server.token}/report.html", headers={"Host": "evil.example:80"})[0] == 403


def test_the_video_is_served_in_ranges_so_the_player_can_seek(served):
    server, out = served
    status, body, response = _ask(server, "GET", f"/{server.token}/ad.zh.mp4", headers={"Range": "bytes=100-199"})
    assert status == 206 and body == (out / "ad.zh.mp4").read_bytes()[100:200]
    assert response.getheader("Content-Range") == f"bytes 100-199/{256 * 40}"


def test_it_binds_to_127_0_0_1_only(served):
    server, _ = served
    assert server.httpd.socket.getsockname()[0] == "127.0.0.1"
    others = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)} - {"127.0.0.1"}
    for address in others:  # the machine's other addresses (if any) do not answer
        with pytest.raises(OSError):
            socket.create_connection((address, server.port), timeout=2).close()


def test_a_folder_without_a_report_is_a_bad_input(tmp_path):
    with pytest.raises(InputError, match="no report.html"):
        ReviewServer(tmp_path)


def test_the_command_prints_the_url_with_its_token(served):
    _, out = served
    proc = subprocess.Popen([sys.executable, "cli.py", "review", str(out)], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith(f"review {out} at http://127.0.0.1:") and line.rstrip().endswith("/report.html")
        port, token = line.split("127.0.0.1:")[1].split("/")[:2]
        conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
        conn.request("GET", f"/{token}/report.html")
        assert conn.getresponse().status == 200
    finally:
        proc.terminate()
        proc.wait(10)
