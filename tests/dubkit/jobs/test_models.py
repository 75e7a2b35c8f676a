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
