"""Hostile inputs: every one gets exit status 2 and one line naming the file and what is wrong, writes
nothing outside the output folder, and ends in bounded time and memory (each run under RLIMIT_AS
and a timeout). A few inputs are odd but legitimate (paths with spaces, unicode or a leading dash, an
output that is a link to a file elsewhere, a large glossary of regex metacharacters, ASS files with
fonts or many styles, read by `dubkit script`): for those the clean outcome is a finished run, still
bounded, still writing only into its output folder (and never through the link).

The limits these inputs hit are named in docs/limits.md.
"""
from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.faults import harness, hostile

ADDRESS_SPACE = 4 * 1024**3  # a whole localize run peaks near 2 GB of address space
ERROR_TIMEOUT = 120  # seconds: a refusal comes before any real work
RUN_TIMEOUT = 600  # a legitimate odd input runs the job (one language, given source script)
@dataclass(frozen=True)
class Case:
    """A hostile input: `build(case)` writes it and returns (localize arguments, the output folder,
    folders the run may write besides the output folder); `words` must be in the error line (an
    empty tuple: the run must succeed)."""

    build: Callable[[Path], tuple[list[str], Path]]
    words: tuple[str, ...] = ()
    timeout: float = ERROR_TIMEOUT
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def legitimate(self) -> bool:
        return not self.words


def _source(case: Path, *extra: str, languages=("ja",), source: str = "ad.mp4", out: str = "out") -> list[str]:
    """Arguments for one language from the example with its English script (no recognition needed)."""
    return harness.localize_args(Path(source), Path(out), "--source-script", "ad.en.srt", *extra,
                                 languages=languages)


def _example(case: Path) -> None:
    harness.example_case(case)
    shutil.copy(harness.EXAMPLES / "ad.en.srt", case / "ad.en.srt")


def _media(make, name: str, *extra: str):
    def build(case: Path):
        _example(case)
        make(case / name)
        shutil.copy(harness.EXAMPLES / "ad.ja.srt", case / f"{Path(name).stem}.ja.srt")  # its translation
        return _source(case, *extra, source=name), case / "out"

    return build


def _track(flag: str, value: str, make):
    def build(case: Path):
        _example(case)
        make(case)
        return _source(case, flag, value), case / "out"

    return build


def _script(name: str, role: str):
    """A hostile script as the source script, or as the Japanese translation found in --scripts."""

    def build(case: Path):
        _example(case)
        path = hostile.script_files(case / "scripts-src")[name]
        if role == "source":
            return harness.localize_args(Path("ad.mp4"), Path("out"), "--source-script", str(path.relative_to(case)),
                                         languages=("ja",)), case / "out"
        (case / "scripts").mkdir()
        shutil.copy(path, case / "scripts" / f"ad.ja{path.suffix}")
        return _source(case, "--scripts", "scripts"), case / "out"

    return build


def _script_package(name: str):
    """A legitimate but heavy script read by `dubkit script` (the templates for translators): the
    same reader as localize's, without rendering anything."""

    def build(case: Path):
        _example(case)
        path = hostile.script_files(case / "scripts-src")[name]
        return ["script", "ad.mp4", "--to", "ja", "-o", "out", "--source-script", str(path.relative_to(case))], \
            case / "out"

    return build


def _spaces_and_unicode(case: Path):
    folder = case / "client files" / "été 広告"
    _example(folder)
    (folder / "ad.mp4").rename(folder / "ad 広告 final.mp4")
    (folder / "ad.ja.srt").rename(folder / "ad 広告 final.ja.srt")
    out = folder / "out put"
    return harness.localize_args(folder / "ad 広告 final.mp4", out, "--source-script", str(folder / "ad.en.srt"),
                                 languages=("ja",)), out


def _leading_dash(case: Path):
    _example(case)
    return ["localize", "ad.mp4", "--to", "ja", "-o", "-x", "--engine", "preview", "--source-script",
            "ad.en.srt"], case / "-x"


def _cache_links_outside(case: Path):
    _example(case)
    (case / "elsewhere").mkdir()
    (case / "out").mkdir()
    (case / "out" / harness.CACHE).symlink_to(case / "elsewhere")
    return _source(case), case / "out"


def _output_links_outside(case: Path):
    _example(case)
    (case / "elsewhere").mkdir()
    (case / "elsewhere" / "precious.mp4").write_bytes(b"someone else's file")
    (case / "out").mkdir()
    (case / "out" / "ad.ja.mp4").symlink_to(case / "elsewhere" / "precious.mp4")
    return _source(case), case / "out"


