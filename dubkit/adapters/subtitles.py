"""The pysubs2 adapter: read and write scripts (SRT, VTT, ASS, JSON; plain text is untimed).

Times become seconds at this boundary (pysubs2 counts milliseconds). Reading validates the script
and raises a `ScriptError` naming the file and the cue; it never repairs a script silently.

Speakers are kept in each format's own convention (docs/speakers.md):
- ASS/SSA and pysubs2's JSON: the event's actor field (`name`); dubkit's JSON cue list: `"speaker"`;
- WebVTT: a voice span at the start of the cue text, `<v Anna>Hello` (text escaped as `&amp;` `&lt;` `&gt;`);
- SRT: a `Anna: ` prefix on the cue's first line. A line without a speaker that itself starts with
  a word and a colon (`Note: ...`) is written with an empty prefix, `: Note: ...`, and read back as
  having no speaker. The translator template's labels (`SRC:` and the language markers `ZH:` ...)
  are never speakers.
Cues of different speakers may overlap (people talk over each other); cues of one speaker may not.
The limits a script must keep (size, cues, characters per cue, timecodes) are named below and listed in
docs/limits.md; they are checked on the text before it is parsed, so a hostile file costs no time.
"""
from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pysubs2

from dubkit.errors import ScriptError, limit, require_file
from dubkit.store.files import atomic_write_text
from eval.types import Cue
from langs import LANGUAGES

TIMED_FORMATS = {".srt": "srt", ".vtt": "vtt", ".ass": "ass", ".ssa": "ssa", ".json": "json"}
UNTIMED_FORMATS = {".txt"}
# A cue may end this much after the media: container durations and subtitle times are both
# rounded (to a frame or a millisecond), so an exact comparison would reject honest scripts.
DURATION_TOLERANCE = 0.1
# The subtitle cue that labels preview outputs (dubkit.stages.deliver writes it). It is a label, not speech:
# scoring a preview output against its own subtitles skips it.
PREVIEW_NOTE = "[dubkit PREVIEW: synthetic voice-over, not the final dub]"
MAX_SCRIPT_BYTES = 64 * 1024 * 1024  # read whole; ASS with embedded fonts are the largest. DUBKIT_MAX_SCRIPT_BYTES
MAX_CUES = 20_000  # a feature film has 1,500-3,000 subtitle cues. DUBKIT_MAX_CUES
MAX_LINE_CHARS = 2_000  # per cue: a window of at most 8 s holds a few hundred characters. DUBKIT_MAX_LINE_CHARS
MAX_TIMECODE = "99:59:59.999"  # two-digit hours: a longer time would be misread (pysubs2 keeps the last two)
# A timecode on a timing line (SRT/VTT "-->" lines, ASS "Dialogue:" lines), with its sign and hours.
_TIMECODE = re.compile(r"(-?)\b(\d+):(\d{1,2}):(\d{1,2})(?:[,.]\d+)?")
# pysubs2 reports malformed input through its own errors and, for JSON of the wrong shape, through
# whatever Python raised while reading it.
_PARSE_ERRORS = (pysubs2.exceptions.Pysubs2Error, ValueError, KeyError, TypeError, AttributeError, IndexError)
# SRT speaker prefix: a name of up to 40 characters that starts with a letter and holds no colon.
_SRT_SPEAKER = re.compile(r"^([^\W\d_][^:\n<>{}]{0,39}): (.*)$", re.DOTALL)
# WebVTT voice span: `<v Name>` or `<v.class Name>` at the start of the cue text.
_VTT_VOICE = re.compile(r"^<v(?:\.[^\s>]*)?\s+([^>]+)>", re.MULTILINE)
# Labels that start lines of the translator template (docs/translation.md), never speaker names.
_RESERVED = frozenset({"SRC", *(code.upper() for code in LANGUAGES)})
_VOICE_MARK = "\ue000"  # carries a VTT voice name through pysubs2, which drops tags
# Characters a speaker name may not hold, per format (they would break the field or the prefix).
_NAME_FORBIDDEN = {"srt": ":\n", "vtt": "<>&\n", "ass": ",\n", "ssa": ",\n", "json": "\n"}


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
    text = _read_text(path)
    if suffix in UNTIMED_FORMATS:
        cues = tuple(Cue(text=line.strip()) for line in text.splitlines() if line.strip())
        _check_limits(path, cues)
        if need_timed:
            check_cues(cues, duration, name=str(path))
        return Script(cues=cues, timed=False, path=path)
    _check_timing_lines(path, text, TIMED_FORMATS[suffix])
    cues = _parse_timed(path, text, TIMED_FORMATS[suffix])
    if not cues:
        raise ScriptError(f"script {path} has no cues with text (empty or unparsable)")
    _check_limits(path, cues)
    check_cues(cues, duration, name=str(path), allow_overlap=allow_overlap)
    return Script(cues=cues, timed=True, path=path)


