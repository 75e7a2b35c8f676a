"""Corrupted cache: truncate, zero, swap or replace with another version's entry, for every kind of
cache entry a localize run writes, then rerun. The run must notice (each entry carries its own
checksum and the dubkit cache version), recompute that entry only, say so once, and deliver the
uninterrupted run's outputs: never a traceback, never a silently wrong output.

Kinds: source_script, cuts, render (.json and .npz), gate, assemble from the example run;
translation from a run whose Chinese comes from a translator (a local OpenAI-compatible server);
render clips (.mp4, written only by generating engines) through the cache itself. CI runs every kind
with one damage (rotated by the commit seed); `python tests/faults/report.py` runs every pair.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.faults import harness

KINDS = ("source_script", "cuts", "render.json", "render.npz", "gate", "assemble")
DAMAGES = ("truncate", "zero", "swap", "version")
SEED = harness.commit_seed()


def _pairs(kinds) -> list[tuple[str, str]]:
    if harness.run_all():
        return [(k, d) for k in kinds for d in DAMAGES]
    return [(k, DAMAGES[(SEED + i) % len(DAMAGES)]) for i, k in enumerate(kinds)]


# ---------------------------------------------------------------- damaging entries


def entries(out: Path, kind: str) -> list[Path]:
    stage, _, suffix = kind.partition(".")
    return sorted((out / harness.CACHE / stage).glob(f"*.{suffix or 'json'}"))


def as_other_version(path: Path) -> None:
    """Make the entry look written by another dubkit: its envelope (a binary entry's seal) says the
    next cache version, with a checksum that still matches (docs/localize.md describes the layout).
    A cache without versions gets the value in another layout instead (one of today's fields gone)."""
    seal = path.with_name(path.name + ".seal")
    sealed = seal if seal.is_file() else path
    try:
        doc = json.loads(sealed.read_text("utf-8"))
    except (UnicodeDecodeError, ValueError):
        doc = None
    if isinstance(doc, dict) and "dubkit_cache" in doc:
        doc["dubkit_cache"] += 1
        sealed.write_text(json.dumps(doc), "utf-8")
    elif isinstance(doc, dict) and doc:
        doc.pop(min(doc))
        path.write_text(json.dumps(doc), "utf-8")
    else:
        path.write_bytes(path.read_bytes()[:-64])  # an unsealed binary entry: another layout's bytes


def targets(out: Path, kind: str, how: str) -> list[Path]:
    """The entry of `kind` to damage; for a swap also the one it trades places with (the other
    language's entry, or one of another stage when the kind has a single entry)."""
    found = entries(out, kind)
    assert found, f"no {kind} entry in {out}"
    if how != "swap":
        return found[:1]
    return [found[0], found[1] if len(found) > 1 else _stranger(out, kind)]


def damage(paths: list[Path], how: str) -> None:
    """Damage the entries in place: cut in half, zeroed, swapped, or another version's."""
    target = paths[0]
    if how == "truncate":
        target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])
    elif how == "zero":
        target.write_bytes(bytes(target.stat().st_size))
    elif how == "version":
        as_other_version(target)
    else:
        a, b = (p.read_bytes() for p in paths)
        paths[0].write_bytes(b)
        paths[1].write_bytes(a)


def _stranger(out: Path, kind: str) -> Path:
    for other in ("cuts", "source_script", "gate"):
        if other != kind and entries(out, other):
            return entries(out, other)[0]
    raise AssertionError(f"nothing to swap {kind} with")


def _entry_files(out: Path, damaged: list[Path]) -> set[str]:
    """Files that belong to the damaged entries (a render's .json and .npz) and the outputs an
    assemble entry names: recomputing the entry may rewrite exactly these."""
    allowed = set()
    for path in damaged:
        for sibling in path.parent.glob(path.stem + ".*"):
            allowed.add(str(sibling.relative_to(out)))
            if sibling.parent.name == "assemble" and sibling.suffix == ".json":
                value = harness.entry_value(sibling)
                allowed |= {Path(value["video"]).name, Path(value["subtitles"]).name}
    return allowed


# ---------------------------------------------------------------- the folder the cases damage


class Pristine:
    """An output folder after a finished run, restored byte for byte before each case."""

    def __init__(self, out: Path):
        self.out = out
        self.files = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def restore(self) -> None:
        for path in [p for p in self.out.rglob("*") if p.is_file() and p not in self.files]:
            path.unlink()
        for path, data in self.files.items():
            if not path.is_file() or path.read_bytes() != data:
                tmp = path.with_name(path.name + ".restore")
                tmp.write_bytes(data)
                tmp.replace(path)


@pytest.fixture(scope="module")
def settled(baseline, folders):
    """A copy of the uninterrupted run's folder, run once more so that every entry matches it."""
    case = folders("corrupt")
    source = harness.example_case(case)
    shutil.copytree(baseline.out, case / "out")
    args = harness.localize_args(source, case / "out")
    run = harness.dubkit(args, cwd=case)
    assert run.rc == baseline.rc, run.output[-2000:]
    return case, args, Pristine(case / "out")


def _said_once(run: harness.Run, damaged: list[Path]) -> list[str]:
    problems = []
    for path in damaged:  # the note's subject is the entry: "cache entry <stage>/<key>... is damaged (...)"
        entry = f"{path.parent.name}/{path.name.split('.')[0]}"
        lines = [line for line in run.output.splitlines() if entry in line.split("damaged")[0]]
        if len(lines) != 1:
            problems.append(f"{path.parent.name}/{path.name} mentioned {len(lines)} times, not once")
    return problems


