"""The review loop end to end, in a real browser: `dubkit review` serves a localize report, a reviewer
edits one zh line, approves another and comments on a third, saves; the next runs re-render exactly
the edited line's window, keep the approved take (also with --force), and `--retake` adds a take.

One job (the example spot with lines far enough apart for three windows, zh only, the real preview
engine wrapped in a call counter) is run five times in the module fixture; the tests read its record.
Set DUBKIT_SCREENSHOTS=DIR to keep the page's screenshots (docs/review.md's come from here).
"""
import json
import os
import time
from pathlib import Path

import pytest

from tests.browser import chromium
from tests.dubkit.counting_engine import CountingEngine, read_log

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "ad.mp4"
TIMES = ((0.3, 2.3), (3.1, 5.1), (5.9, 7.6))  # gaps over plan.JOIN_GAP: one window per line
ENGLISH = ("Every great day starts with a single cup.", "Sunrise Coffee, roasted fresh every morning.",
           "Wake up to something better.")
CHINESE = ("美好的一天，从一杯开始。", "日出咖啡，每天新鲜烘焙。", "醒来，更美好。")
EDIT = "早安，来一杯咖啡。"
COMMENT = "say the brand name slower"

pytestmark = pytest.mark.slow


def _srt(lines) -> str:
    def t(x: float) -> str:
        return f"00:00:{int(x):02d},{round((x % 1) * 1000):03d}"

    pairs = enumerate(zip(TIMES, lines, strict=True))
    return "".join(f"{i + 1}\n{t(s)} --> {t(e)}\n{line}\n\n" for i, ((s, e), line) in pairs)


def _wait(driver, condition, what: str, seconds: float = 20.0):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = driver.execute_script(condition)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"the page never showed {what}")


def _review_in_browser(out: Path, shots: Path | None) -> dict:
    """Serve OUT with dubkit review; edit zh line 1, approve line 2, comment on line 3, save."""
    from dubkit.jobs.review import ReviewServer

    with ReviewServer(out) as server, chromium() as driver:
        driver.get(server.url)
        _wait(driver, "return document.body.dataset.reviewReady", "its review buttons")
        row = {n: driver.find_element("css selector", f'tr[data-lang="zh"][data-line="{n}"]') for n in (1, 2, 3)}
        row[2].find_element("css selector", "button.play").click()
        played = _wait(driver, "var v = document.getElementById('video-zh'); return v.paused && "
                               f"v.currentTime >= {TIMES[1][1]} ? [v.currentTime, v.error] : null", "playback")
        driver.find_element("id", "rv-name").send_keys("Mei")
        row[1].find_element("css selector", 'button[data-act="edit"]').click()
        box = row[1].find_element("css selector", ".rv-edit textarea")
        box.clear()
        box.send_keys(EDIT)
        row[1].find_element("css selector", 'button[data-act="edit-ok"]').click()
        row[2].find_element("css selector", 'button[data-act="approve"]').click()
        row[3].find_element("css selector", 'button[data-act="comment"]').click()
        row[3].find_element("css selector", ".rv-comment input").send_keys(COMMENT)
        row[3].find_element("css selector", 'button[data-act="comment-ok"]').click()
        if shots:
            driver.execute_script("arguments[0].scrollIntoView()", row[1])
            _shoot(driver, shots / "review-decisions.png")
        driver.find_element("id", "rv-save").click()
        _wait(driver, "return document.getElementById('rv-status').textContent.startsWith('Saved')", "'Saved'")
        approved_seed = int(row[2].get_attribute("data-seed"))
    return {"approved_seed": approved_seed, "played": played}


def _shoot(driver, path: Path) -> None:
    """A screenshot for the docs, as a 256-colour PNG (a fifth of the size, same look for a page)."""
    from PIL import Image

    driver.save_screenshot(str(path))
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def _font_of(driver, selector: str) -> list[dict]:
    """The fonts Chromium used to draw the element's text (DevTools: CSS.getPlatformFontsForNode)."""
    driver.execute_cdp_cmd("DOM.enable", {})
    driver.execute_cdp_cmd("CSS.enable", {})
    root = driver.execute_cdp_cmd("DOM.getDocument", {})["root"]["nodeId"]
    node = driver.execute_cdp_cmd("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    return driver.execute_cdp_cmd("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]


def _look(out: Path, shots: Path | None) -> dict:
    """The reviewed report in the browser: the fonts of a zh line, and a screenshot for the docs."""
    with chromium() as driver:
        driver.get((out / "report.html").as_uri())
        fonts = _font_of(driver, 'tr[data-lang="zh"][data-line="3"] td.script')
        if shots:
            _shoot(driver, shots / "report-summary.png")
            row = driver.find_element("css selector", 'tr[data-lang="zh"][data-line="1"]')
            driver.execute_script("arguments[0].scrollIntoView()", row)
            _shoot(driver, shots / "report-lines.png")
    return {"fonts": fonts}


