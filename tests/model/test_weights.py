"""The models-folder layouts (dubkit's and the official one), `check` and `pull` (against a local stand-in hub on
127.0.0.1)."""

import shutil

import pytest

from model.weights import (
    COMPONENTS,
    WeightsError,
    WeightsMissingError,
    WeightsVerificationError,
    check,
    check_folder,
    component_names,
    component_path,
    detect_layout,
    pull,
    turbo_vae_files,
    verify_download,
)
from tests.hub_server import serve_hub
from tests.model.tiny_generator_parts import (
    complete_layout_placeholders as _complete_layout,
)


def _write(path, data=b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_complete_folder_has_nothing_missing(tmp_path):
    _complete_layout(tmp_path)
    assert check(tmp_path) == []


def test_empty_folder_lists_every_component_folder(tmp_path):
    missing = check(tmp_path)
    assert len(missing) == len(COMPONENTS)
    assert "daVinci-MagiHuman/base/ (the whole folder; from GAIR/daVinci-MagiHuman)" in missing
    assert any(m.startswith("t5gemma-9b-9b-ul2/ ") for m in missing)


def test_check_names_exactly_the_missing_files(tmp_path):
    _complete_layout(tmp_path)
    (tmp_path / "daVinci-MagiHuman/1080p_sr/model-00002-of-00002.safetensors").unlink()
    (tmp_path / "t5gemma-9b-9b-ul2/tokenizer.json").unlink()
    (tmp_path / "stable-audio-open-1.0/vae/config.json").unlink()
    assert check(tmp_path) == [
        "daVinci-MagiHuman/1080p_sr/model-00002-of-00002.safetensors",
        "t5gemma-9b-9b-ul2/tokenizer.json (or tokenizer.model)",
        "stable-audio-open-1.0/vae/config.json",
    ]


def test_zst_only_shard_is_missing_with_a_hint(tmp_path):
    _complete_layout(tmp_path)
    shard = tmp_path / "daVinci-MagiHuman/1080p_sr/model-00001-of-00002.safetensors"
    shard.rename(shard.with_name(shard.name + ".zst"))
    assert check(tmp_path, ["1080p_sr"]) == [
        "daVinci-MagiHuman/1080p_sr/model-00001-of-00002.safetensors (only a .zst copy is present: decompress it "
        "with `zstd -d`)"
    ]


def test_dit_folder_without_weights_says_which_file_is_expected(tmp_path):
    (tmp_path / "daVinci-MagiHuman/distill").mkdir(parents=True)
    assert check(tmp_path, ["distill"]) == [
        "daVinci-MagiHuman/distill/model.safetensors (or model.safetensors.index.json + shards)"
    ]


def test_component_names_follow_modes_and_resolutions():
    assert component_names(["distill"], ["256p"]) == ["t5gemma", "wan22_vae", "sao_vae", "turbo_vae", "distill"]
    assert component_names(["distill"], ["256p"], vae="wan") == ["t5gemma", "wan22_vae", "sao_vae", "distill"]
    assert component_names(["base", "distill"], ["1080p", "540p"])[-2:] == ["1080p_sr", "540p_sr"]
    with pytest.raises(WeightsError, match="720p"):
        component_names(["distill"], ["720p"])
    with pytest.raises(WeightsError, match="'tiny'"):
        component_names(["distill"], ["256p"], vae="tiny")


def test_missing_error_lists_files_and_how_to_fetch(tmp_path):
    err = WeightsMissingError(tmp_path, ["a/b.safetensors", "c/"])
    assert err.missing == ("a/b.safetensors", "c/")
    assert "a/b.safetensors" in str(err) and "pull" in str(err) and str(tmp_path) in str(err)


# ------------------------------------------------------------------- pull against a local hub
def _hub(root):
    """Hub repositories laid out as on huggingface.co, with a few extra files pull must skip."""
    magi = root / "GAIR" / "daVinci-MagiHuman"
    _write(magi / "distill" / "model.safetensors", b"distill-weights")
    _write(magi / "base" / "model.safetensors", b"base-weights")
    _write(magi / "README.md", b"# card")
    _write(magi / "turbo_vae" / "TurboV3-Wan22-TinyShallow_7_7.json", b"{}")
    _write(magi / "turbo_vae" / "checkpoint-340000.ckpt", b"turbo-weights")
    wan = root / "Wan-AI" / "Wan2.2-TI2V-5B-Diffusers"
    _write(wan / "vae" / "config.json", b"{}")
    _write(wan / "vae" / "diffusion_pytorch_model.safetensors", b"vae-weights")
    _write(wan / "transformer" / "diffusion_pytorch_model.safetensors", b"not-needed")
    sao = root / "stabilityai" / "stable-audio-open-1.0"
    _write(sao / "vae" / "config.json", b"{}")
    _write(sao / "vae" / "diffusion_pytorch_model.safetensors", b"audio-vae")
    t5 = root / "google" / "t5gemma-9b-9b-ul2"
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        _write(t5 / name, name.encode())
    _write(t5 / "original.gguf", b"skip me")


def test_pull_downloads_only_the_needed_files_into_the_layout(tmp_path):
    _hub(tmp_path / "hub")
    models = tmp_path / "models"
    log = []
    with serve_hub(tmp_path / "hub", log) as endpoint:
        pull(models, component_names(["distill"], ["256p"]), endpoint=endpoint)
    assert check(models, component_names(["distill"], ["256p"])) == []
    assert (models / "daVinci-MagiHuman/distill/model.safetensors").read_bytes() == b"distill-weights"
    assert not (models / "daVinci-MagiHuman/base").exists()
    assert not (models / "Wan2.2-TI2V-5B-Diffusers/transformer").exists()
    assert not (models / "t5gemma-9b-9b-ul2/original.gguf").exists()
    assert any("/GAIR/daVinci-MagiHuman/resolve/" in line for line in log)


def test_pull_reports_what_the_hub_lacks(tmp_path):
    _hub(tmp_path / "hub")
    with serve_hub(tmp_path / "hub") as endpoint:
        with pytest.raises(WeightsMissingError) as info:
            pull(tmp_path / "models", ["540p_sr"], endpoint=endpoint)
    assert info.value.missing == ("daVinci-MagiHuman/540p_sr/ (the whole folder; from GAIR/daVinci-MagiHuman)",)


def test_corrupted_download_fails_verification_naming_the_file(tmp_path):
    _hub(tmp_path / "hub")
    models = tmp_path / "models"
    with serve_hub(tmp_path / "hub") as endpoint:
        pull(models, ["distill"], endpoint=endpoint)
        local = models / "daVinci-MagiHuman"
        assert verify_download(local, "GAIR/daVinci-MagiHuman", ["distill/*"], endpoint=endpoint) == 1
        (local / "distill/model.safetensors").write_bytes(b"tampered")
        with pytest.raises(WeightsVerificationError, match="distill/model.safetensors"):
            verify_download(local, "GAIR/daVinci-MagiHuman", ["distill/*"], endpoint=endpoint)


# ------------------------------------------------------------------- the two folder layouts
def official_layout(root):
    """The folder the official README's download produces: GAIR/daVinci-MagiHuman's sub-folders at the top, the
    external models inside it (the original-format Wan VAE and SAO files, plus the diffusers VAE dubkit loads)."""
    _write(root / "distill" / "model.safetensors")
    _write(root / "base" / "model.safetensors.index.json",
           b'{"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}')
    for shard in ("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"):
        _write(root / "base" / shard)
    _write(root / "turbo_vae" / "TurboV3-Wan22-TinyShallow_7_7.json", b"{}")
    _write(root / "turbo_vae" / "checkpoint-340000.ckpt")
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        _write(root / "t5gemma-9b-9b-ul2" / name)
    for name in ("model_config.json", "model.safetensors", "vae/config.json",
                 "vae/diffusion_pytorch_model.safetensors"):
        _write(root / "stable-audio-open-1.0" / name)
    _write(root / "Wan2.2-TI2V-5B" / "Wan2.2_VAE.pth")
    for name in ("config.json", "diffusion_pytorch_model.safetensors"):
        _write(root / "Wan2.2-TI2V-5B-Diffusers" / "vae" / name)
    return root


def test_both_layouts_are_detected_and_checked(tmp_path):
    _complete_layout(tmp_path / "ours")
    ours = check_folder(tmp_path / "ours")
    assert (ours.layout, ours.missing, ours.complete) == ("dubkit", (), True)
    official = check_folder(official_layout(tmp_path / "official"), component_names(["base", "distill"]))
    assert (official.layout, official.missing) == ("official", ())
    assert component_path(tmp_path / "official", "distill") == tmp_path / "official" / "distill"
    assert turbo_vae_files(tmp_path / "official") == (
        tmp_path / "official/turbo_vae/TurboV3-Wan22-TinyShallow_7_7.json",
        tmp_path / "official/turbo_vae/checkpoint-340000.ckpt")
    assert detect_layout(tmp_path / "empty") == "dubkit"


def test_official_layout_names_a_missing_shard_and_what_dubkit_cannot_read(tmp_path):
    root = official_layout(tmp_path)
    (root / "base" / "model-00002-of-00002.safetensors").unlink()
    shutil.rmtree(root / "Wan2.2-TI2V-5B-Diffusers")
    (root / "turbo_vae" / "checkpoint-340000.ckpt").unlink()
    result = check_folder(root, component_names(["base"]))
    assert result.layout == "official"
    assert result.missing == (
        ("Wan2.2-TI2V-5B-Diffusers/vae/ (the whole folder; from Wan-AI/Wan2.2-TI2V-5B-Diffusers; "
         "Wan2.2-TI2V-5B/Wan2.2_VAE.pth is present but is the original Wan-format pickle, which dubkit does not load)"),
        "turbo_vae/*.ckpt (the Turbo VAE checkpoint, checkpoint-340000.ckpt in the release)",
        "base/model-00002-of-00002.safetensors",
    )


def test_several_turbo_checkpoints_are_refused_by_name(tmp_path):
    root = official_layout(tmp_path)
    _write(root / "turbo_vae" / "checkpoint-300000.ckpt")
    with pytest.raises(WeightsError, match="checkpoint-300000.ckpt, checkpoint-340000.ckpt"):
        turbo_vae_files(root)


def test_pull_completes_an_official_layout_in_place(tmp_path):
    _hub(tmp_path / "hub")
    root = official_layout(tmp_path / "models")
    shutil.rmtree(root / "distill")
    shutil.rmtree(root / "turbo_vae")
    with serve_hub(tmp_path / "hub") as endpoint:
        pull(root, component_names(["distill"]), endpoint=endpoint)
    assert (root / "distill" / "model.safetensors").read_bytes() == b"distill-weights"
    assert (root / "turbo_vae" / "checkpoint-340000.ckpt").read_bytes() == b"turbo-weights"
    assert not (root / "daVinci-MagiHuman").exists() and check_folder(root, component_names(["distill"])).complete
