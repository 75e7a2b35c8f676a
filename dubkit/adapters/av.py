"""The PyAV adapter: probe media files, decode their audio and pick frames, all in-process.

Every failure is a `MediaError` naming the file and what is wrong with it; PyAV's own exceptions
never leave this module. `probe` also refuses media outside the named limits below (docs/limits.md)
before anything decodes them: a header can declare a frame or a duration no machine could hold.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import av.logging
import numpy as np

from dubkit.errors import MediaError, limit, require_file

MAX_FRAME_PIXELS = 8192 * 4320  # DCI 8K; one RGB frame of 30000x30000 would be 2.7 GB. DUBKIT_MAX_FRAME_PIXELS
MAX_MEDIA_SECONDS = 4 * 3600.0  # a feature film; the mix holds the whole timeline. DUBKIT_MAX_MEDIA_SECONDS
MIN_FRAME_RATE = 1.0  # average frames per second: hours declared over a few frames is not a video
MIN_SAMPLE_RATE = 8000  # Hz, telephone speech; 1 Hz audio resampled to 48 kHz is a memory bomb


@dataclass(frozen=True)
class MediaInfo:
    """What a media file holds. Video fields are None without a video stream, audio ones likewise."""

    path: Path
    duration: float  # seconds: the container's duration, else the longest stream's
    has_video: bool
    has_audio: bool
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    n_frames: int | None = None  # as declared by the container (0 or None when unknown)
    sample_rate: int | None = None
    channels: int | None = None
    video_seconds: float | None = None  # each stream's own declared length, when it has one
    audio_seconds: float | None = None


def _open(path: Path):
    path = require_file(path, "media file", MediaError)
    if path.stat().st_size == 0:
        raise MediaError(f"media file {path} is empty (0 bytes)")
    try:
        with open(path, "rb"):
            pass
    except OSError as err:
        raise MediaError(f"media file {path} cannot be read: {err.strerror}") from err
    try:  # absolute: a name like "a:b.mp4" would otherwise be read as a protocol
        return av.open(str(path.absolute()))
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as err:
        raise MediaError(f"{path} is not a media file ffmpeg can read ({err})") from err


def _open_logged(path: Path):
    """`_open`, keeping what FFmpeg logged while it probed the streams (the reason a stream's
    parameters stay unknown, such as an impossible frame size)."""
    level, skip = av.logging.get_level(), av.logging.get_skip_repeated()
    av.logging.set_level(av.logging.ERROR)
    av.logging.set_skip_repeated(False)  # a second probe of the same file must hear the reason again
    try:
        with av.logging.Capture() as logs:
            container = _open(path)
    finally:
        av.logging.set_level(level)
        av.logging.set_skip_repeated(skip)
    return container, [message.strip() for _level, _name, message in logs]


def _stream_seconds(stream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return 0.0


def probe(path: str | Path) -> MediaInfo:
    """Read a file's streams, size, frame rate and duration without decoding it; MediaError when
    they are outside the limits (docs/limits.md)."""
    path = Path(path)
    container, logs = _open_logged(path)
    with container:
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        if video is None and audio is None:
            raise MediaError(f"{path} has neither a video nor an audio stream")
        if video is not None and not video.codec_context.width:
            reason = "; ".join(logs[-2:]) or "ffmpeg found no frame size"
            raise MediaError(f"{path}: the frame size of its video stream cannot be read ({reason})")
        if audio is not None:
            check_sample_rate(path, audio.codec_context.sample_rate)
        duration = container.duration / av.time_base if container.duration else 0.0
        if duration <= 0:
            duration = max(_stream_seconds(s) for s in (video, audio) if s is not None)
        if duration <= 0 and audio is not None:
            duration = _decoded_audio_seconds(container, audio)
        if duration <= 0:
            raise MediaError(f"{path} has zero duration")
        fps = None
        if video is not None:
            rate = video.average_rate or video.base_rate or video.guessed_rate
            fps = float(rate) if rate else None
        info = MediaInfo(
            path=path,
            duration=float(duration),
            has_video=video is not None,
            has_audio=audio is not None,
            fps=fps,
            width=video.codec_context.width if video is not None else None,
            height=video.codec_context.height if video is not None else None,
            n_frames=video.frames if video is not None else None,
            sample_rate=audio.codec_context.sample_rate if audio is not None else None,
            channels=audio.codec_context.channels if audio is not None else None,
            video_seconds=(_stream_seconds(video) or None) if video is not None else None,
            audio_seconds=(_stream_seconds(audio) or None) if audio is not None else None,
        )
    check_limits(info)
    return info


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def check_sample_rate(path: Path, rate: int | None) -> None:
    """MediaError unless an audio stream's sample rate is at least MIN_SAMPLE_RATE."""
    if rate is not None and rate < MIN_SAMPLE_RATE:
        raise MediaError(f"{path}: its audio has a sample rate of {rate} Hz, below the minimum of "
                         f"{MIN_SAMPLE_RATE} Hz (docs/limits.md)")