def _read_text(path: Path) -> str:
    """The script's text: at most MAX_SCRIPT_BYTES, readable, UTF-8, without NUL bytes, not empty."""
    most = limit("MAX_SCRIPT_BYTES", MAX_SCRIPT_BYTES)
    try:
        size = path.stat().st_size
        if size > most:
            raise ScriptError(f"script {path} is {size / 1e6:.1f} MB, over the limit of {most / 1e6:.0f} MB "
                              "(MAX_SCRIPT_BYTES; set DUBKIT_MAX_SCRIPT_BYTES to allow more)")
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise ScriptError(f"script {path} is not UTF-8 text ({err.reason} at byte {err.start})") from err
    except OSError as err:
        raise ScriptError(f"script {path} cannot be read: {err.strerror}") from err
    if "\x00" in text:
        raise ScriptError(f"script {path} contains NUL bytes (the first at character {text.index(chr(0))}): "
                          "a script is plain text")
    if not text.strip():
        raise ScriptError(f"script {path} is empty")
    return text


def _check_timing_lines(path: Path, text: str, fmt: str) -> None:
    """Count the cues and read every timecode on the raw text, before pysubs2 parses it: too many
    cues, a negative time or one past MAX_TIMECODE is refused naming the line."""
    marker = "Dialogue:" if fmt in ("ass", "ssa") else "-->"
    most = limit("MAX_CUES", MAX_CUES)
    count = text.count(marker)
    if count > most:
        raise ScriptError(f"script {path} has {count} cues, over the limit of {most:.0f} "
                          "(MAX_CUES; set DUBKIT_MAX_CUES to allow more)")
    if fmt == "json":
        return
    for number, line in enumerate(text.splitlines(), 1):
        if marker not in line:
            continue
        if marker == "Dialogue:":
            line = ",".join(line.split(",", 3)[:3])  # Layer, Start, End: not the dialogue text
        for match in _TIMECODE.finditer(line):
            sign, hours = match.group(1), int(match.group(2))
            if sign:
                raise ScriptError(f"{path}: line {number}: timecode {match.group(0)} is negative")
            if hours > 99:
                raise ScriptError(f"{path}: line {number}: timecode {match.group(0)} is past {MAX_TIMECODE}, "
                                  f"which {fmt.upper()} cannot hold")


def _check_limits(path: Path, cues: Sequence[Cue]) -> None:
    """MAX_CUES and MAX_LINE_CHARS on the parsed cues (JSON lists are counted only here)."""
    most = limit("MAX_CUES", MAX_CUES)
    if len(cues) > most:
        raise ScriptError(f"script {path} has {len(cues)} cues, over the limit of {most:.0f} "
                          "(MAX_CUES; set DUBKIT_MAX_CUES to allow more)")
    longest = limit("MAX_LINE_CHARS", MAX_LINE_CHARS)
    for i, cue in enumerate(cues):
        if len(cue.text) > longest:
            raise ScriptError(f"{path}: cue {i + 1} has {len(cue.text)} characters, over the limit of {longest:.0f} "
                              "(MAX_LINE_CHARS; set DUBKIT_MAX_LINE_CHARS to allow more)")


def _parse_timed(path: Path, text: str, fmt: str) -> tuple[Cue, ...]:
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ScriptError(f"script {path} is not valid JSON: {err}") from err
        except RecursionError:
            raise ScriptError(f"script {path} is JSON nested too deep to be a script (a flat list of cues)") from None
        if not (isinstance(data, dict) and "events" in data):
            return _parse_cue_list(path, data)
    if fmt == "vtt":
        text = _VTT_VOICE.sub(lambda m: f"{_VOICE_MARK}{m.group(1).strip()}{_VOICE_MARK}", text)
    try:
        subs = pysubs2.SSAFile.from_string(text, format_=fmt)
    except _PARSE_ERRORS as err:
        raise ScriptError(f"script {path} cannot be parsed as {fmt.upper()}: {err}") from err
    cues = []
    for event in subs.events:
        if event.is_comment:
            continue
        line, speaker = _speaker_of(" ".join(event.plaintext.split()), fmt)
        if line:
            cues.append(Cue(line, event.start / 1000, event.end / 1000, event.name or speaker))
    return tuple(cues)


