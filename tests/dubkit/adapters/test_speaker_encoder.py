"""The Resemblyzer encoder: pinned weights, safe loading, and embeddings that tell people apart."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from dubkit.adapters.speaker_encoder import (
    WEIGHTS_SHA256,
    SpeakerEncoder,
    SpeakerEncoderError,
    normalize_volume,
    weights_path,
)
from dubkit.store.files import file_digest
from tests import speech_data


@pytest.fixture(scope="module")
def encoder():
    return SpeakerEncoder()


def test_the_packaged_weights_have_the_pinned_hash():
    assert file_digest(weights_path()) == WEIGHTS_SHA256


def test_a_tampered_weights_file_is_refused_with_its_name(tmp_path):
    bad = tmp_path / "pretrained.pt"
    shutil.copyfile(weights_path(), bad)
    data = bytearray(bad.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(SpeakerEncoderError, match=r"pretrained\.pt have sha256 .* expected"):
        SpeakerEncoder(bad)


def test_missing_weights_are_named(tmp_path):
    with pytest.raises(SpeakerEncoderError, match="not found"):
        SpeakerEncoder(tmp_path / "none.pt")


@pytest.mark.slow
def test_embeddings_are_unit_vectors_closer_within_a_speaker_than_across(encoder):
    english = [u.audio for u in speech_data.librivox().values()][:3]
    french = [u.audio for u in speech_data.asterisk_fr(["agent-pass", "conf-getpin"])]
    e = encoder.embed([normalize_volume(a) for a in english + french])
    assert e.shape == (5, 256)
    assert np.allclose(np.linalg.norm(e, axis=1), 1, atol=1e-5)
    same = min(e[0] @ e[1], e[0] @ e[2], e[3] @ e[4])
    across = max(e[i] @ e[j] for i in range(3) for j in (3, 4))
    assert same > across + 0.1


def test_a_short_piece_gives_one_embedding_and_nothing_gives_none(encoder):
    assert encoder.embed([np.zeros(4000, np.float32) + 0.01]).shape == (1, 256)
    assert encoder.embed([]).shape == (0, 256)
