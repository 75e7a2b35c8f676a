"""Build the example spot reproducibly: examples/ad.mp4, examples/ad.en.srt, examples/ad.me.m4a.

An 8-second, 25 fps "Sunrise Coffee" spot: a slow push-in on a real face photo
(skimage.data.astronaut(), a public-domain NASA portrait) with three English lines spoken by the
packaged piper voice (en_US-joe-medium, noise off so the same text gives the same samples) over a
quiet synthesised music bed. The bed alone is written as the music-and-effects stem, so the
example can also be localised with `--me-track examples/ad.me.m4a`.

ad.en.srt, ad.me.m4a and ad.mp4's picture come out byte-identical on any machine. ad.mp4's audio does
not: piper's samples change in their last bits with onnxruntime's thread count and the CPU, and the
AAC encoder turns a 1e-6 change into a different bitstream (see examples/README.md, "Rebuild it").

    python examples/make_example.py            # writes into examples/
    python examples/make_example.py --out DIR
"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import librosa
import numpy as np
import scipy.io.wavfile
from PIL import Image

FPS = 25
DURATION = 8.0
SIZE = 384  # output picture, square like the photo
SAMPLE_RATE = 48_000
X264_THREADS = 3
# (start, end, text): cue ends leave the translations a little more room than the English needs.
LINES = (
    (0.40, 2.90, "Every great day starts with a single cup."),
    (3.10, 5.90, "Sunrise Coffee, roasted fresh every morning."),
    (6.10, 7.55, "Wake up to something better."),
)


def frames() -> np.ndarray:
    """(n, SIZE, SIZE, 3) uint8: a slow push-in from the whole portrait towards the face."""
    from skimage import data

    photo = Image.fromarray(data.astronaut())  # 512 x 512
    n = round(DURATION * FPS)
    out = np.empty((n, SIZE, SIZE, 3), np.uint8)
    for i in range(n):
        k = i / (n - 1)
        k = k * k * (3 - 2 * k)  # ease in and out
        half = (512 - 170 * k) / 2  # crop 512 -> 342 px
        cx, cy = 256 - 30 * k, 256 - 96 * k  # towards the face at about (226, 120)
        cy = min(max(cy, half), 512 - half)
        box = (cx - half, cy - half, cx + half, cy + half)
        out[i] = np.asarray(photo.resize((SIZE, SIZE), Image.LANCZOS, box=box))
    return out


def music_bed() -> np.ndarray:
    """A quiet A-major pad with a slow swell: stands in for the spot's music-and-effects stem."""
    t = np.arange(round(DURATION * SAMPLE_RATE)) / SAMPLE_RATE
    chord = sum(np.sin(2 * np.pi * f * t) / (1 + i) for i, f in enumerate((220.0, 277.18, 329.63, 440.0)))
    swell = 0.75 + 0.25 * np.sin(2 * np.pi * t / DURATION)
    fade = np.clip(np.minimum(t / 0.5, (DURATION - t) / 0.8), 0, 1)
    return (0.05 * chord * swell * fade).astype(np.float32)


def speech() -> np.ndarray:
    """The three lines by the packaged piper voice, each placed at its cue start."""
    from dubkit.adapters.tts.piper import PiperVoice

    voice = PiperVoice()
    out = np.zeros(round(DURATION * SAMPLE_RATE), np.float32)
    for start, end, text in LINES:
        spoken = voice.synthesize(text)
        samples = librosa.resample(spoken.samples, orig_sr=spoken.sample_rate, target_sr=SAMPLE_RATE)
        samples *= 0.5 / np.abs(samples).max()
        if start + len(samples) / SAMPLE_RATE > end:
            raise SystemExit(f"line {text!r} ({len(samples) / SAMPLE_RATE:.2f} s) overruns its cue {start}-{end}")
        begin = round(start * SAMPLE_RATE)
        out[begin : begin + len(samples)] += samples
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    out: Path = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)

    from dubkit.adapters import ffmpeg
    from dubkit.adapters.subtitles import write_script
    from eval.types import Cue

    bed = music_bed()
    mix = bed + speech()
    with tempfile.TemporaryDirectory(dir=out, prefix=".make-example-") as tmp:
        tmp = Path(tmp)
        scipy.io.wavfile.write(tmp / "mix.wav", SAMPLE_RATE, np.stack([mix, mix], axis=1))
        scipy.io.wavfile.write(tmp / "me.wav", SAMPLE_RATE, np.stack([bed, bed], axis=1))
        # libx264's output depends on its thread count; 3 is ffmpeg's default on the 2-core machine that
        # made the committed file, so the picture comes out byte-identical on any machine
        ffmpeg.encode_video(frames(), FPS, tmp / "mix.wav", tmp / "ad.mp4", threads=X264_THREADS)
        ffmpeg.run(["-i", tmp / "me.wav", "-c:a", "aac", "-b:a", "64k", "-fflags", "+bitexact",
                    "-flags:a", "+bitexact", "-map_metadata", "-1", "-f", "mp4", "-y", tmp / "ad.me.m4a"],
                   what="encoding the music-and-effects stem")
        os.replace(tmp / "ad.mp4", out / "ad.mp4")
        os.replace(tmp / "ad.me.m4a", out / "ad.me.m4a")
    write_script([Cue(text, start, end) for start, end, text in LINES], out / "ad.en.srt")
    for name in ("ad.mp4", "ad.me.m4a", "ad.en.srt"):
        print(f"wrote {out / name} ({(out / name).stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
