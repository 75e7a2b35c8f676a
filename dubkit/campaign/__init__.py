"""Campaigns: several spots × several languages in one command, on this machine or a Ray cluster.

    manifest.py  the spots: sources on the command line, or a TOML manifest, checked completely
    worker.py    what a worker process holds (engines, recogniser) and its three calls
    backends.py  local (in-process, process pool); Ray lives in dubkit.adapters.ray_cluster
    run.py       the driver: spots through the single-source recipe's seams, calls on a backend
    report.py    OUT/campaign.json and campaign.html

This room sits above the recipe (it runs dubkit.pipeline per spot); only the CLI imports it.
docs/campaigns.md describes the command and the manifest.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dubkit.campaign.backends import Backend
from dubkit.campaign.manifest import Spot
from dubkit.campaign.report import build_campaign, write_campaign
from dubkit.campaign.run import CampaignRun, Tick, run_spots
from dubkit.errors import InputError


@dataclass(frozen=True)
class CampaignResult:
    """A finished campaign: every spot's run, and the campaign report (several spots only)."""

    out: Path
    run: CampaignRun
    campaign_json: Path | None
    campaign_html: Path | None

    @property
    def passed(self) -> bool:
        return self.run.passed


def localize_campaign(spots: list[Spot], out: Path, backend: Backend,
                      progress: Callable[[Tick], None] | None = None) -> CampaignResult:
    """Run checked spots (manifest.read_manifest / spots_from_sources) on `backend`; with several
    spots, write OUT/campaign.json and campaign.html. The backend is closed when this returns."""
    run = run_spots(spots, backend, Path(out), progress)
    paths: tuple[Path | None, Path | None] = (None, None)
    if len(spots) > 1:
        paths = write_campaign(build_campaign(run, Path(out), backend.name), Path(out))
    return CampaignResult(Path(out), run, *paths)


def check_backend_options(spots: list[Spot], jobs: int, ray: str | None) -> None:
    """InputError for what the chosen backend cannot do: --force re-reads this run's renders from the
    cache, which only the process that wrote them may do, so it runs in one process."""
    if (jobs != 1 or ray is not None) and any(s.options.force for s in spots):
        raise InputError("--force runs with --jobs 1 only (it trusts only what this process wrote); "
                         "delete the spot's .dubkit-cache folder to recompute it on --jobs or --ray")
