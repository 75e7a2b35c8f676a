"""The pysubs2 adapter: read and write scripts (SRT, VTT, ASS, JSON; plain text is untimed).

Times become seconds at this boundary (pysubs2 counts milliseconds). Reading validates the script
and raises a `ScriptError` naming the file and the cue; it never repairs a script silently.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import pysubs2

from dubkit.errors import ScriptError, require_file
from dubkit.store.files import atomic_write_text
from eval.types import Cue

TIMED_FORMATS = {".srt": "srt", ".vtt": "vtt", ".ass": "ass", ".ssa": "ssa", ".json": "json"}
UNTIMED_FORMATS = {".txt"}
# A cue may end this much after the media: container durations and subtitle times are both
# rounded (to a frame or a millisecond), so an exact comparison would reject honest scripts.
DURATION_TOLERANCE = 0.1
# The subtitle cue that labels preview outputs (dubkit.stages.deliver writes it). It is a label, not speech:
# scoring a preview output against its own subtitles skips it.
PREVIEW_NOTE = "[dubkit PREVIEW: synthetic voice-over, not the final dub]"
# pysubs2 reports malformed input through its own errors and, for JSON of the wrong shape, through
# whatever Python raised while reading it.
_PARSE_ERRORS = (pysubs2.exceptions.Pysubs2Error, ValueError, KeyError, TypeError, AttributeError, IndexError)


@dataclass(frozen=True)
class Script:
    """A script's lines. `timed` is False for plain text (cues have no times)."""

    cues: tuple[Cue, ...]
    timed: bool
    path: Path | None = None

    @property
    def text(self) -> str:
        return " ".join(c.text for c in self.cues)


def read_script(
    path: str | Path, duration: float | None = None, allow_overlap: bool = False, *, need_timed: bool = False
) -> Script:
    """Read and validate a script (`check_cues`).

    `duration` (seconds) is the media's length: a cue ending after it is an error. Overlapping
    cues are an error unless `allow_overlap` (scoring needs each spoken word in one cue). Plain
    text is an error when `need_timed`.
    """
    path = require_file(path, "script", ScriptError)
    suffix = path.suffix.lower()
    if suffix not in TIMED_FORMATS and suffix not in UNTIMED_FORMATS:
        known = ", ".join(sorted([*TIMED_FORMATS, *UNTIMED_FORMATS]))
        raise ScriptError(f"script {path} has an unsupported extension {suffix!r} (use {known})")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise ScriptError(f"script {path} is not UTF-8 text ({err.reason} at byte {err.start})") from err
    if not text.strip():
        raise ScriptError(f"script {path} is empty")
    if suffix in UNTIMED_FORMATS:
        cues = tuple(Cue(text=line.strip()) for line in text.splitlines() if line.strip())
        if need_timed:
            check_cues(cues, duration, name=str(path))
        return Script(cues=cues, timed=False, path=path)
    cues = _parse_timed(path, text, TIMED_FORMATS[suffix])
    if not cues:
        raise ScriptError(f"script {path} has no cues with text (empty or unparsable)")
    check_cues(cues, duration, name=str(path), allow_overlap=allow_overlap)
    return Script(cues=cues, timed=True, path=path)


def _parse_timed(path: Path, text: str, fmt: str) -> tuple[Cue, ...]:
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ScriptError(f"script {path} is not valid JSON: {err}") from err
        if not (isinstance(data, dict) and "events" in data):
            return _parse_cue_list(path, data)
    try:
        subs = pysubs2.SSAFile.from_string(text, format_=fmt)
    except _PARSE_ERRORS as err:
        raise ScriptError(f"script {path} cannot be parsed as {fmt.upper()}: {err}") from err
    cues = []
    for event in subs.events:
        if event.is_comment:
            continue
        line = " ".join(event.plaintext.split())
        if line:
            cues.append(Cue(line, event.start / 1000, event.end / 1000, event.name or None))
    return tuple(cues)