def _check_duration(path: Path, seconds: float) -> None:
    most = limit("MAX_MEDIA_SECONDS", MAX_MEDIA_SECONDS)
    if seconds > most:
        raise MediaError(f"{path} lasts {_clock(seconds)}, longer than the limit of {_clock(most)} "
                         "(MAX_MEDIA_SECONDS; set DUBKIT_MAX_MEDIA_SECONDS to allow more)")


def check_limits(info: MediaInfo) -> None:
    """MediaError naming the file when its frame size, duration or frame rate is outside the limits."""
    if info.has_video and info.width and info.height:
        most = limit("MAX_FRAME_PIXELS", MAX_FRAME_PIXELS)
        if info.width * info.height > most:
            raise MediaError(f"{info.path}: frame size {info.width}x{info.height} is over the limit of {most:,.0f} "
                             "pixels (MAX_FRAME_PIXELS, 8192x4320; set DUBKIT_MAX_FRAME_PIXELS to allow more)")
    _check_duration(info.path, info.duration)
    if info.has_video:
        span = info.video_seconds or info.duration  # the video stream's own length (the audio may run longer)
        rate = info.n_frames / span if info.n_frames else info.fps or 0.0
        if rate < MIN_FRAME_RATE:
            frames = f"{info.n_frames} frames" if info.n_frames else "its frames"
            raise MediaError(f"{info.path} holds {frames} over {_clock(span)} ({rate:.4f} frames per second "
                             f"on average); localize needs a video of at least {MIN_FRAME_RATE:g} frame per second")


def _decoded_audio_seconds(container, stream) -> float:
    # Some raw formats declare no duration; count the samples instead (cheap for audio).
    samples = 0
    rate = stream.codec_context.sample_rate or 1
    for frame in container.decode(stream):
        samples += frame.samples
    return samples / rate


def read_audio(path: str | Path, sample_rate: int = 16_000, mono: bool = True) -> np.ndarray:
    """Decode the first audio stream to float32 at `sample_rate`.

    Returns shape (n,) when `mono`, else (n, channels). A file without audio is a MediaError.
    """
    blocks = list(audio_blocks(path, sample_rate, block=0, mono=mono))  # block 0: one block at the end
    if not blocks:
        return np.zeros(0, dtype=np.float32) if mono else np.zeros((0, 1), dtype=np.float32)
    samples = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
    return np.ascontiguousarray(samples[:, 0]) if mono else samples


def audio_blocks(path: str | Path, sample_rate: int = 48_000, block: int = 480_000,
                 mono: bool = False) -> Iterator[np.ndarray]:
    """The first audio stream decoded from the top at `sample_rate` (downmixed when `mono`), as (n_i, channels)
    float32 blocks of about `block` samples (0: the whole stream as one block), so a long file's sound
    need not be held whole."""
    path = Path(path)
    with _open(path) as container:
        if not container.streams.audio:
            raise MediaError(f"{path} has no audio stream")
        stream = container.streams.audio[0]
        check_sample_rate(path, stream.codec_context.sample_rate)
        resampler = av.AudioResampler(format="fltp", layout="mono" if mono else None, rate=sample_rate)
        pending: list[np.ndarray] = []  # (channels, samples) planar float pieces
        have = 0
        try:
            for frame in _with_flush(container.decode(stream)):
                for out in resampler.resample(frame):
                    pending.append(out.to_ndarray())
                    have += out.samples
                if block and have >= block:
                    yield np.ascontiguousarray(np.concatenate(pending, axis=1).T, dtype=np.float32)
                    pending, have = [], 0
        except av.FFmpegError as err:
            raise MediaError(f"cannot decode the audio of {path}: {err}") from err
        if pending:
            yield np.ascontiguousarray(np.concatenate(pending, axis=1).T, dtype=np.float32)


