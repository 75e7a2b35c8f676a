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
import os
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


def run(stream_or_args, *, what: str = "ffmpeg", input_bytes: bytes | None = None, out: Path | None = None) -> str:
    """Run an ffmpeg-python graph (or an argument list after the binary); return stderr.

    Raises FFmpegError naming `what` with ffmpeg's stderr tail when the exit status is not 0, or
    the OutputError of a refused write of `out`.
    """
    if isinstance(stream_or_args, (list, tuple)):
        args = [ffmpeg_exe(), "-hide_banner", "-nostdin", *map(str, stream_or_args)]
    else:
        args = compile_args(stream_or_args)
    return _execute(args, what, input_bytes, out)


def _no_room(returncode: int, stderr: str) -> int | None:
    """The errno of a write ffmpeg could not make for lack of room, else None."""
    if returncode == -signal.SIGXFSZ:
        return errno.EFBIG
    return next((code for words, code in _NO_ROOM.items() if words in stderr), None)


def _execute(args: list[str], what: str, input_bytes: bytes | None, out: Path | None = None) -> str:
    if input_bytes is not None and "-nostdin" in args:
        args.remove("-nostdin")  # the frames arrive on stdin
    try:
        proc = subprocess.run(args, input=input_bytes, capture_output=True, check=False)
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
class MuxSpec:
    """Everything `mux` needs to write one localised mp4."""

    source: Path  # its video stream is the picture outside the overlays
    audio: Path  # the final mixed audio (WAV)
    subtitles: Path | None  # SRT, muxed as a mov_text track (None: no cues, no subtitle track)
    out: Path
    duration: float
    fps: float
    width: int
    height: int
    language: str  # ISO 639-2 code for the audio and subtitle tracks
    overlays: tuple[Overlay, ...] = ()
    metadata: tuple[tuple[str, str], ...] = ()  # container tags (title, comment)
    badge: Path | None = None  # an RGBA image laid over the top-left corner of every frame
    crf: int = 18


def mux(spec: MuxSpec) -> Path:
    """Encode H.264 (source picture with overlays spliced in) + AAC (+ mov_text) into `spec.out` (mp4)."""
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
    audio = ffmpeg.input(file_arg(spec.audio)).audio
    streams = [video, audio]
    if spec.subtitles is not None:
        streams.append(ffmpeg.input(file_arg(spec.subtitles))["s"])
    kwargs = {
        "vcodec": "libx264", "pix_fmt": "yuv420p", "preset": "veryfast", "crf": spec.crf, "r": spec.fps,
        "acodec": "aac", "audio_bitrate": "192k", "ar": 48000,
        **({"scodec": "mov_text", "metadata:s:s:0": f"language={spec.language}"} if spec.subtitles else {}),
        "t": f"{spec.duration:.6f}",
        "map_metadata": -1,
        "movflags": "+faststart",
        "metadata:s:a:0": f"language={spec.language}",
        "format": "mp4",
    }
    target = file_arg(spec.out)
    args = compile_args(ffmpeg.output(*streams, target, **kwargs))
    # ffmpeg-python takes one value per option name, so repeated -metadata go in by hand, before the output
    tags = [a for key, value in spec.metadata for a in ("-metadata", f"{key}={value}")]
    at = len(args) - 1 - args[::-1].index(target)
    args[at:at] = tags
    _execute(args, f"writing {spec.out}", None, spec.out)
    return spec.out