@pytest.fixture(scope="module")
def loop(tmp_path_factory, recognizer):
    from dubkit.engines.preview import PreviewEngine
    from dubkit.options import LocalizeOptions
    from dubkit.pipeline import localize

    tmp = tmp_path_factory.mktemp("review")
    scripts, out = tmp / "scripts", tmp / "out"
    scripts.mkdir()
    (scripts / "ad.en.srt").write_text(_srt(ENGLISH), "utf-8")
    (scripts / "ad.zh.srt").write_text(_srt(CHINESE), "utf-8")
    shots = Path(os.environ["DUBKIT_SCREENSHOTS"]) if os.environ.get("DUBKIT_SCREENSHOTS") else None
    options = LocalizeOptions(source=EXAMPLE, languages="zh", out=out, source_script=scripts / "ad.en.srt",
                              scripts_dir=scripts, engine="preview")
    record: dict = {"out": out, "logs": []}

    def run(**changes):
        log = tmp / f"calls{len(record['logs'])}.log"
        result = localize(LocalizeOptions(**{**options.__dict__, **changes}),
                          engine=CountingEngine(PreviewEngine(), log), recognizer=recognizer)
        record["logs"].append([e for e in read_log(log) if e["event"] == "done"])
        return json.loads(result.report_json.read_text("utf-8"))

    t0 = time.perf_counter()
    record["first"] = run()
    record.update(_review_in_browser(out, shots))
    record["review"] = json.loads((out / "review.json").read_text("utf-8"))
    record["second"] = run()
    record["srt"] = (out / "ad.zh.srt").read_text("utf-8")
    record.update(_look(out, shots))
    record["forced"] = run(force=True, retakes=("zh:3",))  # one run for both: the CI budget is small
    record["seconds"] = time.perf_counter() - t0
    return record


def _windows(report: dict) -> dict[int, dict]:
    return {w["index"]: w for w in report["languages"]["zh"]["windows"]}


def test_the_browser_saves_the_decisions_to_review_json(loop):
    review = loop["review"]
    zh = review["languages"]["zh"]
    assert review["review_version"] == 1
    assert zh["script_sha256"] == loop["first"]["languages"]["zh"]["script_sha256"]
    assert zh["lines"]["1"]["decision"] == "edit" and zh["lines"]["1"]["text"] == EDIT
    assert zh["lines"]["1"]["by"] == "Mei" and zh["lines"]["1"]["at"].endswith("Z")
    assert zh["lines"]["2"] == {**zh["lines"]["2"], "decision": "approve", "take": 1, "seed": loop["approved_seed"]}
    assert zh["lines"]["3"]["comment"] == COMMENT and "decision" not in zh["lines"]["3"]


def test_the_play_button_plays_the_lines_span_of_the_delivered_video(loop):
    stopped_at, error = loop["played"]
    assert error is None and TIMES[1][1] <= stopped_at < TIMES[1][1] + 0.5


def test_the_first_run_renders_every_window_once(loop):
    assert sorted(e["window"] for e in loop["logs"][0]) == [0, 1, 2]


def test_after_the_review_exactly_the_edited_lines_window_is_rendered_again(loop):
    assert [e["window"] for e in loop["logs"][1]] == [0]


def test_the_edit_reaches_the_delivered_subtitles_and_the_reviewed_script(loop):
    assert EDIT in loop["srt"] and CHINESE[0] not in loop["srt"]
    reviewed = (loop["out"] / "ad.zh.reviewed.srt").read_text("utf-8")
    assert EDIT in reviewed and CHINESE[1] in reviewed
    line = loop["second"]["languages"]["zh"]["lines"][0]
    assert line["text"] == EDIT and line["edited_from"] == CHINESE[0] and line["review"]["by"] == "Mei"


def test_the_approved_take_is_kept_and_pinned(loop):
    before, after = _windows(loop["first"])[1], _windows(loop["second"])[1]
    assert after["pinned"] is True and after["seed"] == before["seed"] == loop["approved_seed"]
    assert after["attempts"][0]["render_key"] == before["attempts"][0]["render_key"]


def test_force_renders_everything_but_the_approved_take(loop):
    assert 1 not in {e["window"] for e in loop["logs"][2]}
    assert sorted(e["window"] for e in loop["logs"][2]) == [0, 2, 2]  # line 3's window: again, and its retake
    assert _windows(loop["forced"])[1]["pinned"] is True