def _parse_cue_list(path: Path, data) -> tuple[Cue, ...]:
    """dubkit's own JSON: a list of {"start", "end", "text", "speaker"?} in seconds (or {"cues": [...]})."""
    items = data.get("cues") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ScriptError(
            f"script {path} is JSON but neither pysubs2's format nor a list of "
            '{"start", "end", "text"} cues'
        )
    cues = []
    for i, item in enumerate(items):
        try:
            start, end, line = float(item["start"]), float(item["end"]), str(item["text"])
        except (KeyError, TypeError, ValueError) as err:
            raise ScriptError(
                f"script {path}: cue {i + 1} needs numeric start, end (seconds) and text ({err!r})"
            ) from err
        speaker = item.get("speaker")
        if " ".join(line.split()):
            cues.append(Cue(" ".join(line.split()), start, end, str(speaker) if speaker else None))
    return tuple(cues)


def _where(name: str, i: int, cue: Cue) -> str:
    return f"{name}: cue {i + 1} ({cue.start:.3f}-{cue.end:.3f} s, {cue.text[:40]!r})"


def check_cues(
    cues: Sequence[Cue], duration: float | None = None, *, name: str, allow_overlap: bool = False
) -> None:
    """The one check of a timed script: ScriptError naming `name` and the cue (its number in `cues`)
    when a cue has no times, starts before 0 s, ends at or before it starts, ends after the media
    (`duration` seconds, within DURATION_TOLERANCE), or overlaps another cue (unless `allow_overlap`:
    scoring needs each spoken word in one cue, so it allows them)."""
    for i, cue in enumerate(cues):
        if not cue.timed:
            raise ScriptError(
                f"{name}: cue {i + 1} ({cue.text[:40]!r}) has no timing (no start/end time); a timed script is needed"
            )
        if cue.start < 0:  # type: ignore[operator]
            raise ScriptError(f"{_where(name, i, cue)} starts before 0 s")
        if cue.end <= cue.start:  # type: ignore[operator]
            raise ScriptError(f"{_where(name, i, cue)} ends at or before it starts")
        if duration is not None and cue.end > duration + DURATION_TOLERANCE:  # type: ignore[operator]
            raise ScriptError(
                f"{_where(name, i, cue)} ends after the media, which lasts {duration:.3f} s (past the end)"
            )
    if not allow_overlap:
        ordered = sorted(range(len(cues)), key=lambda i: cues[i].start)  # type: ignore[arg-type, return-value]
        for a, b in zip(ordered, ordered[1:]):
            if cues[b].start < cues[a].end:  # type: ignore[operator]
                raise ScriptError(
                    f"{_where(name, b, cues[b])} overlaps cue {a + 1} {cues[a].text[:40]!r} "
                    f"(which ends at {cues[a].end:.3f} s)"
                )


def check_writable_format(path: str | Path) -> None:
    """ScriptError naming `path` unless its extension is one `write_script` can write (call it before
    slow work, so a typo in an output name is refused at once)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TIMED_FORMATS and suffix not in UNTIMED_FORMATS:
        known = ", ".join(sorted([*TIMED_FORMATS, *UNTIMED_FORMATS]))
        raise ScriptError(f"cannot write script {path}: unsupported extension {suffix!r} (use {known})")


def without_preview_note(cues: Sequence[Cue]) -> tuple[tuple[Cue, ...], bool]:
    """The cues with dubkit's PREVIEW label removed (a cue of its own, or the head of the first line);
    and whether there was one."""
    kept, found = [], False
    for cue in cues:
        if cue.text.startswith(PREVIEW_NOTE):
            found = True
            rest = cue.text[len(PREVIEW_NOTE):].strip()
            if not rest:
                continue
            cue = replace(cue, text=rest)
        kept.append(cue)
    return tuple(kept), found


def write_script(cues: Sequence[Cue], path: str | Path) -> Path:
    """Write cues atomically in the format the extension names (.srt .vtt .ass .ssa .json .txt)."""
    path = Path(path)
    check_writable_format(path)
    suffix = path.suffix.lower()
    if suffix in UNTIMED_FORMATS:
        atomic_write_text(path, "".join(f"{c.text}\n" for c in cues))
        return path
    subs = pysubs2.SSAFile()
    for i, cue in enumerate(cues):
        if not cue.timed:
            raise ScriptError(f"cannot write untimed cue {i + 1} ({cue.text[:40]!r}) to {path}")
        subs.append(
            pysubs2.SSAEvent(
                start=round(cue.start * 1000), end=round(cue.end * 1000),
                text=cue.text.replace("\n", "\\N"), name=cue.speaker or "",
            )
        )
    atomic_write_text(path, subs.to_string(TIMED_FORMATS[suffix]))
    return path