def _script_links_to_a_device(case: Path):
    _example(case)
    (case / "scripts").mkdir()
    (case / "scripts" / "ad.ja.srt").symlink_to("/dev/zero")
    return _source(case, "--scripts", "scripts"), case / "out"


def _out_is_source_folder(case: Path):
    _example(case)
    return _source(case, out="."), case / "(refused before writing anything)"


def _out_inside_cache(case: Path):
    _example(case)
    (case / "out" / harness.CACHE / "render").mkdir(parents=True)
    return _source(case, out=f"out/{harness.CACHE}/render"), case / "(refused before writing anything)"


def _manifest_unknown_keys(case: Path):
    """A campaign manifest with a typo in a spot's key (`glosary`) and a key no version knows."""
    _example(case)
    (case / "campaign.toml").write_text('[defaults]\nto = "ja"\nengine = "preview"\n\n[[spot]]\nname = "ad"\n'
                                        'source = "ad.mp4"\nsource_script = "ad.en.srt"\nglosary = "g.toml"\n'
                                        'colour = "red"\n', "utf-8")
    return ["localize", "--manifest", "campaign.toml", "-o", "out"], case / "out"


def _review_unknown_keys(case: Path):
    """A review file with unknown keys at every level (the file, a language, a line)."""
    _example(case)
    review = {"review_version": 1, "reviewr": "Mei", "languages": {"ja": {"script_sha256": "0" * 64, "lnes": {},
                                                                         "lines": {"1": {"decision": "approve",
                                                                                         "take": 1, "seed": 0,
                                                                                         "colour": "red"}}}}}
    (case / "review.json").write_text(json.dumps(review), "utf-8")
    return _source(case, "--review", "review.json"), case / "out"


