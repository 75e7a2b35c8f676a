"""The delivery profiles: what each kind of recipient asks of a file (docs/delivery.md has the table).

A profile fixes the loudness target and true-peak ceiling, the container and codecs, and whether
subtitles are burned into the picture. `--loudness` overrides the target only; the ceiling stays.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from dubkit.errors import InputError

H264 = (("preset", "veryfast"), ("crf", "18"), ("profile:v", "high"), ("pix_fmt", "yuv420p"))
PRORES_422_HQ = (("profile:v", "3"), ("vendor", "apl0"), ("pix_fmt", "yuv422p10le"))  # prores_ks profile 3 = HQ


@dataclass(frozen=True)
class DeliveryProfile:
    """One delivery spec.

    loudness: integrated loudness target, LUFS (= LKFS); true_peak: ceiling, dBTP.
    container: the per-language file's extension and muxer ("mp4" or "mov").
    video_codec / video_options: the ffmpeg encoder and its options for the picture.
    audio_codec: "aac" (then audio_bitrate) or "pcm_s24le"; bit_depth 24 for PCM, None for AAC.
    headroom: dB kept below the ceiling when aiming, for what the lossy encoder adds to the true peak
        (AAC's quantisation noise raises inter-sample peaks); 0.2 dB for PCM (24-bit rounding, resampling
        in the meter).
    burn_in: subtitles burned into the picture by default.
    """

    name: str
    standard: str
    loudness: float
    true_peak: float
    container: str
    video_codec: str
    video_options: tuple[tuple[str, str], ...]
    audio_codec: str
    audio_bitrate: str | None
    bit_depth: int | None
    headroom: float
    burn_in: bool = False
    sample_rate: int = 48_000

    @property
    def subtitle_codec(self) -> str:
        return "mov_text"  # mp4 and mov both carry timed text as mov_text (tx3g)


PROFILES = MappingProxyType({p.name: p for p in (
    DeliveryProfile("broadcast-ebu", "EBU R 128 / EBU Tech 3343", -23.0, -1.0, "mp4", "libx264", H264,
                    "aac", "192k", None, 1.0),
    DeliveryProfile("broadcast-atsc", "ATSC A/85:2013 (CALM Act)", -24.0, -2.0, "mp4", "libx264", H264,
                    "aac", "192k", None, 1.0),
    DeliveryProfile("streaming", "common platform spec: -14 LUFS, -1 dBTP", -14.0, -1.0, "mp4", "libx264", H264,
                    "aac", "256k", None, 1.0),
    DeliveryProfile("social", "common platform spec: -14 LUFS, -1 dBTP, subtitles burned in", -14.0, -1.0, "mp4",
                    "libx264", H264, "aac", "192k", None, 1.0, burn_in=True),
    DeliveryProfile("master", "EBU R 128 mezzanine: ProRes 422 HQ, 24-bit PCM", -23.0, -1.0, "mov", "prores_ks",
                    PRORES_422_HQ, "pcm_s24le", None, 24, 0.2),
)})
DEFAULT_PROFILE = "broadcast-ebu"


def get_profile(name: str) -> DeliveryProfile:
    """The profile called `name`; InputError naming it and the known ones otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise InputError(f"unknown delivery profile {name!r}: known profiles are {', '.join(PROFILES)}") from None
