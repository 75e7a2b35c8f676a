"""Model resolution: the packaged base (reassembled, hash-checked), local folders, hub pulls."""
from __future__ import annotations

import os

import pytest

from eval import whisper_models as wm
from eval.asr import Recognizer
from eval.errors import ModelNotFoundError
from tests.hub_server import serve_hub


@pytest.fixture(scope="module")
def base_folder():
    """The packaged base as reassembled in the user's models folder (the cache it is meant for)."""
    return wm.packaged_base()


def test_the_packaged_base_is_reassembled_with_the_published_hash(tmp_path):
    folder = wm.packaged_base(tmp_path)
    assert folder == tmp_path / "whisper-base"
    assert (folder / "model.bin").stat().st_size == wm.PACKAGED_SIZE
    assert wm.sha256_of(folder / "model.bin") == wm.PACKAGED_SHA256
    assert {"config.json", "tokenizer.json", "vocabulary.json"} <= set(os.listdir(folder))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_a_corrupt_reassembled_model_is_rebuilt(tmp_path):
    folder = wm.packaged_base(tmp_path)
    with open(folder / "model.bin", "r+b") as f:
        f.seek(1000)
        f.write(b"\x00" * 16)
    before = (folder / "model.bin").stat().st_mtime_ns
    wm.packaged_base(tmp_path)
    assert wm.sha256_of(folder / "model.bin") == wm.PACKAGED_SHA256
    assert (folder / "model.bin").stat().st_mtime_ns != before


def test_a_concurrent_process_that_reassembles_first_wins_without_an_error(monkeypatch, tmp_path):
    real_replace = os.replace

    def other_process_finished_first(src, dst):
        real_replace(src, dst)  # the other process's finished copy now sits at the target ...
        raise OSError(39, "Directory not empty")  # ... so our own rename fails

    monkeypatch.setattr(wm.os, "replace", other_process_finished_first)
    folder = wm.packaged_base(tmp_path)
    assert wm.sha256_of(folder / "model.bin") == wm.PACKAGED_SHA256
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_rename_failure_that_leaves_no_model_is_a_named_error(monkeypatch, tmp_path):
    def fails(src, dst):
        raise OSError(13, "Permission denied")

    monkeypatch.setattr(wm.os, "replace", fails)
    with pytest.raises(wm.EvalError, match="whisper-base.*Permission denied"):
        wm.packaged_base(tmp_path)
    assert not (tmp_path / "whisper-base").exists()


def test_dubkit_home_sets_the_models_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("DUBKIT_HOME", str(tmp_path))
    assert wm.models_dir() == tmp_path / "models"
    monkeypatch.delenv("DUBKIT_HOME")
    assert wm.models_dir() == wm.Path.home() / ".cache" / "dubkit" / "models"


def test_no_name_and_base_both_mean_the_packaged_model(base_folder):
    assert wm.resolve_model(None).path == base_folder
    assert wm.resolve_model("base").name == "base"


def test_a_local_model_folder_is_used_as_given(base_folder):
    assert wm.resolve_model(base_folder).path == base_folder


def test_a_folder_that_is_not_a_model_is_refused_by_name(tmp_path):
    with pytest.raises(ModelNotFoundError, match=str(tmp_path)):
        wm.resolve_model(tmp_path)


def test_a_known_name_not_pulled_yet_says_how_to_pull_it(tmp_path):
    with pytest.raises(ModelNotFoundError, match="dubkit models pull large-v3"):
        wm.resolve_model("large-v3", tmp_path)


def test_an_unknown_name_is_refused_with_the_known_names(tmp_path):
    with pytest.raises(ModelNotFoundError, match="'huge-v9'.*large-v3"):
        wm.resolve_model("huge-v9", tmp_path)


def _hub_with(tmp_path, base_folder, repo_id):
    repo = tmp_path / "hub" / repo_id
    repo.mkdir(parents=True)
    for name in ("model.bin", "config.json", "tokenizer.json", "vocabulary.json"):
        (repo / name).symlink_to(base_folder / name)
    (repo / "README.md").write_text("not needed by CTranslate2\n")
    return tmp_path / "hub"


@pytest.mark.slow
def test_pull_fetches_a_known_name_from_the_hub_and_the_recogniser_loads_it(tmp_path, base_folder):
    hub = _hub_with(tmp_path, base_folder, wm.KNOWN_MODELS["small"])
    log: list[str] = []
    with serve_hub(hub, log) as endpoint:
        folder = wm.pull("small", tmp_path / "models", endpoint=endpoint)
    assert folder == tmp_path / "models" / "small"
    assert wm.sha256_of(folder / "model.bin") == wm.PACKAGED_SHA256
    assert not (folder / "README.md").exists()  # only the files a model needs
    assert any("/resolve/" in line and line.endswith("model.bin") for line in log)
    assert [m.name for m in wm.installed_models(tmp_path / "models")] == ["small"]
    recogniser = Recognizer("small", models_dir=tmp_path / "models")
    assert recogniser.name == "small" and recogniser.multilingual and not recogniser.supports_yue


def test_pulling_a_repository_the_hub_lacks_is_a_named_error(tmp_path):
    (tmp_path / "hub").mkdir()
    with serve_hub(tmp_path / "hub") as endpoint:
        with pytest.raises(ModelNotFoundError, match="large-v3.*Systran/faster-whisper-large-v3"):
            wm.pull("large-v3", tmp_path / "models", endpoint=endpoint)


def test_pulling_an_unknown_name_never_contacts_the_hub(tmp_path):
    log: list[str] = []
    with serve_hub(tmp_path, log) as endpoint:
        with pytest.raises(ModelNotFoundError, match="unknown ASR model 'nope'"):
            wm.pull("nope", tmp_path / "models", endpoint=endpoint)
    assert log == []
