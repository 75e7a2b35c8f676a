"""Hostile input files, made with the bundled ffmpeg or by patching container headers in bytes."""
from __future__ import annotations

import struct
import subprocess
import wave
from pathlib import Path

from tests.faults.harness import EXAMPLES


def ffmpeg(*args: str) -> None:
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args],
                   check=True, capture_output=True)


def _boxes(data: bytes, tag: bytes):
    at = 0
    while (at := data.find(tag, at)) >= 0:
        yield at
        at += len(tag)


def frame_size_mp4(path: Path, width: int, height: int) -> Path:
    """An 8-second Motion-JPEG mp4 (with audio) whose headers declare `width` x `height`: the JPEG
    frame headers (SOF0), the sample description and the video track header are patched in bytes."""
    small = path.with_name(".small.mp4")
    ffmpeg("-f", "lavfi", "-i", "color=c=gray:s=16x16:r=25:d=8", "-f", "lavfi", "-i", "sine=d=8",
           "-c:v", "mjpeg", "-c:a", "aac", str(small))
    data = bytearray(small.read_bytes())
    small.unlink()
    for at in _boxes(data, b"\xff\xc0"):  # SOF0: length(2) precision(1) height(2) width(2)
        struct.pack_into(">HH", data, at + 5, height, width)
    for at in _boxes(data, b"mp4v"):  # visual sample entry: width, height 28 bytes after the tag
        struct.pack_into(">HH", data, at + 28, width, height)
    for at in _boxes(data, b"tkhd"):  # version 0 track header: 16.16 width, height 80 bytes after the tag
        if data[at + 4] == 0 and struct.unpack_from(">I", data, at + 80)[0]:
            struct.pack_into(">II", data, at + 80, width << 16, height << 16)
    path.write_bytes(bytes(data))
    return path


def sparse_mp4(path: Path, seconds: float, frames: int = 3) -> Path:
    """A video-only mp4 of `frames` frames spread over `seconds` (variable frame rate, real timestamps)."""
    step = seconds / max(frames - 1, 1)
    ffmpeg("-f", "lavfi", "-i", f"color=c=gray:s=64x64:r=1:d={frames}", "-vf", f"setpts=N*{step:.3f}/TB",
           "-fps_mode", "passthrough", "-c:v", "libx264", "-video_track_timescale", "1000", str(path))
    return path


def mismatched_mp4(path: Path, audio_seconds: float) -> Path:
    """The example's picture (8 s) with `audio_seconds` of audio."""
    ffmpeg("-i", str(EXAMPLES / "ad.mp4"), "-f", "lavfi", "-i", f"sine=d={audio_seconds}", "-map", "0:v", "-map",
           "1:a", "-c:v", "copy", "-c:a", "aac", str(path))
    return path


def wav_at(path: Path, rate: int, samples: int = 128_000) -> Path:
    """A mono 16-bit WAV whose header says `rate` samples per second (1 Hz: 128,000 samples = 35 h)."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(2 * samples))
    return path


def _srt_time(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def srt(cues) -> str:
    return "".join(f"{i + 1}\n{_srt_time(s)} --> {_srt_time(e)}\n{t}\n\n" for i, (s, e, t) in enumerate(cues))


GOOD = [(0.4, 2.9, "Every great day starts with a single cup."), (3.1, 5.9, "Sunrise Coffee, roasted fresh."),
        (6.1, 7.55, "Wake up to something better.")]


def ass(events: str, styles: str = "", fonts: str = "") -> str:
    style = "Style: Default,Arial,20,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,2,2,2,10,10,10,1"
    return (
        "[Script Info]\nScriptType: v4.00+\nPlayResX: 384\nPlayResY: 384\n\n"
        "[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
        "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, "
        f"MarginL, MarginR, MarginV, Encoding\n{style}\n{styles}\n"
        f"{fonts}"
        "[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n" + events
    )


def ass_events(cues) -> str:
    def t(s: float) -> str:
        cs = round(s * 100)
        return f"{cs // 360000}:{cs // 6000 % 60:02d}:{cs // 100 % 60:02d}.{cs % 100:02d}"

    return "".join(f"Dialogue: 0,{t(s)},{t(e)},Default,,0,0,0,,{text}\n" for s, e, text in cues)


def uuencoded_font(size: int) -> str:
    """An ASS [Fonts] section carrying `size` bytes of (fake) font data in the format's uuencoding."""
    chunk = "".join(chr(33 + (i % 64)) for i in range(80))
    lines = "\n".join(chunk for _ in range(size * 4 // 3 // 80 + 1))
    return f"[Fonts]\nfontname: brand_0.ttf\n{lines}\n\n"


def script_files(folder: Path) -> dict[str, Path]:
    """Every hostile script, written into `folder` once (the cases pick theirs by name)."""
    folder.mkdir(parents=True, exist_ok=True)
    made = {
        "100000 cues": ("many.srt", srt((i * 0.001, i * 0.001 + 0.0009, f"line {i}") for i in range(100_000))),
        "a 1 MB line": ("longline.srt", srt([(0.4, 2.9, "a" * 1_000_000)])),
        "NUL bytes": ("nul.srt", srt(GOOD).replace("single cup", "single\x00cup")),
        "timecodes past 99 h": ("late.srt", srt(GOOD) + "4\n123:00:00,000 --> 123:00:01,000\nLate.\n\n"),
        "negative times": ("negative.srt", "1\n-00:00:01,000 --> 00:00:02,000\nBefore.\n\n" + srt(GOOD[1:])),
        "ASS with embedded fonts": ("fonts.ass", ass(ass_events(GOOD), fonts=uuencoded_font(2_000_000))),
        "ASS with huge styles": ("styles.ass", ass(ass_events(GOOD), styles="".join(
            f"Style: S{i},{'F' * 1000},20,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,2,2,2,"
            f"10,10,10,1\n" for i in range(10_000)))),
        "JSON nested 10,000 deep": ("deep.json", "[" * 10_000 + "]" * 10_000),
    }
    paths = {}
    for name, (file, text) in made.items():
        paths[name] = folder / file
        paths[name].write_text(text, "utf-8")
    paths["invalid UTF-8"] = folder / "latin1.srt"
    paths["invalid UTF-8"].write_bytes(srt(GOOD).replace("great", "gr\u00e9at").encode("latin-1"))
    paths["mixed encodings"] = folder / "mixed.srt"
    paths["mixed encodings"].write_bytes(srt(GOOD[:2]).encode("utf-8") + srt(GOOD[2:]).replace(
        "1\n", "3\n", 1).replace("better", "besser \u00fcber alles").encode("cp1252"))
    return paths
