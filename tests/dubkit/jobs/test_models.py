"""`dubkit models pull magihuman` fetches the generator's weights from a hub (a local one here) into the
folder `dubkit localize --weights` reads, and says what is missing when the hub lacks a component."""
from click.testing import CliRunner

from cli import main
from model.weights import check, component_names
from tests.hub_server import serve_hub
from tests.model.test_weights import _hub


def test_pull_magihuman_fills_the_weights_folder_localize_reads(tmp_path):
    _hub(tmp_path / "hub")
    weights = tmp_path / "weights"
    with serve_hub(tmp_path / "hub") as endpoint:
        result = CliRunner().invoke(main, ["models", "pull", "magihuman", "--weights", str(weights),
                                           "--endpoint", endpoint])
    assert result.exit_code == 0, result.output
    assert f"--weights {weights}" in result.output
    assert check(weights, component_names(["distill"], ["256p"])) == []
    assert (weights / "daVinci-MagiHuman/distill/model.safetensors").read_bytes() == b"distill-weights"


def test_pull_magihuman_for_1080p_names_the_missing_sr_model_with_exit_2(tmp_path):
    _hub(tmp_path / "hub")  # this hub has no 1080p_sr folder
    with serve_hub(tmp_path / "hub") as endpoint:
        result = CliRunner().invoke(main, ["models", "pull", "magihuman", "--weights", str(tmp_path / "w"),
                                           "--resolution", "1080p", "--endpoint", endpoint])
    assert result.exit_code == 2
    assert "1080p_sr" in result.output


# ------------------------------------------------------------------- dubkit models check
def _released_shaped_turbo(folder):
    """A Turbo VAE folder shaped like the release: the released config and a `.ckpt` with every released tensor
    name and shape (zero-stride views of one zero, so the file stays tiny), plus two training-only heads."""
    import shutil

    import torch

    from model.adapters.turbo_vae import (
        RELEASED_CONFIG,
        build_turbo_vae,
        released_config,
    )

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(RELEASED_CONFIG, folder / "TurboV3-Wan22-TinyShallow_7_7.json")
    zero = torch.zeros(())
    state = {
        f"module.{k}": zero.expand(v.shape) for k, v in build_turbo_vae(released_config(), "meta").state_dict().items()
    }
    state["module.aligned_feature_projection_heads.0.0.conv.weight"] = zero.expand(1024, 512, 1, 1, 1)
    state["module.aligned_feature_projection_heads.0.0.conv.bias"] = zero.expand(1024)
    torch.save({"ema_state_dict": state}, folder / "checkpoint-340000.ckpt")


def test_models_check_reports_a_complete_dubkit_folder_with_the_released_turbo_vae(tmp_path):
    from tests.model.tiny_generator_parts import complete_layout_placeholders

    complete_layout_placeholders(tmp_path)
    _released_shaped_turbo(tmp_path / "daVinci-MagiHuman" / "turbo_vae")
    result = CliRunner().invoke(main, ["models", "check", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "layout: dubkit" in result.output and "missing: nothing" in result.output
    assert (
        "turbo_vae checkpoint checkpoint-340000.ckpt: 80 tensors, 107,122,892 parameters (+2 training-only "
        "tensors, not loaded)"
    ) in result.output
    assert "turbo_vae tensor names and shapes match the released config" in result.output
    assert result.output.rstrip().endswith("ok")


def test_models_check_on_the_official_layout_names_the_missing_shard_and_the_turbo_differences(tmp_path):
    from tests.model.test_weights import official_layout
    from tests.model.tiny_generator_parts import tiny_turbo_vae_folder

    root = official_layout(tmp_path)
    tiny_turbo_vae_folder(root / "turbo_vae")  # the tiny test decoder: right names, wrong widths
    (root / "base" / "model-00001-of-00002.safetensors").unlink()
    result = CliRunner().invoke(main, ["models", "check", str(root), "--mode", "base", "--mode", "distill"])
    assert result.exit_code == 1, result.output
    assert "layout: official" in result.output
    assert "missing (1):\n  base/model-00001-of-00002.safetensors\n" in result.output
    assert (
        "turbo_vae tensors differ from the released config: 79 mis-shaped tensors: decoder.conv_in.conv.weight: "
        "checkpoint [16, 48, 3, 3, 3] vs config [512, 48, 3, 3, 3]" in result.output
    )
    assert (
        "turbo_vae config TurboV3-Wan22-TinyShallow_7_7.json differs: decoder_block_out_channels: file "
        "[8, 10, 12, 16], released [64, 128, 256, 512]"
    ) in result.output


def test_models_check_of_a_missing_folder_is_bad_input(tmp_path):
    result = CliRunner().invoke(main, ["models", "check", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "nope does not exist" in result.output and "Traceback" not in result.output


def test_models_check_on_the_dubkit_layout_names_a_missing_shard_and_checks_base_before_sr(tmp_path):
    from tests.model.tiny_generator_parts import complete_layout_placeholders

    complete_layout_placeholders(tmp_path)
    _released_shaped_turbo(tmp_path / "daVinci-MagiHuman" / "turbo_vae")
    (tmp_path / "daVinci-MagiHuman" / "1080p_sr" / "model-00002-of-00002.safetensors").unlink()
    result = CliRunner().invoke(main, ["models", "check", str(tmp_path), "--resolution", "1080p"])
    assert result.exit_code == 1, result.output
    assert "layout: dubkit" in result.output
    assert "needed for base at 1080p:" in result.output  # the released SR configs run the base model first
    assert "missing (1):\n  daVinci-MagiHuman/1080p_sr/model-00002-of-00002.safetensors\n" in result.output