def _corruption_case(settled_case, expected_out: Path, expected_rc: int, kind: str, how: str, languages):
    case, args, pristine = settled_case
    out = pristine.out
    pristine.restore()
    finished = harness.finished_work(out)
    damaged = targets(out, kind, how)
    allowed = _entry_files(out, damaged)
    damage(damaged, how)
    run = harness.dubkit(args, cwd=case)
    redone = harness.redone(finished, out)
    recomputed = [str(p.relative_to(out)) for p in damaged if str(p.relative_to(out)) in redone]
    extra = [r for r in redone if r not in allowed]
    problems = harness.output_differences(out, expected_out, languages)
    said = _said_once(run, damaged)
    survived = run.rc == expected_rc and not run.traceback
    harness.record("corrupt", f"{kind} {how}", survived=survived and len(recomputed) == len(damaged) and not said,
                   identical=not problems, lost=len(extra), lost_files=extra, problems=problems, said=said,
                   recomputed=recomputed)
    assert survived, run.output[-3000:]
    assert not problems, f"silently wrong output after a damaged {kind}: {problems}"
    assert len(recomputed) == len(damaged), f"damaged {damaged} not recomputed"
    assert not extra, f"undamaged work recomputed: {extra}"
    assert not said, said


@pytest.mark.slow
@pytest.mark.parametrize("kind, how", _pairs(KINDS), ids=[f"{k}-{d}" for k, d in _pairs(KINDS)])
def test_a_damaged_entry_is_detected_recomputed_and_reported_once(baseline, settled, kind, how):
    _corruption_case(settled, baseline.out, baseline.rc, kind, how, harness.LANGS)


# ---------------------------------------------------------------- translation entries


@pytest.fixture(scope="module")
def translated(folders):
    """Chinese from a translator (a local OpenAI-compatible server with the example's own lines):
    the run that writes `translation` entries; the server stays up for the reruns."""
    from dubkit.adapters.subtitles import read_script
    from tests.dubkit.chat_server import dictionary_responder, serve_chat

    english = read_script(harness.EXAMPLES / "ad.en.srt").cues
    chinese = read_script(harness.EXAMPLES / "ad.zh.srt").cues
    case = folders("translated")
    shutil.copy(harness.EXAMPLES / "ad.mp4", case / "ad.mp4")
    shutil.copy(harness.EXAMPLES / "ad.en.srt", case / "ad.en.srt")
    with serve_chat(dictionary_responder({e.text: z.text for e, z in zip(english, chinese, strict=True)})) as server:
        args = harness.localize_args(case / "ad.mp4", case / "out", "--source-script", "ad.en.srt", "--translator",
                                     f"openai:{server.base_url}#test-model", languages=("zh",))
        first = harness.dubkit(args, cwd=case)
        assert first.rc in (0, 1) and not first.traceback, first.output[-2000:]
        expected = case / "expected"
        shutil.copytree(case / "out", expected, ignore=shutil.ignore_patterns(harness.CACHE))
        yield (case, args, Pristine(case / "out")), expected, first.rc


@pytest.mark.slow
@pytest.mark.parametrize("kind, how", _pairs(("translation",)), ids=[f"{k}-{d}" for k, d in _pairs(("translation",))])
def test_a_damaged_translation_is_detected_recomputed_and_reported_once(translated, kind, how):
    settled_case, expected, rc = translated
    _corruption_case(settled_case, expected, rc, kind, how, ("zh",))


# ---------------------------------------------------------------- generated clips (.mp4 entries)


@pytest.mark.parametrize("how", DAMAGES if harness.run_all() else (DAMAGES[SEED % len(DAMAGES)],))
def test_a_damaged_clip_entry_is_detected_and_reported_once(tmp_path, how):
    """Generated windows are stored as clips; a damaged clip must read as missing (so the window is
    rendered again), never as another window's picture, and be reported once."""
    from dubkit.store.cache import StageCache

    rng = np.random.default_rng(0)
    clips = {key: np.repeat(rng.integers(0, 255, (1, 32, 48, 3), dtype=np.uint8), 6, axis=0) for key in ("a", "b")}
    for frames in clips.values():
        frames[:, :, :24] = np.arange(6, dtype=np.uint8)[:, None, None, None] * 40  # each frame differs
    cache = StageCache(tmp_path)
    for key, frames in clips.items():
        cache.put_video("render", key, frames, 25.0)
    damaged = targets(tmp_path, "render.mp4", how)
    damage(damaged, how)
    reader = StageCache(tmp_path)
    reads = {key: reader.get_video("render", key, 6, 25.0) for key in clips for _ in range(2)}
    wrong = [key for key, got in reads.items()
             if got is not None and np.abs(got.astype(int) - clips[key].astype(int)).mean() > 3]
    missed = [p.stem for p in damaged if reads[p.stem] is not None]
    notes = list(getattr(reader, "damaged", []))
    harness.record("corrupt", f"render.mp4 {how}", survived=not wrong and not missed and len(notes) == len(damaged),
                   identical=not wrong, lost=0, wrong=wrong, missed=missed, notes=notes)
    assert not wrong, f"a damaged clip read back as another picture: {wrong}"
    assert not missed, f"damaged clips read as if whole: {missed}"
    assert len(notes) == len(damaged), f"damage reported {len(notes)} times for {len(damaged)} entries: {notes}"
