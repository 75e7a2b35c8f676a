"""The ffmpeg adapter: argument lists on the bundled binary, named errors with ffmpeg's stderr."""
from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest
import scipy.io.wavfile

from dubkit.adapters import ffmpeg
from dubkit.errors import DubkitError
from tests.dubkit.loudness import measure_loudness


def test_a_failing_ffmpeg_call_raises_ffmpeg_error_with_its_stderr(tmp_path):
    missing = tmp_path / "no-such-input.wav"
    with pytest.raises(ffmpeg.FFmpegError) as caught:
        ffmpeg.run(["-i", missing, "-f", "null", "-"], what="reading a missing file")
    err = caught.value
    assert isinstance(err, DubkitError)
    assert "No such file or directory" in err.stderr and str(missing) in err.stderr
    assert "reading a missing file" in str(err) and "No such file" in str(err)
    assert err.command[0] == ffmpeg.ffmpeg_exe()


def test_a_bad_filter_graph_from_ffmpeg_python_is_reported_with_stderr(tmp_path):
    import ffmpeg as ffmpeg_python

    wav = tmp_path / "tone.wav"
    scipy.io.wavfile.write(wav, 16000, np.zeros(1600, np.float32))
    graph = ffmpeg_python.input(str(wav)).filter("nonexistentfilter").output(str(tmp_path / "o.wav"))
    with pytest.raises(ffmpeg.FFmpegError, match="nonexistentfilter"):
        ffmpeg.run(graph)


def test_graphs_compile_to_an_argument_list_on_the_bundled_binary(tmp_path):
    import ffmpeg as ffmpeg_python

    args = ffmpeg.compile_args(ffmpeg_python.input("in put; rm -rf.wav").output(str(tmp_path / "o.wav")))
    assert args[0] == ffmpeg.ffmpeg_exe() and "in put; rm -rf.wav" in args  # one argument, never a shell string


def test_measured_loudness_agrees_with_pyloudnorm(tmp_path):
    sr = 48000
    t = np.arange(3 * sr) / sr
    tone = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    wav = tmp_path / "tone.wav"
    scipy.io.wavfile.write(wav, sr, np.stack([tone, tone], axis=1))
    expected = pyloudnorm.Meter(sr).integrated_loudness(np.stack([tone, tone], axis=1))
    assert measure_loudness(wav) == pytest.approx(expected, abs=0.3)  # the tests' own meter is right


def test_encoded_frames_come_back_with_their_count_and_size(tmp_path):
    from dubkit.adapters.av import probe

    frames = np.zeros((10, 32, 48, 3), np.uint8)
    frames[:, :, :, 0] = np.arange(10, dtype=np.uint8)[:, None, None] * 20
    out = ffmpeg.encode_frames(frames, 25.0, tmp_path / "clip.mp4")
    info = probe(out)
    assert (info.width, info.height, info.n_frames) == (48, 32, 10) and info.fps == pytest.approx(25.0)


def test_frames_of_the_wrong_shape_are_a_named_error(tmp_path):
    with pytest.raises(DubkitError, match=r"\(n, H, W, 3\)"):
        ffmpeg.encode_frames(np.zeros((4, 8, 8), np.uint8), 25.0, tmp_path / "bad.mp4")
