"""The one ffmpeg adapter: ffmpeg-python graphs run on imageio-ffmpeg's static binary.

Graphs are built with ffmpeg-python and compiled to an argument list (never a shell string), then
run here with `cmd=imageio_ffmpeg.get_ffmpeg_exe()`. Files are passed by absolute path, so a name
that starts with a dash or holds a colon is never read as an option or a protocol. Any failure
raises `FFmpegError` carrying the command and the tail of ffmpeg's stderr, so the user sees
ffmpeg's own reason; a write the disk refused (full, over quota, over `ulimit -f`) is the
OutputError of `dubkit.store.files.write_failed`, naming the folder and its free space.
"""
from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import ffmpeg
import numpy as np

from dubkit.errors import DubkitError
from dubkit.store.files import write_failed

STDERR_TAIL = 2000  # characters of ffmpeg's stderr kept in the error
# How ffmpeg says a write was refused; it is killed by SIGXFSZ past the file-size limit.
_NO_ROOM = {"No space left on device": errno.ENOSPC, "Disk quota exceeded": errno.EDQUOT,
            "File too large": errno.EFBIG}


class FFmpegError(DubkitError):
    """ffmpeg failed; `.stderr` holds the tail of its stderr and `.command` the argument list."""

    def __init__(self, message: str, command: Sequence[str], stderr: str) -> None:
        self.command = list(command)
        self.stderr = stderr[-STDERR_TAIL:]
        said = [line.strip() for line in self.stderr.splitlines() if line.strip()][-3:]
        super().__init__(f"{message}; ffmpeg said: {' | '.join(said)}" if said else message)


def file_arg(path: Path | str) -> str:
    """A file as ffmpeg must get it: absolute, so "-x/out.mp4" is no option and "a:b.mp4" no protocol."""
    return os.path.abspath(path)


def ffmpeg_exe() -> str:
    """Path of the static ffmpeg binary bundled by imageio-ffmpeg."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def compile_args(stream) -> list[str]:
    """The full argument list (binary first) of an ffmpeg-python graph, overwrite on, quiet banner."""
    graph = stream.global_args("-hide_banner", "-nostdin").overwrite_output()
    return ffmpeg.compile(graph, cmd=ffmpeg_exe())


def run(stream_or_args, *, what: str = "ffmpeg", input_bytes: bytes | None = None, out: Path | None = None,
        cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run an ffmpeg-python graph (or an argument list after the binary); return stderr.

    Raises FFmpegError naming `what` with ffmpeg's stderr tail when the exit status is not 0, or
    the OutputError of a refused write of `out`. `cwd`/`env`: where and with what environment it runs
    (the subtitles filter reads relative names and its own fontconfig file).
    """
    if isinstance(stream_or_args, (list, tuple)):
        args = [ffmpeg_exe(), "-hide_banner", "-nostdin", *map(str, stream_or_args)]
    else:
        args = compile_args(stream_or_args)
    return _execute(args, what, input_bytes, out, cwd=cwd, env=env)


def _no_room(returncode: int, stderr: str) -> int | None:
    """The errno of a write ffmpeg could not make for lack of room, else None."""
    if returncode == -signal.SIGXFSZ:
        return errno.EFBIG
    return next((code for words, code in _NO_ROOM.items() if words in stderr), None)