def _with_flush(frames):
    """The decoded frames, then None (the resampler's flush)."""
    yield from frames
    yield None


SEEK_LEAD = 1.0  # seconds decoded before a span's start after a seek: the codec's overlap settles in it


def read_audio_span(path: str | Path, start: float, end: float, sample_rate: int = 48_000) -> np.ndarray:
    """(n, channels) float32: the [start, end) seconds of the first audio stream at `sample_rate`, zero-padded
    where the stream ends early. Seeks near `start`, so a span of a long file costs what the span costs.

    Sample k of the span is sample round(start * rate) + k of `read_audio(path, rate, mono=False)`.
    """
    path = Path(path)
    a, b = round(start * sample_rate), round(end * sample_rate)
    with _open(path) as container:
        if not container.streams.audio:
            raise MediaError(f"{path} has no audio stream")
        stream = container.streams.audio[0]
        check_sample_rate(path, stream.codec_context.sample_rate)
        lead = start - SEEK_LEAD
        origin = None  # output sample index of the first decoded sample
        if lead > 0:
            container.seek(int(lead / stream.time_base), stream=stream, backward=True)
        else:
            origin = 0  # from the top, exactly as read_audio counts
        resampler = av.AudioResampler(format="fltp", rate=sample_rate)
        chunks: list[np.ndarray] = []
        have = 0
        try:
            for frame in container.decode(stream):
                if origin is None:
                    origin = round(float(frame.pts * stream.time_base) * sample_rate) if frame.pts is not None else a
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())
                    have += out.samples
                if origin + have >= b:
                    break
            else:
                chunks += [out.to_ndarray() for out in resampler.resample(None)]
        except av.FFmpegError as err:
            raise MediaError(f"cannot decode the audio of {path}: {err}") from err
    channels = stream.codec_context.channels or 1
    got = np.concatenate(chunks, axis=1).T if chunks else np.zeros((0, channels), np.float32)  # (n, channels)
    out = np.zeros((b - a, got.shape[1]), np.float32)
    lo = max(a, origin or 0)
    take = max(0, min(b, (origin or 0) + len(got)) - lo)
    out[lo - a : lo - a + take] = got[lo - (origin or 0) : lo - (origin or 0) + take]
    return out


SEEK_GAP = 3.0  # seconds: a wanted frame further ahead than this is reached by seeking, not decoding


