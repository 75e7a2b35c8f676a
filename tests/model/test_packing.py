"""Packing: patch feature orders, coordinates per style, pack/unpack shapes and errors, local ranges."""

from __future__ import annotations

import pytest
import torch

from model import (
    FRAME_RECEPTIVE_FIELD_1080P,
    PackingError,
    local_attention_ranges_for,
    pack,
    patchify_video,
    unpack,
    unpatchify_video,
)
from model.attention import LocalPlan
from model.packing import audio_coords, text_coords
from model.rope import coords_to_positions


def _latent(t=2, h=4, w=6):
    return torch.randn(48, t, h, w)


def test_patchify_puts_channel_slowest_then_patch_row_then_col():
    latent = _latent()
    tokens = patchify_video(latent)  # (2·2·3, 192)
    t, r, c = 1, 1, 2  # token index t·(2·3) + r·3 + c
    row = tokens[t * 6 + r * 3 + c]
    for ch, ph, pw in [(0, 0, 0), (5, 1, 0), (47, 1, 1), (20, 0, 1)]:
        assert row[ch * 4 + ph * 2 + pw] == latent[ch, t, 2 * r + ph, 2 * c + pw]


def test_unpatchify_reads_channel_fastest_unlike_the_input():
    latent = _latent()
    tokens = torch.randn(2 * 2 * 3, 192)
    video = unpatchify_video(tokens, (2, 4, 6))
    t, r, c, ch, ph, pw = 1, 0, 2, 7, 1, 0
    assert video[ch, t, 2 * r + ph, 2 * c + pw] == tokens[t * 6 + r * 3 + c, (ph * 2 + pw) * 48 + ch]
    # Mirroring the input layout on the output would be wrong: the round trip is NOT the identity.
    assert not torch.equal(unpatchify_video(patchify_video(latent), (2, 4, 6)), latent)


def test_pack_orders_video_audio_text_and_zero_pads_rows():
    packed = pack(_latent(), torch.randn(5, 64), torch.randn(3, 100), style="v2")
    assert packed.length == 12 + 5 + 3 and packed.x.shape == (20, 192)
    assert packed.modality.tolist() == [0] * 12 + [1] * 5 + [2] * 3
    assert packed.x[12:17, 64:].abs().sum() == 0 and packed.x[17:, 100:].abs().sum() == 0
    assert packed.tokens_per_frame == 6 and packed.latent_shape == (2, 4, 6)


def test_unpack_returns_video_and_audio_velocities():
    packed = pack(_latent(), torch.randn(5, 64), torch.randn(3, 100))
    out = torch.randn(packed.length, 192)
    video, audio = unpack(out, packed)
    assert video.shape == (48, 2, 4, 6) and torch.equal(audio, out[12:17, :64])
    with pytest.raises(PackingError, match="packed length"):
        unpack(out[:-1], packed)


def test_audio_v2_positions_are_a_quarter_of_the_frame_index():
    pos = coords_to_positions(audio_coords(126, 32, "v2"))[:, 0]
    torch.testing.assert_close(pos, torch.arange(126) * (125 // 4) / 125)
    torch.testing.assert_close(coords_to_positions(audio_coords(126, 32, "v1"))[:, 0], torch.arange(126) * 31 / 125)


def test_text_v2_sits_at_position_zero_and_v1_spans_zero_to_one():
    assert coords_to_positions(text_coords(7, "v2")).abs().max() == 0
    torch.testing.assert_close(coords_to_positions(text_coords(5, "v1"))[:, 0], torch.linspace(0, 1, 5))
    assert coords_to_positions(text_coords(1, "v2"))[0, 0] == -1  # the Nt = 1 special case


def test_single_text_token_in_style_v1_is_refused():
    with pytest.raises(PackingError, match="single text token"):
        pack(_latent(), torch.randn(5, 64), torch.randn(1, 8), style="v1")


@pytest.mark.parametrize(
    "video, audio, text, match",
    [
        (torch.randn(1, 48, 2, 4, 6), torch.randn(5, 64), torch.randn(3, 8), "no batch dim"),
        (torch.randn(48, 2, 5, 6), torch.randn(5, 64), torch.randn(3, 8), "even"),
        (torch.randn(48, 2, 4, 6), torch.randn(5, 32), torch.randn(3, 8), "audio latent"),
        (torch.randn(48, 2, 4, 6), torch.randn(5, 64), torch.randn(1, 3, 8), "text features"),
    ],
)
def test_bad_shapes_raise_packing_error_naming_the_shape(video, audio, text, match):
    with pytest.raises(PackingError, match=match):
        pack(video, audio, text)


def test_unknown_style_is_refused():
    with pytest.raises(PackingError, match="v3"):
        pack(_latent(), torch.randn(5, 64), torch.randn(3, 8), style="v3")


def test_1080p_local_ranges_give_the_604_frame_pairs_of_cost_md():
    tpf, frames, na_nt = 2040, 32, 476
    q, k = local_attention_ranges_for(tpf * frames, frames, tpf * frames + na_nt, FRAME_RECEPTIVE_FIELD_1080P)
    assert q.shape == (34, 2) and q.dtype == torch.int32
    frame_pairs = sum(int(k[f, 1] - k[f, 0]) // tpf for f in range(frames))
    assert frame_pairs == 604


def test_local_plan_allows_the_union_of_rows_and_nothing_else():
    q, k = local_attention_ranges_for(12, 4, 16, 1)  # 4 frames of 3 tokens, 4 audio/text tokens
    mask = LocalPlan.from_ranges(q, k, 16).dense_mask()
    assert mask[0, :6].all() and not mask[0, 6:12].any() and mask[0, 12:].all()  # frame 0 sees frames 0-1 + a/t
    assert mask[4, :9].all() and not mask[4, 9:12].any()  # frame 1 sees frames 0-2
    assert mask[12:].all()  # audio/text see everything


def test_local_ranges_that_leave_a_query_uncovered_are_refused():
    q = torch.tensor([[0, 4]], dtype=torch.int32)
    k = torch.tensor([[0, 8]], dtype=torch.int32)
    with pytest.raises(PackingError, match="no local_q_ranges"):
        LocalPlan.from_ranges(q, k, 8)
    with pytest.raises(PackingError, match="outside"):
        LocalPlan.from_ranges(torch.tensor([[0, 9]]), k, 8)