def _speaker_of(line: str, fmt: str) -> tuple[str, str | None]:
    """A cue line without its speaker mark, and the speaker (SRT prefix, VTT voice span)."""
    if fmt == "vtt":
        line = html.unescape(line.replace("</v>", ""))
        if line.startswith(_VOICE_MARK):
            name, _, rest = line[1:].partition(_VOICE_MARK)
            return rest.strip(), name or None
        return line, None
    if fmt == "srt":
        if line.startswith(": "):
            return line[2:], None
        match = _SRT_SPEAKER.match(line)
        if match and match.group(1).strip() not in _RESERVED:
            return match.group(2).strip(), match.group(1).strip()
    return line, None


def _marked_text(cue: Cue, fmt: str, where: str) -> str:
    """The cue's text as `write_script` puts it in `fmt`, with the speaker in that format's convention."""
    if cue.speaker and any(ch in cue.speaker for ch in _NAME_FORBIDDEN.get(fmt, "")):
        raise ScriptError(f"{where}: speaker name {cue.speaker!r} cannot be written in {fmt.upper()} "
                          f"(it holds one of {_NAME_FORBIDDEN[fmt]!r})")
    text = cue.text
    if fmt == "vtt":
        text = html.escape(text, quote=False)
        return f"<v {cue.speaker}>{text}" if cue.speaker else text
    if fmt == "srt":
        if cue.speaker:
            return f"{cue.speaker}: {text}"
        looks_named = _SRT_SPEAKER.match(text)
        escape = (looks_named and looks_named.group(1).strip() not in _RESERVED) or text.startswith(": ")
        return f": {text}" if escape else text
    return text


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
    (`duration` seconds, within DURATION_TOLERANCE), or overlaps another cue of the same speaker (cues of
    different speakers may overlap, docs/speakers.md; unless `allow_overlap`:
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
        clash = same_speaker_overlap(cues)
        if clash is not None:
            a, b = clash
            who = f"of the same speaker {cues[b].speaker!r}" if cues[b].speaker else "(no speaker named)"
            raise ScriptError(
                f"{_where(name, b, cues[b])} overlaps cue {a + 1} {cues[a].text[:40]!r} {who}, which ends at "
                f"{cues[a].end:.3f} s; only cues of different speakers may overlap"
            )


def same_speaker_overlap(cues: Sequence[Cue]) -> tuple[int, int] | None:
    """The first pair (earlier, later) of indices of one speaker's cues that overlap in time, else None.
    Cues without a speaker count as one speaker."""
    last: dict[str | None, int] = {}
    for i in sorted(range(len(cues)), key=lambda k: (cues[k].start, cues[k].end)):  # type: ignore[arg-type, return-value]
        prev = last.get(cues[i].speaker)
        if prev is not None and cues[i].start < cues[prev].end - 1e-6:  # type: ignore[operator]
            return prev, i
        if prev is None or cues[i].end > cues[prev].end:  # type: ignore[operator]
            last[cues[i].speaker] = i
    return None


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
        fmt = TIMED_FORMATS[suffix]
        text = _marked_text(cue, fmt, f"{path}: cue {i + 1}")
        subs.append(
            pysubs2.SSAEvent(
                start=round(cue.start * 1000), end=round(cue.end * 1000),
                text=text.replace("\n", "\\N"), name=cue.speaker or "",
            )
        )
    atomic_write_text(path, subs.to_string(TIMED_FORMATS[suffix]))
    return path


@dataclass(frozen=True)
class BurnInStyle:
    """How burned-in subtitles look: font family and size, margins (pixels of the picture) and the frame
    size libass lays them out in. White text, a black outline and a soft shadow, bottom centre."""

    font: str
    size: int
    margin_v: int
    margin_h: int
    width: int
    height: int
    outline: float
    shadow: float


def write_burn_in_ass(cues: Sequence[Cue], path: str | Path, style: BurnInStyle) -> Path:
    """Write `cues` (speaker names dropped) as an ASS file styled for burning in, atomically."""
    path = Path(path)
    subs = pysubs2.SSAFile()
    subs.info.update({"PlayResX": str(style.width), "PlayResY": str(style.height), "WrapStyle": "0",
                      "ScaledBorderAndShadow": "yes"})
    subs.styles["Default"] = pysubs2.SSAStyle(
        fontname=style.font, fontsize=style.size, primarycolor=pysubs2.Color(255, 255, 255, 0),
        outlinecolor=pysubs2.Color(0, 0, 0, 0), backcolor=pysubs2.Color(0, 0, 0, 128), outline=style.outline,
        shadow=style.shadow, alignment=pysubs2.Alignment.BOTTOM_CENTER, marginl=style.margin_h,
        marginr=style.margin_h, marginv=style.margin_v,
    )
    for cue in cues:
        if cue.timed:
            subs.append(pysubs2.SSAEvent(start=round(cue.start * 1000), end=round(cue.end * 1000),
                                         text=cue.text.replace("\n", "\\N")))
    atomic_write_text(path, subs.to_string("ass"))
    return path
