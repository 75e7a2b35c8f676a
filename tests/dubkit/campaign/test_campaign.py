"""Campaigns end to end with the preview engine: two spots × two languages (and one spot whose video is
unreadable), once in this process and once on a real local Ray cluster (2 CPUs, started here) whose
worker is killed in the middle of a render; then the Ray campaign once more, fully cached."""
from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from dubkit.campaign import localize_campaign
from dubkit.campaign.backends import make_backend
from dubkit.campaign.manifest import spots_from_sources
from dubkit.campaign.worker import read_journal
from tests.dubkit.campaign.conftest import LANGS

pytestmark = pytest.mark.slow
SPOTS = ("ad", "cut")
_VOLATILE = {"seconds", "seconds_render", "seconds_gate", "cached", "gate_cached", "video", "subtitles", "report",
             "path"}


def _stable(value):
    """A report without what differs between equal runs: timings, cache flags, absolute paths."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _languages(out: Path, spot: str) -> dict:
    return _stable(json.loads((out / spot / "report.json").read_text("utf-8"))["languages"])


@pytest.fixture(scope="module")
def local(spots_dir, tmp_path_factory, recognizer):
    """Three sources into one -o with the in-process backend; the third is not a video."""
    out = tmp_path_factory.mktemp("local") / "OUT"
    sources = [spots_dir / f"{s}.mp4" for s in (*SPOTS, "broken")]
    result = CliRunner().invoke(main, ["localize", *map(str, sources), "--to", ",".join(LANGS), "--engine", "preview",
                                       "--source-script", str(spots_dir / "ad.en.srt"), "-o", str(out)])
    return out, result


def _actor_pids(ray) -> set[int]:
    """The pids of the live actors. ray.util.state answers through the dashboard, which a cluster
    started without it (include_dashboard=False) lacks; the GCS actor table holds the same pids."""
    try:
        from ray.util.state import list_actors

        return {a.pid for a in list_actors(filters=[("state", "=", "ALIVE")])}
    except Exception:
        return {a["Pid"] for a in ray._private.state.actors().values() if a["State"] == "ALIVE"}


def _kill_during_a_render(ray, out: Path, killed: list, stop: threading.Event) -> None:
    """SIGKILL the actor whose render has started and not finished (its pid from the engine journal,
    checked against Ray's live actors)."""
    while not stop.is_set():
        for spot in SPOTS:
            events = read_journal(out / spot)
            done = {(e["window"], e["language"], e["seed"]) for e in events if e["event"] == "done"}
            running = [e for e in events
                       if e["event"] == "start" and (e["window"], e["language"], e["seed"]) not in done]
            if running and running[0]["pid"] in _actor_pids(ray):
                os.kill(running[0]["pid"], signal.SIGKILL)
                killed.append(running[0])
                return
        time.sleep(0.05)


@pytest.fixture(scope="module")
def on_ray(spots_dir, tmp_path_factory):
    """The two good spots on a local Ray cluster; one worker killed mid-render; then the same again."""
    ray = pytest.importorskip("ray") if not os.environ.get("DUBKIT_REQUIRE_TEST_DATA") else __import__("ray")
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    try:
        out = tmp_path_factory.mktemp("ray") / "OUT"
        spots = spots_from_sources([spots_dir / f"{s}.mp4" for s in SPOTS], out, {
            "languages": ",".join(LANGS), "engine": "preview", "source_script": spots_dir / "ad.en.srt"})
        killed: list = []
        stop = threading.Event()
        killer = threading.Thread(target=_kill_during_a_render, args=(ray, out, killed, stop), daemon=True)
        killer.start()
        t0 = time.perf_counter()
        first = localize_campaign(spots, out, make_backend(ray="auto"))
        stop.set()
        journal_after_first = {s: read_journal(out / s) for s in SPOTS}
        seconds = time.perf_counter() - t0
        second = localize_campaign(spots, out, make_backend(ray="auto"))
        journal_after_second = {s: read_journal(out / s) for s in SPOTS}
        ray_reports = {s: _languages(out, s) for s in SPOTS}
        pool = CliRunner().invoke(main, ["localize", *(str(spots_dir / f"{s}.mp4") for s in SPOTS), "--to",
                                         ",".join(LANGS), "--engine", "preview", "--source-script",
                                         str(spots_dir / "ad.en.srt"), "-o", str(out), "--jobs", "2"])
        return {"out": out, "first": first, "second": second, "killed": killed, "seconds": seconds,
                "journal": journal_after_first, "journal_after_second": journal_after_second,
                "ray_reports": ray_reports, "pool": pool,
                "journal_after_pool": {s: read_journal(out / s) for s in SPOTS}}
    finally:
        ray.shutdown()


def test_each_source_gets_its_own_folder_and_nothing_is_overwritten(local):
    out, result = local
    assert result.exit_code == 1, result.output  # the unreadable spot fails the campaign
    for spot in SPOTS:
        report = json.loads((out / spot / "report.json").read_text("utf-8"))
        assert Path(report["source"]["path"]).stem == spot
        assert sorted(p.name for p in (out / spot).glob(f"{spot}.*")) == sorted(
            f"{spot}.{code}.{ext}" for code in LANGS for ext in ("mp4", "srt"))
    assert not (out / "report.json").exists()


def test_the_campaign_report_lists_every_spot_and_the_unreadable_one_with_its_reason(local):
    out, _ = local
    doc = json.loads((out / "campaign.json").read_text("utf-8"))
    assert [s["name"] for s in doc["spots"]] == [*SPOTS, "broken"] and doc["languages"] == sorted(LANGS)
    broken = doc["spots"][2]
    assert broken["verdict"] == "error" and "broken.mp4" in broken["error"]
    for spot in doc["spots"][:2]:
        assert spot["error"] is None
        for cell in spot["languages"].values():
            assert cell["verdict"] in ("pass", "fail") and cell["threshold"] > 0
            assert (out / cell["video"]).is_file() and cell["report"] == f"{spot['name']}/report.html"
    html = (out / "campaign.html").read_text("utf-8")
    assert all(name in html for name in (*SPOTS, "broken")) and "ad/ad.ja.mp4" in html


def test_a_single_source_run_does_not_overwrite_another_sources_report(local, spots_dir):
    out, _ = local
    result = CliRunner().invoke(main, ["localize", str(spots_dir / "cut.mp4"), "--to", "ja", "-o", str(out / "ad")])
    assert result.exit_code == 2 and "holds the report of" in result.output


def test_ray_gives_the_outputs_and_verdicts_of_the_local_backend(local, on_ray):
    out, _ = local
    for spot in SPOTS:
        assert _languages(on_ray["out"], spot) == _languages(out, spot)
        for code in LANGS:
            for ext in ("mp4", "srt"):
                name = f"{spot}.{code}.{ext}"
                assert (on_ray["out"] / spot / name).read_bytes() == (out / spot / name).read_bytes(), name


def test_a_worker_killed_mid_render_is_retried_and_no_finished_window_is_rendered_twice(on_ray):
    assert on_ray["killed"], "no render was caught running"
    assert on_ray["first"].run.spots and all(s.error is None and s.result for s in on_ray["first"].run.spots)
    for spot, events in on_ray["journal"].items():
        finished = [(e["window"], e["language"], e["seed"]) for e in events if e["event"] == "done"]
        assert len(finished) == len(set(finished)) == len(LANGS), (spot, events)
    killed = on_ray["killed"][0]
    restarted = [e for es in on_ray["journal"].values() for e in es
                 if e["event"] == "start" and (e["window"], e["language"]) == (killed["window"], killed["language"])]
    assert len(restarted) >= 1


def test_a_second_ray_run_is_fully_cached(on_ray):
    assert on_ray["journal_after_second"] == on_ray["journal"]  # the engine never ran
    for spot in SPOTS:
        report = json.loads((on_ray["out"] / spot / "report.json").read_text("utf-8"))
        for lang in report["languages"].values():
            assert all(a["cached"] and a["gate_cached"] for w in lang["windows"] for a in w["attempts"])
            # the delivered verdict is assembled from the (cached) windows: nothing is recognised again
            assert lang["delivered"]["notes"][0].startswith("assembled from")


def test_the_ray_campaign_resumes_on_a_local_process_pool_with_nothing_to_compute(on_ray):
    assert on_ray["pool"].exit_code in (0, 1), on_ray["pool"].output
    assert on_ray["journal_after_pool"] == on_ray["journal"]
    assert {s: _languages(on_ray["out"], s) for s in SPOTS} == on_ray["ray_reports"]


def test_without_a_terminal_each_finished_spot_language_is_one_line(local):
    _, result = local
    lines = result.output.splitlines()
    for spot in SPOTS:
        for code in LANGS:
            assert sum(line.split()[1:3] == [spot, code] and line.split()[0] in ("PASS", "FAIL")
                       and "windows)" in line for line in lines if len(line.split()) > 2) == 1, result.output
    assert any(line.startswith("FAIL broken:") for line in lines)