def _execute(args: list[str], what: str, input_bytes: bytes | None, out: Path | None = None, *,
             cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    if input_bytes is not None and "-nostdin" in args:
        args.remove("-nostdin")  # the frames arrive on stdin
    try:
        proc = subprocess.run(args, input=input_bytes, capture_output=True, check=False, cwd=cwd,
                              env={**os.environ, **env} if env else None)
    except OSError as err:
        raise FFmpegError(f"{what}: cannot start ffmpeg ({err})", args, "") from err
    stderr = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        code = _no_room(proc.returncode, stderr) if out is not None else None
        if code is not None:
            raise write_failed(Path(out), OSError(code, os.strerror(code)))
        raise FFmpegError(f"{what} failed (exit status {proc.returncode})", args, stderr)
    return stderr


def encode_frames(frames: np.ndarray, fps: float, path: Path) -> Path:
    """Write uint8 (n, H, W, 3) RGB frames as a near-lossless H.264 clip (for splicing)."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise DubkitError(f"frames for {path} must be uint8 (n, H, W, 3), got {frames.dtype} {frames.shape}")
    n, h, w, _ = frames.shape
    stream = ffmpeg.input("pipe:", format="rawvideo", pix_fmt="rgb24", s=f"{w}x{h}", framerate=fps).output(
        file_arg(path), vcodec="libx264", crf=12, preset="veryfast", pix_fmt="yuv444p", r=fps
    )
    run(stream, what=f"encoding {n} frames to {path}", input_bytes=np.ascontiguousarray(frames).tobytes(), out=path)
    return path


def encode_video(frames: np.ndarray, fps: float, audio: Path, out: Path, *, crf: int = 23,
                 threads: int | None = None) -> Path:
    """Write uint8 (n, H, W, 3) RGB frames plus an audio file as an H.264/AAC mp4 (yuv420p).

    libx264's bytes depend on its thread count (ffmpeg's default follows the machine's cores);
    pass `threads` to get the same picture bytes on every machine.
    """
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise DubkitError(f"frames for {out} must be uint8 (n, H, W, 3), got {frames.dtype} {frames.shape}")
    n, h, w, _ = frames.shape
    picture = ffmpeg.input("pipe:", format="rawvideo", pix_fmt="rgb24", s=f"{w}x{h}", framerate=fps)
    sound = ffmpeg.input(file_arg(audio)).audio
    stream = ffmpeg.output(
        picture, sound, file_arg(out), vcodec="libx264", crf=crf, preset="slow", pix_fmt="yuv420p", r=fps,
        acodec="aac", audio_bitrate="96k", ar=48000, t=f"{n / fps:.6f}", map_metadata=-1,
        movflags="+faststart", format="mp4", **({"threads": threads} if threads else {}),
        # a fixed encoder setup keeps the example byte-stable across runs
        **{"fflags": "+bitexact", "flags:v": "+bitexact", "flags:a": "+bitexact"},
    )
    run(stream, what=f"encoding {out}", input_bytes=np.ascontiguousarray(frames).tobytes(), out=out)
    return out


@dataclass(frozen=True)
class Overlay:
    """A clip whose picture replaces the source's from `start` to `end` (source seconds)."""

    path: Path
    start: float
    end: float


@dataclass(frozen=True)
class BurnIn:
    """Subtitles burned into the picture by libass: an ASS file and a folder holding only its font,
    both inside `folder` (the subtitles filter gets relative names, so no user path is parsed as filter
    syntax), and a fontconfig file there that knows only that folder (no silent fallback font)."""

    folder: Path
    ass_name: str = "burn.ass"
    fonts_name: str = "fonts"
    fontconfig_name: str = "fonts.conf"

    def filter_args(self) -> dict[str, str]:
        return {"filename": self.ass_name, "fontsdir": self.fonts_name}

    def env(self) -> dict[str, str]:
        return {"FONTCONFIG_FILE": str(Path(self.folder).resolve() / self.fontconfig_name)}


def write_fontconfig(burn: BurnIn) -> Path:
    """The fontconfig file of `burn`: its fonts folder only, its own cache folder."""
    folder = Path(burn.folder).resolve()
    path = folder / burn.fontconfig_name
    path.write_text('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>'
                    f"<dir>{folder / burn.fonts_name}</dir><cachedir>{folder / 'fontcache'}</cachedir></fontconfig>\n",
                    encoding="utf-8")
    return path


H264_DEFAULT = (("preset", "veryfast"), ("pix_fmt", "yuv420p"))
# A MOV track's language is one of QuickTime's Macintosh language codes, which ffmpeg knows by their
# ISO 639-2 names, bibliographic where the two differ (mp4 and mkv take any ISO 639-2 code). Cantonese
# has none: it is tagged Chinese there, and its title names it.
_MOV_LANGUAGE = {"zho": "chi", "deu": "ger", "yue": "chi"}


def track_language(code: str, container: str) -> str:
    """The ISO 639-2 code a track of `container` ("mp4", "mov", "mkv") can carry for `code`."""
    return _MOV_LANGUAGE.get(code, code) if container == "mov" else code


@dataclass(frozen=True)
class PictureSpec:
    """Everything `encode_picture` needs: the delivered picture of one or more languages."""

    source: Path  # its video stream is the picture outside the overlays
    duration: float
    fps: float
    width: int
    height: int
    overlays: tuple[Overlay, ...] = ()
    badge: Path | None = None  # an RGBA image laid over the top-left corner of every frame
    crf: int = 18
    container: str = "mp4"  # or "mov"
    video_codec: str = "libx264"
    video_options: tuple[tuple[str, str], ...] = H264_DEFAULT  # encoder options (crf comes from `crf` for H.264)
    burn_in: BurnIn | None = None  # subtitles drawn into the picture, after overlays and badge


@dataclass(frozen=True)
class MuxSpec:
    """Everything `mux` needs to write one localised file (mp4 or mov) around an encoded picture."""

    picture: Path  # a video-only file from `encode_picture`, copied as it is
    audio: Path  # the final mixed audio (WAV)
    subtitles: Path | None  # SRT, muxed as a mov_text track (None: no cues, no subtitle track)
    out: Path
    duration: float
    language: str  # ISO 639-2 code for the audio and subtitle tracks
    metadata: tuple[tuple[str, str], ...] = ()  # container tags (title, comment)
    container: str = "mp4"  # or "mov"
    audio_codec: str = "aac"  # or "pcm_s24le"
    audio_bitrate: str | None = "192k"


def _picture(spec: PictureSpec):
    """The source picture with generated windows spliced in, the badge, and burned-in subtitles."""
    video = ffmpeg.input(file_arg(spec.source)).video
    for ov in spec.overlays:
        clip = (
            ffmpeg.input(file_arg(ov.path)).video
            .filter("scale", spec.width, spec.height)
            .filter("setpts", f"PTS-STARTPTS+{ov.start:.6f}/TB")
        )
        video = ffmpeg.overlay(video, clip, eof_action="pass", enable=f"between(t,{ov.start:.6f},{ov.end:.6f})")
    if spec.badge is not None:
        video = ffmpeg.overlay(video, ffmpeg.input(file_arg(spec.badge)).video, x=8, y=8)
    if spec.burn_in is not None:
        video = video.filter("subtitles", **spec.burn_in.filter_args())
    return video


def encode_picture(spec: PictureSpec, out: Path) -> Path:
    """Encode the delivered picture alone (H.264 or ProRes, as the spec says; no audio, no subtitles) into
    `out`: the source with overlays spliced in, the badge and burned-in subtitles. Languages whose picture
    is the same share one encode; `mux` copies it into each language's file."""
    video = {"vcodec": spec.video_codec, **dict(spec.video_options)}
    if spec.video_codec == "libx264":
        video.setdefault("crf", spec.crf)
    stream = ffmpeg.output(_picture(spec), file_arg(out), **video, r=spec.fps, t=f"{spec.duration:.6f}",
                           map_metadata=-1, format=spec.container)
    burn = spec.burn_in
    _execute(compile_args(stream), f"encoding the picture {out}", None, out, cwd=burn.folder if burn else None,
             env=burn.env() if burn else None)
    return out


def mux(spec: MuxSpec) -> Path:
    """The encoded picture (copied) + audio (AAC or 24-bit PCM) (+ a language-tagged mov_text track) into
    `spec.out`."""
    streams = [ffmpeg.input(file_arg(spec.picture)).video, ffmpeg.input(file_arg(spec.audio)).audio]
    if spec.subtitles is not None:
        streams.append(ffmpeg.input(file_arg(spec.subtitles))["s"])
    language = track_language(spec.language, spec.container)
    kwargs = {
        "vcodec": "copy", "acodec": spec.audio_codec,
        **({"audio_bitrate": spec.audio_bitrate} if spec.audio_bitrate else {}), "ar": 48000,
        **({"scodec": "mov_text", "metadata:s:s:0": f"language={language}"} if spec.subtitles else {}),
        "t": f"{spec.duration:.6f}",
        "map_metadata": -1,
        "movflags": "+faststart",
        "metadata:s:a:0": f"language={language}",
        "format": spec.container,
    }
    target = file_arg(spec.out)
    args = compile_args(ffmpeg.output(*streams, target, **kwargs))
    # ffmpeg-python takes one value per option name, so repeated -metadata go in by hand, before the output
    tags = [a for key, value in spec.metadata for a in ("-metadata", f"{key}={value}")]
    at = len(args) - 1 - args[::-1].index(target)
    args[at:at] = tags
    _execute(args, f"writing {spec.out}", None, spec.out)
    return spec.out


# Loudness: loudnorm's two passes and the ebur128 meter.

LOUDNESS_RANGE = 50.0  # loudnorm's LRA target at its maximum: a spot's range never forces the dynamic mode


def _last_json(stderr: str, what: str) -> dict:
    start, end = stderr.rfind("{"), stderr.rfind("}")
    if start < 0 or end < start:
        raise FFmpegError(f"{what}: loudnorm printed no measurement", [], stderr)
    return json.loads(stderr[start : end + 1])


def loudnorm_measure(audio: Path, *, target: float, true_peak: float) -> dict:
    """loudnorm's first pass over `audio`: input_i, input_tp, input_lra, input_thresh, target_offset
    (floats; "-inf" for silence)."""
    stream = (ffmpeg.input(file_arg(audio)).audio
              .filter("loudnorm", I=target, TP=true_peak, LRA=LOUDNESS_RANGE, print_format="json")
              .output("-", format="null"))
    found = _last_json(run(stream, what=f"measuring the loudness of {audio}"), f"measuring {audio}")
    return {k: float(v) if k.startswith(("input_", "target_")) else v for k, v in found.items()}


def loudnorm_linear(audio: Path, out: Path, measured: dict, *, target: float, true_peak: float) -> dict:
    """loudnorm's second pass with the first pass's `measured` values: one linear gain when the target is
    reachable under `true_peak` (the returned JSON says "normalization_type": "linear"), written to `out`
    as 32-bit float WAV at 48 kHz."""
    stream = (ffmpeg.input(file_arg(audio)).audio
              .filter("loudnorm", I=target, TP=true_peak, LRA=LOUDNESS_RANGE, linear="true", print_format="json",
                      measured_I=measured["input_i"], measured_TP=measured["input_tp"],
                      # 0 is loudnorm's "not measured" (it then goes dynamic): a steady tone's range is 0.0
                      measured_LRA=max(measured["input_lra"], 0.01), measured_thresh=measured["input_thresh"],
                      offset=measured["target_offset"])
              .output(file_arg(out), acodec="pcm_f32le", ar=48000, format="wav"))
    return _last_json(run(stream, what=f"normalising {audio}", out=out), f"normalising {audio}")


_EBUR128 = re.compile(r"Integrated loudness:\s*I:\s*(?P<i>-?[\d.]+|-inf) LUFS.*True peak:\s*Peak:\s*"
                      r"(?P<tp>-?[\d.]+|-inf) dBFS", re.S)


def ebur128(path: Path) -> tuple[float, float]:
    """(integrated loudness LUFS, true peak dBTP) of a file's first audio stream, by ffmpeg's ebur128 meter
    (true peak by its 4x oversampling)."""
    stream = ffmpeg.input(file_arg(path)).audio.filter("ebur128", peak="true", framelog="quiet").output(
        "-", format="null")
    stderr = run(stream, what=f"measuring the loudness of {path}")
    found = list(_EBUR128.finditer(stderr))
    if not found:
        raise FFmpegError(f"measuring {path}: no ebur128 summary", [], stderr)
    return float(found[-1]["i"]), float(found[-1]["tp"])


# The multi-language master.


@dataclass(frozen=True)
class Track:
    """An audio or subtitle file for one track of the master, with its ISO 639-2 code and title."""

    path: Path
    language: str
    title: str


@dataclass(frozen=True)
class MasterSpec:
    """The master: the source picture once, then every audio track, then every subtitle track."""

    source: Path
    out: Path
    duration: float
    fps: float
    container: str  # "mov" or "mkv"
    video_codec: str
    video_options: tuple[tuple[str, str], ...]
    audio: tuple[Track, ...]
    subtitles: tuple[Track, ...]


def mux_master(spec: MasterSpec) -> Path:
    """Write the master: picture re-encoded once, 24-bit PCM audio tracks and text subtitle tracks, each
    tagged with its language and title, the first of each kind the default."""
    inputs = [spec.source, *(t.path for t in spec.audio), *(t.path for t in spec.subtitles)]
    args = [a for path in inputs for a in ("-i", file_arg(path))]
    args += ["-map", "0:v:0"]
    args += [a for i in range(len(spec.audio)) for a in ("-map", f"{1 + i}:a:0")]
    args += [a for i in range(len(spec.subtitles)) for a in ("-map", f"{1 + len(spec.audio) + i}:s:0")]
    args += ["-c:v", spec.video_codec, *(a for key, value in spec.video_options for a in (f"-{key}", value))]
    args += ["-r", f"{spec.fps}", "-c:a", "pcm_s24le", "-ar", "48000",
             "-c:s", "mov_text" if spec.container == "mov" else "srt"]
    for kind, tracks in (("a", spec.audio), ("s", spec.subtitles)):
        for i, track in enumerate(tracks):
            args += [f"-metadata:s:{kind}:{i}", f"language={track_language(track.language, spec.container)}",
                     f"-metadata:s:{kind}:{i}", f"title={track.title}",
                     f"-metadata:s:{kind}:{i}", f"handler_name={track.title}",
                     f"-disposition:{kind}:{i}", "default" if i == 0 else "0"]
    args += ["-t", f"{spec.duration:.6f}", "-map_metadata", "-1",
             "-f", "mov" if spec.container == "mov" else "matroska", "-y", file_arg(spec.out)]
    run(args, what=f"writing the master {spec.out}", out=spec.out)
    return spec.out
