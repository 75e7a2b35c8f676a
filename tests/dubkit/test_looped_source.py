"""The gate scores what the client hears, window by window, on a source made of the example looped 3 times.

One job into ja is killed (SIGKILL) as soon as its first window's verdict is cached, then run to the end.
Counting wrappers around the real preview engine and the real Whisper log every render and every
recognition across both processes. Every window passes as mixed for delivery, so the language passes; the
delivered verdict is assembled from the windows (its error rate is jiwer's on the concatenation), the
delivered file passes the integrity check, and no finished window is recognised twice.

The gate runs at CER 0.5 rather than Japanese's default 0.35: Whisper base hears the preview voice at
CER 0.23 to 0.46 depending on the few milliseconds by which each loop's original sound (ducked to
-30 dB under the speech) is shifted, and this test is about how the verdict is assembled, not about
that voice (docs/localize.md has the figures at the default).
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.dubkit.counting_engine import read_log

REPO = Path(__file__).resolve().parents[2]
LOOPS = 3

pytestmark = pytest.mark.slow


def _verdicts(out: Path) -> int:
    folder = out / ".dubkit-cache" / "gate"
    return len(list(folder.glob("*.json"))) if folder.is_dir() else 0


def _run(source: Path, scripts: Path, out: Path, folder: Path, name: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.dubkit.counting_engine", str(source), str(out), "ja",
         str(folder / f"{name}.renders.log"), "--source-script", str(scripts / "spot.en.srt"),
         "--scripts", str(scripts), "--recognitions", str(folder / f"{name}.recognitions.log"),
         "--threshold", "0.5"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    sys.path.insert(0, str(REPO))
    from bench.localize_bench import make_source

    folder = tmp_path_factory.mktemp("looped")
    source, scripts = make_source(folder, LOOPS, ["ja"])
    out = folder / "out"
    first = _run(source, scripts, out, folder, "killed")
    deadline = time.time() + 400
    while _verdicts(out) < 1 and first.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    assert first.returncode == -signal.SIGKILL, f"the run ended before a window finished: {first.stdout.read()}"
    at_kill = _verdicts(out)
    second = _run(source, scripts, out, folder, "resumed")
    output, _ = second.communicate(timeout=600)
    return {"rc": second.returncode, "output": output, "at_kill": at_kill,
            "report": json.loads((out / "report.json").read_text("utf-8")),
            "recognised": [len(read_log(folder / f"{n}.recognitions.log")) for n in ("killed", "resumed")]}


def test_every_window_passes_as_delivered_so_the_language_passes(job):
    ja = job["report"]["languages"]["ja"]
    assert len(ja["windows"]) == LOOPS
    assert all(w["passed"] for w in ja["windows"]), [w["error_rate"] for w in ja["windows"]]
    assert ja["passed"] and ja["reasons"] == [] and job["rc"] == 0, job["output"][-2000:]


def test_the_delivered_error_rate_is_the_windows_aggregate(job):
    from bench.localize_bench import agreement

    ja = job["report"]["languages"]["ja"]
    chosen = [w["attempts"][w["chosen_attempt"] - 1] for w in ja["windows"]]
    delivered = ja["delivered"]
    assert delivered["passed"] is True
    assert delivered["errors"] == sum(a["errors"] for a in chosen)
    assert delivered["units"] == sum(a["units"] for a in chosen) > 0
    assert delivered["error_rate"] == pytest.approx(delivered["errors"] / delivered["units"], abs=1e-9)
    assert agreement(ja)  # and jiwer over the concatenation of the windows gives the same rate


def test_a_resumed_run_recognises_no_finished_window_again(job):
    killed, resumed = job["recognised"]
    assert killed == job["at_kill"] >= 1  # what the killed run finished, it had cached
    assert killed + resumed == LOOPS  # one recognition per window in all: none twice, no whole-file pass
