"""The audio-buffer helpers: one resampler, mono/stereo, exact lengths, time slices."""
import numpy as np
import pytest

from dubkit.adapters.audio import (
    fit_blocks,
    fit_length,
    float_wav_blocks,
    read_wav_span,
    resample,
    sample_span,
    time_slice,
    to_mono,
    to_stereo,
    wav_frames,
    wav_writer,
    write_wav24,
    write_wav24_blocks,
)


def write_float_wav(path, blocks, rate: int, channels: int = 2, frames: int | None = None):
    """The blocks as one float32 WAV through the adapter's writer (as the delivery stage writes its stems)."""
    with wav_writer(path, rate, channels, frames=frames) as out:
        for block in blocks:
            out.write(block)
    return path


def _tone(freq: float, rate: int, seconds: float) -> np.ndarray:
    t = np.arange(round(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("orig, target", [(22_050, 48_000), (48_000, 16_000), (44_100, 48_000)])
def test_resampling_keeps_duration_and_pitch(orig, target):
    out = resample(_tone(440.0, orig, 1.0), orig, target)
    assert out.dtype == np.float32 and abs(len(out) - target) <= 1
    spectrum = np.abs(np.fft.rfft(out[: target // 2 * 2]))
    assert np.argmax(spectrum) * target / (target // 2 * 2) == pytest.approx(440.0, abs=2.0)
    reference = _tone(440.0, target, 1.0)[2000:-2000]
    np.testing.assert_allclose(out[2000 : 2000 + len(reference)], reference, atol=0.02)


def test_resampling_keeps_the_channel_layout_and_same_rate_is_a_no_op():
    stereo = np.stack([_tone(300.0, 16_000, 0.5), _tone(600.0, 16_000, 0.5)], axis=1)
    assert resample(stereo, 16_000, 48_000).shape == (24_000, 2)
    np.testing.assert_array_equal(resample(stereo, 16_000, 16_000), stereo)
    with pytest.raises(ValueError, match="positive"):
        resample(stereo, 0, 16_000)


def test_mono_stereo_length_and_slices():
    stereo = np.array([[1.0, 3.0], [2.0, 4.0]], np.float32)
    np.testing.assert_array_equal(to_mono(stereo), [2.0, 3.0])
    np.testing.assert_array_equal(to_stereo(np.array([1.0, 2.0])), [[1.0, 1.0], [2.0, 2.0]])
    assert to_stereo(np.zeros((3, 6))).shape == (3, 2)
    np.testing.assert_array_equal(fit_length(np.ones(3), 5), [1, 1, 1, 0, 0])
    assert fit_length(stereo, 1).shape == (1, 2) and fit_length(stereo, 0).shape == (0, 2)
    assert sample_span(0.5, 1.25, 100) == (50, 125)
    ramp = np.arange(10, dtype=np.float32)
    np.testing.assert_array_equal(time_slice(ramp, 10, 0.8, 1.2), [8, 9, 0, 0])


def test_a_float_wav_written_and_read_in_blocks_round_trips_exactly(tmp_path):
    x = np.random.default_rng(0).uniform(-1.5, 1.5, (10_007, 2)).astype(np.float32)  # beyond full scale too
    path = write_float_wav(tmp_path / "t.wav", (x[i : i + 999] for i in range(0, len(x), 999)), 48_000)
    assert wav_frames(path) == len(x)
    assert np.array_equal(np.concatenate(list(float_wav_blocks(path, 1_000))), x)
    assert np.array_equal(np.concatenate(list(float_wav_blocks(path, 64, start=500, stop=700))), x[500:700])
    assert np.array_equal(read_wav_span(path, -3, 5)[3:], x[:5]) and not read_wav_span(path, -3, 5)[:3].any()
    assert not read_wav_span(path, len(x) - 2, len(x) + 4)[2:].any()


def test_a_24_bit_wav_written_in_blocks_has_the_bytes_of_one_written_whole(tmp_path):
    x = np.random.default_rng(1).uniform(-1.2, 1.2, (5_003, 2))
    whole = write_wav24(tmp_path / "whole.wav", x, 48_000)
    blocks = write_wav24_blocks(tmp_path / "blocks.wav", (x[i : i + 700] for i in range(0, len(x), 700)), 48_000, 2,
                                frames=len(x))
    assert whole.read_bytes() == blocks.read_bytes()


def test_fit_blocks_trims_or_pads_to_the_exact_length():
    blocks = [np.ones((4, 2), np.float32), np.ones((4, 2), np.float32)]
    assert sum(len(b) for b in fit_blocks(iter(blocks), 6)) == 6
    padded = np.concatenate(list(fit_blocks(iter(blocks), 11)))
    assert len(padded) == 11 and padded[:8].all() and not padded[8:].any()


def test_wavs_past_the_riff_limit_are_rf64_and_read_back(tmp_path, monkeypatch):
    """Past 4 GiB of data a WAV becomes RF64 (the reserved JUNK chunk turned ds64); shown here with the limit
    lowered to a few bytes: soundfile and ffmpeg read both kinds back sample for sample."""
    import subprocess

    import imageio_ffmpeg

    from dubkit.adapters import audio

    x = np.random.default_rng(2).uniform(-1, 1, (3_001, 2)).astype(np.float32)
    small = write_float_wav(tmp_path / "riff.wav", [x], 48_000)
    monkeypatch.setattr(audio, "RIFF_LIMIT", 1_000)
    big = write_float_wav(tmp_path / "rf64.wav", [x[:1_000], x[1_000:]], 48_000)
    pcm = write_wav24_blocks(tmp_path / "rf64-24.wav", [x[:1_000], x[1_000:]], 48_000, 2)
    tiny = write_wav24_blocks(tmp_path / "riff-24.wav", [x[:7]], 48_000, 2)  # 42 data bytes: still RIFF
    assert small.read_bytes()[:4] == b"RIFF" and big.read_bytes()[:4] == b"RF64"
    assert pcm.read_bytes()[:4] == b"RF64" and tiny.read_bytes()[:4] == b"RIFF"
    assert np.abs(np.concatenate(list(float_wav_blocks(pcm))) - x).max() <= 2**-23
    for path in (small, big):
        assert np.array_equal(np.concatenate(list(float_wav_blocks(path))), x)
        raw = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "f32le", "-"],
                             capture_output=True, check=True).stdout
        assert np.array_equal(np.frombuffer(raw, "<f4").reshape(-1, 2), x)


def test_a_24_bit_mono_wav_with_an_odd_data_size_is_padded_and_reads_back(tmp_path):
    x = np.linspace(-0.5, 0.5, 5)
    path = write_wav24(tmp_path / "odd.wav", x, 8_000)
    assert len(path.read_bytes()) % 2 == 0
    assert np.allclose(np.concatenate(list(float_wav_blocks(path)))[:, 0], x, atol=2**-23)


def test_a_wav_of_known_length_has_the_canonical_44_byte_header(tmp_path):
    """Simple readers assume fmt at byte 12 and data at byte 36: a WAV opened with its length (every stem and
    mix dubkit delivers) keeps that layout; one of unknown length reserves room for RF64 instead."""
    x = np.zeros((100, 2), np.float32)
    known = write_wav24_blocks(tmp_path / "known.wav", [x], 48_000, 2, frames=100)
    unknown = write_wav24_blocks(tmp_path / "unknown.wav", [x], 48_000, 2)
    assert known.read_bytes()[12:16] == b"fmt " and known.read_bytes()[36:40] == b"data"
    assert len(known.read_bytes()) == 44 + 600 and unknown.read_bytes()[12:16] == b"JUNK"
    assert int.from_bytes(known.read_bytes()[34:36], "little") == 24