def test_retake_shortcut_renders_that_lines_window_with_the_next_seed_and_keeps_the_first_take(loop):
    window = _windows(loop["forced"])[2]
    assert [a["number"] for a in window["attempts"]] == [1, 2]
    assert window["chosen_attempt"] == 2 and window["seed"] == loop["logs"][2][-1]["seed"]
    assert window["attempts"][0]["seed"] == _windows(loop["first"])[2]["seed"] != window["seed"]


def test_comments_and_edits_appear_in_the_next_report(loop):
    html = (loop["out"] / "report.html").read_text("utf-8")
    assert COMMENT in html and "edited by Mei" in html and CHINESE[0] in html


def test_cjk_lines_are_drawn_with_a_cjk_font_not_boxes(loop):
    """Chromium reports which font drew each glyph run: the Chinese must come from a CJK font
    (Debian: fonts-noto-cjk), not from a Latin one (boxes)."""
    fonts = loop["fonts"]
    cjk = [f for f in fonts if any(k in f["familyName"] for k in ("CJK", "Han", "Hei", "Gothic", "Ming", "Song"))]
    assert cjk, f"no CJK font drew the zh line (install fonts-noto-cjk); Chromium used {fonts}"
    assert sum(f["glyphCount"] for f in cjk) >= len("醒来更美好")


def _fingerprint(out: Path) -> dict:
    return {str(p.relative_to(out)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(out.rglob("*"))
            if p.is_file() and p.name != ".dubkit.lock"}


def _bad(loop, lines: dict | None = None, *, languages: dict | None = None, text: str | None = None) -> dict:
    """A review like the saved one with `lines` for zh (or other `languages`, or a raw `text`); its
    script hash is the one of the script the last run used, so only the named change is wrong."""
    script = {"script_sha256": loop["forced"]["languages"]["zh"]["script_sha256"], "lines": lines or {}}
    return {"text": text} if text is not None else {**loop["review"], "languages": languages or {"zh": script}}


BAD_REVIEWS = {
    "a language the run lacks": ({"languages": {"ko": {"script_sha256": "0" * 64, "lines": {}}}}, "language ko"),
    "a missing line": ({"lines": {"9": {"comment": "x"}}}, "zh line 9"),
    "a stale script hash": ({"languages": {"zh": {"script_sha256": "0" * 64, "lines": {}}}}, "stale review"),
    "an unknown decision": ({"lines": {"2": {"decision": "reject"}}}, "zh line 2"),
    "an edit without text": ({"lines": {"3": {"decision": "edit", "text": " "}}}, "zh line 3"),
    "an approval of another seed": ({"lines": {"3": {"decision": "approve", "take": 1, "seed": 7}}}, "zh line 3"),
    "not JSON": ({"text": "{review"}, "not JSON"),
}


@pytest.mark.parametrize("case", sorted(BAD_REVIEWS))
def test_a_bad_review_entry_exits_2_naming_it_and_changes_nothing(loop, tmp_path, case):
    from click.testing import CliRunner

    from cli import main

    change, words = BAD_REVIEWS[case]
    doc = _bad(loop, **change)
    path = tmp_path / "review.json"
    path.write_text(doc["text"] if "text" in doc else json.dumps(doc, ensure_ascii=False), "utf-8")
    out, scripts = loop["out"], loop["out"].parent / "scripts"
    before = _fingerprint(out)
    result = CliRunner().invoke(main, ["localize", str(EXAMPLE), "--to", "zh", "-o", str(out), "--engine", "preview",
                                       "--source-script", str(scripts / "ad.en.srt"), "--scripts", str(scripts),
                                       "--review", str(path)])
    assert result.exit_code == 2, result.output
    assert words in result.output and str(path) in result.output
    assert _fingerprint(out) == before


@pytest.mark.parametrize("flag, value, words", [("--retake", "zh:9", "no such line"), ("--retake", "zh3", "LANG:LINE"),
                                                ("--unpin", "zh:3", "no take of line 3"),
                                                ("--retake", "xx:1", "--retake 'xx:1'")])
def test_a_bad_retake_or_unpin_exits_2_naming_it(loop, flag, value, words):
    from click.testing import CliRunner

    from cli import main

    out, scripts = loop["out"], loop["out"].parent / "scripts"
    before = _fingerprint(out)
    result = CliRunner().invoke(main, ["localize", str(EXAMPLE), "--to", "zh", "-o", str(out), "--engine", "preview",
                                       "--source-script", str(scripts / "ad.en.srt"), "--scripts", str(scripts),
                                       flag, value])
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert _fingerprint(out) == before