def _big_glossary(case: Path):
    _example(case)
    metachars = ["C++", "a.b*c", "(?i)x", "[brand]", "\\d+", "^start$", "a|b", "{{T0}}", "(", ")", "?", "+*"]
    keep = [f"{m}{i}" for i in range(10_000 // len(metachars) + 1) for m in metachars][:10_000]
    lines = "keep = [" + ", ".join('"' + k.replace("\\", "\\\\") + '"' for k in keep) + "]\n"
    (case / "glossary.toml").write_text(lines + '[forced.ja]\n"Sunrise Coffee" = "サンライズ・コーヒー"\n', "utf-8")
    return _source(case, "--glossary", "glossary.toml"), case / "out"


CASES: dict[str, Case] = {
    "a 30000x30000 frame size": Case(_media(lambda p: hostile.frame_size_mp4(p, 30000, 30000), "huge.mp4"),
                                     ("huge.mp4", "30000x30000")),
    "a 16000x16000 frame size": Case(_media(lambda p: hostile.frame_size_mp4(p, 16000, 16000), "big.mp4"),
                                     ("big.mp4", "16000x16000")),
    "10 hours declared with 3 frames": Case(_media(lambda p: hostile.sparse_mp4(p, 36000), "long.mp4"),
                                            ("long.mp4", "10:00")),
    "1 hour declared with 3 frames": Case(_media(lambda p: hostile.sparse_mp4(p, 3600), "sparse.mp4"),
                                          ("sparse.mp4", "frames")),
    "audio and video disagree by minutes": Case(_media(lambda p: hostile.mismatched_mp4(p, 300), "mismatch.mp4"),
                                                ("mismatch.mp4", "audio")),
    "music track at 1 Hz": Case(_track("--me-track", "slow.wav", lambda c: hostile.wav_at(c / "slow.wav", 1)),
                                ("slow.wav", "1 Hz")),
    "voice track at 1 Hz": Case(_track("--voice-track", "ja=slow.wav", lambda c: hostile.wav_at(c / "slow.wav", 1)),
                                ("slow.wav", "1 Hz")),
    **{f"source script with {name}": Case(_script(name, "source"), words) for name, words in (
        ("100000 cues", ("many.srt", "100000 cues")), ("a 1 MB line", ("longline.srt", "characters")),
        ("NUL bytes", ("nul.srt", "NUL")), ("invalid UTF-8", ("latin1.srt", "UTF-8")),
        ("mixed encodings", ("mixed.srt", "UTF-8")), ("timecodes past 99 h", ("late.srt", "123:00:00")),
        ("negative times", ("negative.srt", "negative")), ("JSON nested 10,000 deep", ("deep.json", "deep")))},
    **{f"translation with {name}": Case(_script(name, "translation"), words) for name, words in (
        ("100000 cues", ("ad.ja.srt", "100000 cues")), ("a 1 MB line", ("ad.ja.srt", "characters")),
        ("NUL bytes", ("ad.ja.srt", "NUL")), ("invalid UTF-8", ("ad.ja.srt", "UTF-8")),
        ("timecodes past 99 h", ("ad.ja.srt", "123:00:00")), ("JSON nested 10,000 deep", ("ad.ja.json", "deep")))},
    "source script: ASS with embedded fonts": Case(_script_package("ASS with embedded fonts")),
    "source script: ASS with huge styles": Case(_script_package("ASS with huge styles")),
    "paths with spaces and unicode": Case(_spaces_and_unicode, timeout=RUN_TIMEOUT),
    "output folder -x (leading dash)": Case(_leading_dash, timeout=RUN_TIMEOUT),
    "cache folder linked outside the output folder": Case(_cache_links_outside, (harness.CACHE, "link")),
    "an output linked outside the output folder": Case(_output_links_outside, timeout=RUN_TIMEOUT),
    "translation linked to /dev/zero": Case(_script_links_to_a_device, ("ad.ja.srt", "not a file")),
    "output folder is the source's folder": Case(_out_is_source_folder, ("ad.ja.srt", "overwrite")),
    "output folder inside the cache": Case(_out_inside_cache, (harness.CACHE, "inside")),
    "glossary of 10,000 terms with regex metacharacters": Case(_big_glossary, timeout=RUN_TIMEOUT),
    "manifest with unknown keys": Case(_manifest_unknown_keys, ("campaign.toml", "glosary", "colour")),
    "review file with unknown keys": Case(_review_unknown_keys, ("review.json", "unknown field", "reviewr")),
}


def _outside_writes(case: Path, out: Path, before: dict) -> list[str]:
    """Files under the case folder, outside the output folder, that the run created or changed."""
    after = harness.tree(case, skip=[out])
    changed = [name for name in after if before.get(name) != after[name]]
    return sorted(changed + [name for name in before if name not in after])


def _changed(before: dict, after: dict) -> list[str]:
    return sorted(name for name in {*before, *after} if before.get(name) != after.get(name))


def _verdict(case: Case, run: harness.Run, out: Path) -> list[str]:
    problems = []
    if run.traceback:
        problems.append("traceback")
    if case.legitimate:
        if run.rc not in (0, 1):
            problems.append(f"exit status {run.rc}: {run.output[-600:]}")
        return problems
    lines = [line for line in run.output.splitlines() if line.strip()]
    if run.rc != 2:
        problems.append(f"exit status {run.rc}, not 2")
    if len(lines) != 1 or not lines[0].startswith("error:"):
        problems.append(f"not one error line: {lines[:4]}")
    elif not all(w in lines[0] for w in case.words):
        problems.append(f"the error does not name {case.words}: {lines[0][:300]}")
    return problems


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_a_hostile_input_gets_a_clean_bounded_answer(folders, name):
    case_def = CASES[name]
    case = folders("hostile")
    args, out = case_def.build(case)
    tmp = folders("hostile-tmp")
    before, home = harness.tree(case, skip=[out]), harness.stamps(harness.dubkit_home())
    run = harness.dubkit(args, cwd=case, env=harness.child_env(TMPDIR=str(tmp)), timeout=case_def.timeout,
                         address_space=ADDRESS_SPACE)
    problems = _verdict(case_def, run, out)
    outside = (_outside_writes(case, out, before) + [f"TMPDIR/{p}" for p in harness.stamps(tmp)]
               + [f"dubkit home/{p}" for p in _changed(home, harness.stamps(harness.dubkit_home()))])
    harness.record("hostile", name, clean=not problems and not outside, seconds=round(run.seconds, 1), rc=run.rc,
                   problems=problems, outside=outside, error=run.error_lines()[:1])
    assert not problems, (problems, run.output[-2000:])
    assert not outside, f"written outside the output folder: {outside}"


def test_the_hostile_scripts_are_what_they_say(tmp_path):
    """The crafted files really are hostile: a check of the builders, not of dubkit."""
    files = hostile.script_files(tmp_path)
    assert files["100000 cues"].read_text("utf-8").count(" --> ") == 100_000
    assert len(files["a 1 MB line"].read_text("utf-8")) > 1_000_000
    assert b"\x00" in files["NUL bytes"].read_bytes()
    for name in ("invalid UTF-8", "mixed encodings"):
        with pytest.raises(UnicodeDecodeError):
            files[name].read_bytes().decode("utf-8")
    assert files["JSON nested 10,000 deep"].read_text().count("[") == 10_000
    assert os.path.getsize(files["ASS with embedded fonts"]) > 2_000_000