def read_frames(path: str | Path, times: Sequence[float]) -> list[np.ndarray]:
    """The frame on screen at each time (seconds), as (H, W, 3) uint8 RGB, in the order asked.

    A time before the first frame gives the first frame; after the last, the last frame. Times far
    apart are reached by seeking to the keyframe before them, so a few frames of a long file are cheap.
    """
    path = Path(path)
    if not len(times):
        return []
    for t in times:
        if not np.isfinite(t) or t < 0:
            raise MediaError(f"frame time {t!r} for {path} is not a time in seconds >= 0")
    with _open(path) as container:
        if not container.streams.video:
            raise MediaError(f"{path} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame threads: the same pixels, decoded on every core
        order = sorted(range(len(times)), key=lambda i: times[i])
        try:
            found = _frames_at(container, stream, [float(times[i]) for i in order])
        except av.FFmpegError as err:
            raise MediaError(f"cannot decode the video of {path}: {err}") from err
        if any(f is None for f in found):
            raise MediaError(f"{path} has no decodable video frames")
        picked = {i: _rgb(f) for i, f in zip(order, found, strict=True)}
    return [picked[i] for i in range(len(times))]


def frames_at(path: str | Path, times: Sequence[float], height: int | None = None) -> Iterator[np.ndarray]:
    """The frame on screen at each of `times` (seconds, ascending), as `read_frames` picks them, one at a time:
    decoding starts at the keyframe before the first time (not at the file's start), so a window late in a
    long source costs only its own stretch, and a long window only one frame of memory. With `height`, frames
    are scaled by FFmpeg to that many rows (aspect kept) when they are taller."""
    path = Path(path)
    if any(b < a for a, b in zip(times, times[1:], strict=False)) or (len(times) and times[0] < 0):
        raise MediaError(f"frame times for {path} must be ascending seconds >= 0")
    if not len(times):
        return
    with _open(path) as container:
        if not container.streams.video:
            raise MediaError(f"{path} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        wanted, previous = 0, None
        try:
            for frame in _decode_from(container, stream, times[0]):
                t = float(frame.pts * stream.time_base) if frame.pts is not None else 0.0
                while wanted < len(times) and times[wanted] < t:
                    yield _scaled(previous if previous is not None else frame, height)
                    wanted += 1
                if wanted == len(times):
                    return
                previous = frame
        except av.FFmpegError as err:
            raise MediaError(f"cannot decode the video of {path}: {err}") from err
        if previous is None:
            raise MediaError(f"{path} has no decodable video frames")
        for _ in range(wanted, len(times)):
            yield _scaled(previous, height)


def _decode_from(container, stream, t: float) -> Iterator:
    """Frames from the keyframe at or before `t` on; from the start when the seek lands past `t` (a file
    whose index is wrong) or the stream has no time base to seek by."""
    if t > 0 and stream.time_base:
        container.seek(int(t / stream.time_base), stream=stream, backward=True)
        frames = container.decode(stream)
        first = next(frames, None)
        if first is not None and (first.pts is None or float(first.pts * stream.time_base) <= t + 1e-6):
            yield first
            yield from frames
            return
    container.seek(0)
    yield from container.decode(stream)


def _scaled(frame, height: int | None) -> np.ndarray:
    if height is None or frame.height <= height:
        return _rgb(frame)
    width = max(2, round(frame.width * height / frame.height))
    return frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA").to_ndarray()


def _frames_at(container, stream, wanted: list[float]) -> list:
    """For ascending times, the last frame starting at or before each (else the first after it)."""
    found: list = []
    frames = None
    previous = ahead = None  # the last frame at or before the time; the first one after it
    position = 0.0
    for want in wanted:
        if frames is None or want - position > SEEK_GAP:
            target = want - 0.5 if want > SEEK_GAP else 0.0
            container.seek(int(target / stream.time_base), stream=stream, backward=True)
            frames, previous, ahead = container.decode(stream), None, None
        while True:
            frame, ahead = (ahead, None) if ahead is not None else (next(frames, None), None)
            if frame is None:
                break
            position = float(frame.pts * stream.time_base) if frame.pts is not None else position
            if want < position:
                ahead = frame  # on screen later: kept for the next wanted time
                break
            previous = frame
        found.append(previous if previous is not None else ahead)
    return found


def video_packets_digest(path: str | Path) -> str:
    """sha256 over the first video stream's packets (their bytes, in file order), read without decoding:
    two files with the same digest carry the same coded picture, whatever else their containers hold."""
    path = Path(path)
    digest = hashlib.sha256()
    with _open(path) as container:
        if not container.streams.video:
            raise MediaError(f"{path} has no video stream")
        for packet in container.demux(container.streams.video[0]):
            if packet.size:
                digest.update(bytes(packet))
    return digest.hexdigest()


def small_frames(path: str | Path, size: tuple[int, int] = (64, 36)) -> Iterator[np.ndarray]:
    """Every frame of the first video stream as (h, w, 3) uint8 RGB at `size` (w, h), scaled by FFmpeg
    while decoding: shot detection needs every frame but only a thumbnail of each (a minute of
    full frames would take gigabytes)."""
    path = Path(path)
    with _open(path) as container:
        if not container.streams.video:
            raise MediaError(f"{path} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            for frame in container.decode(stream):
                yield frame.reformat(width=size[0], height=size[1], format="rgb24").to_ndarray()
        except av.FFmpegError as err:
            raise MediaError(f"cannot decode the video of {path}: {err}") from err


def _rgb(frame) -> np.ndarray:
    return frame.to_ndarray(format="rgb24")  # (H, W, 3) uint8
