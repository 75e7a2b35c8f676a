"""The PyAV adapter: probing, audio decoding and frame picking on files made by the ffmpeg binary."""
from __future__ import annotations

import subprocess

import imageio_ffmpeg
import numpy as np
import pytest

from dubkit.adapters.av import audio_blocks, probe, read_audio, read_frames, small_frames, video_packets_digest
from dubkit.errors import MediaError


def _ffmpeg(*args: str) -> None:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """red for 1 s then blue for 1 s at 25 fps, 64x48, with a 440 Hz stereo tone; and variants."""
    d = tmp_path_factory.mktemp("media")
    colours = ["-f", "lavfi", "-i", "color=c=red:s=64x48:r=25:d=1",
               "-f", "lavfi", "-i", "color=c=blue:s=64x48:r=25:d=1"]
    tone = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=2"]
    concat = ["-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0[v]", "-map", "[v]"]
    _ffmpeg(*colours, *tone, *concat, "-map", "2:a", "-ac", "2", "-c:v", "libx264", "-pix_fmt", "yuv420p",
            "-c:a", "aac", str(d / "av.mp4"))
    _ffmpeg(*colours, *concat, "-c:v", "libx264", "-pix_fmt", "yuv420p", str(d / "silent.mp4"))
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=1", "-ac", "2", str(d / "tone.wav"))
    (d / "notes.txt").write_text("this is not media\n")
    (d / "empty.mp4").write_bytes(b"")
    return d


def test_probe_reports_streams_size_rate_and_duration(media):
    info = probe(media / "av.mp4")
    assert info.has_video and info.has_audio
    assert (info.width, info.height) == (64, 48)
    assert info.fps == pytest.approx(25.0)
    assert info.duration == pytest.approx(2.0, abs=0.1)
    assert (info.sample_rate, info.channels) == (44100, 2)


def test_probe_of_audio_only_has_no_video_fields(media):
    info = probe(media / "tone.wav")
    assert info.has_audio and not info.has_video
    assert info.fps is None and info.width is None
    assert info.duration == pytest.approx(1.0, abs=0.01)


def test_probe_of_video_only_has_no_audio(media):
    info = probe(media / "silent.mp4")
    assert info.has_video and not info.has_audio and info.sample_rate is None


@pytest.mark.parametrize(
    "name, message",
    [("missing.mp4", "does not exist"), ("notes.txt", "not a media file"), ("empty.mp4", "empty")],
)
def test_unreadable_files_are_named_errors(media, name, message):
    with pytest.raises(MediaError, match=message) as err:
        probe(media / name)
    assert name in str(err.value)


def test_a_folder_is_not_a_media_file(media):
    with pytest.raises(MediaError, match="not a file"):
        probe(media)


def test_read_audio_resamples_to_mono_16k_float(media):
    audio = read_audio(media / "tone.wav")
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert len(audio) == pytest.approx(16000, abs=32)
    spectrum = np.abs(np.fft.rfft(audio))
    assert np.argmax(spectrum) * 16000 / len(audio) == pytest.approx(440, abs=2)


def test_read_audio_keeps_channels_when_asked(media):
    audio = read_audio(media / "av.mp4", sample_rate=22050, mono=False)
    assert audio.shape[1] == 2 and len(audio) == pytest.approx(2 * 22050, rel=0.03)


def test_read_audio_of_a_silent_video_is_a_named_error(media):
    with pytest.raises(MediaError, match="silent.mp4 has no audio stream"):
        read_audio(media / "silent.mp4")


def test_read_frames_returns_the_frame_on_screen_at_each_time_in_the_order_asked(media):
    frames = read_frames(media / "av.mp4", [1.5, 0.2, 0.0, 5.0])
    assert [f.shape for f in frames] == [(48, 64, 3)] * 4
    red, blue = np.array([255, 0, 0]), np.array([0, 0, 255])
    means = [f.reshape(-1, 3).mean(axis=0) for f in frames]
    assert np.abs(means[0] - blue).max() < 30  # 1.5 s is in the blue second
    assert np.abs(means[1] - red).max() < 30
    assert np.abs(means[2] - red).max() < 30
    assert np.abs(means[3] - blue).max() < 30  # past the end: the last frame


def test_read_frames_refuses_negative_times_and_audio_files(media):
    with pytest.raises(MediaError, match="-1"):
        read_frames(media / "av.mp4", [-1.0])
    with pytest.raises(MediaError, match="no video stream"):
        read_frames(media / "tone.wav", [0.0])


def test_small_frames_gives_every_frame_scaled_and_refuses_audio_files(media):
    frames = list(small_frames(media / "av.mp4", size=(16, 12)))
    assert len(frames) == 50 and all(f.shape == (12, 16, 3) and f.dtype == np.uint8 for f in frames)
    assert frames[0][..., 0].mean() > 200 and frames[-1][..., 2].mean() > 200  # red first, blue last
    with pytest.raises(MediaError, match="tone.wav has no video stream"):
        list(small_frames(media / "tone.wav"))


def test_frames_at_picks_what_read_frames_picks_from_the_middle_of_a_file_and_scales(tmp_path):
    from dubkit.adapters import ffmpeg
    from dubkit.adapters.av import frames_at, read_frames

    frames = np.zeros((75, 48, 64, 3), np.uint8)
    frames[:, :, :, 0] = (np.arange(75) * 3)[:, None, None]  # frame k is red level 3k
    once = ffmpeg.encode_frames(frames, 25.0, tmp_path / "once.mp4")
    path = tmp_path / "ramp.mp4"  # a keyframe every 10 frames: the seek lands mid-file
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(once), "-c:v", "libx264", "-g", "10",
                    "-crf", "0", "-pix_fmt", "yuv444p", str(path)], check=True)
    times = [1.21, 1.5, 2.0, 2.95, 4.0]  # the last lies past the end: the last frame
    streamed = list(frames_at(path, times))
    assert [f.shape for f in streamed] == [(48, 64, 3)] * 5
    assert all(np.array_equal(a, b) for a, b in zip(streamed, read_frames(path, times), strict=True))
    assert [round(f[..., 0].mean() / 3) for f in streamed] == [30, 37, 50, 73, 74]
    assert [f.shape for f in frames_at(path, [0.0, 1.0], height=24)] == [(24, 32, 3)] * 2
    with pytest.raises(MediaError, match="ascending"):
        list(frames_at(path, [1.0, 0.5]))


def test_audio_blocks_are_read_audio_in_pieces():
    from pathlib import Path

    example = Path(__file__).resolve().parents[3] / "examples" / "ad.mp4"
    whole = read_audio(example, 48_000, mono=False)
    blocks = list(audio_blocks(example, 48_000, block=20_000))
    assert max(len(b) for b in blocks) < 20_000 + 4_096  # a block ends at the first frame past `block`
    assert np.array_equal(np.concatenate(blocks), whole)


def test_the_video_packet_digest_names_the_coded_picture_not_the_container(tmp_path):
    from pathlib import Path

    example = Path(__file__).resolve().parents[3] / "examples" / "ad.mp4"
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    copied, silent = tmp_path / "copy.mkv", tmp_path / "other.mp4"
    subprocess.run([ffmpeg, "-v", "error", "-i", str(example), "-map", "0:v", "-c", "copy", str(copied)], check=True)
    subprocess.run([ffmpeg, "-v", "error", "-i", str(example), "-an", "-c:v", "libx264", "-crf", "30",
                    str(silent)], check=True)
    assert video_packets_digest(copied) == video_packets_digest(example)
    assert video_packets_digest(silent) != video_packets_digest(example)
