"""One adapter per third-party tool: PyAV, ffmpeg, pysubs2, audio buffers, the packaged voices."""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def package_version(dist: str, default: str | None = "missing") -> str | None:
    """Installed version of the distribution `dist`, else `default` (identities and reports record a
    missing package as "missing"; never raised)."""
    try:
        return version(dist)
    except PackageNotFoundError:
        return default
