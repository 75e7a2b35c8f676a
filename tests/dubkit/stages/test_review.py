"""Stage 4b, review: decisions read, checked and applied to a language's script before rendering."""
import json
import re

import numpy as np
import pytest

from dubkit.errors import ReviewError
from dubkit.stages.plan import Plan, assign_lines, plan_windows
from dubkit.stages.render import window_seed
from dubkit.stages.review import (
    ReviewSettings,
    apply_review,
    parse_line_refs,
    parse_review,
    read_review,
    reviewed_script_path,
    script_digest,
)
from dubkit.stages.translate import LanguageScript
from eval.types import Cue
from langs import get_language

# Windows 0 and 1: line 1 alone, lines 2 and 3 together (0.3 s apart, under plan.JOIN_GAP).
CUES = (Cue("美好的一天。", 0.3, 2.3), Cue("日出咖啡。", 3.1, 4.4), Cue("醒来。", 4.7, 6.0))


@pytest.fixture
def job(tmp_path):
    windows = plan_windows(CUES, duration=8.0, fps=25.0)
    plan = Plan(cuts=(), windows=windows, references={w.index: np.zeros((4, 4, 3), np.uint8) for w in windows},
                width=4, height=4)
    script = LanguageScript(language=get_language("zh"), cues=CUES, origin="script:ad.zh.srt", glossary_violations=(),
                            timing_overflows=(), per_window=assign_lines(windows, CUES))
    return {"plan": plan, "scripts": {"zh": script}, "out": tmp_path}


def _review(lines: dict, digest: str | None = None) -> dict:
    return {"review_version": 1, "languages": {"zh": {"script_sha256": digest or script_digest(CUES), "lines": lines}}}


def _apply(job, doc: dict | None, **flags):
    review = parse_review(doc, "review.json") if doc is not None else None
    settings = ReviewSettings(review=review, out=job["out"], stem="ad", base_seed=0,
                              retakes=parse_line_refs(flags.get("retakes", ()), "--retake"),
                              unpins=parse_line_refs(flags.get("unpins", ()), "--unpin"))
    return apply_review(job["scripts"], job["plan"], settings)


def test_the_plan_has_two_windows():
    assert len(plan_windows(CUES, duration=8.0, fps=25.0)) == 2


def test_an_edit_replaces_the_line_and_writes_the_reviewed_script(job):
    done = _apply(job, _review({"3": {"decision": "edit", "text": "早上好。", "by": "Mei"}}))
    assert [c.text for c in done.scripts["zh"].cues] == ["美好的一天。", "日出咖啡。", "早上好。"]
    assert [c.text for c in done.scripts["zh"].per_window[1]] == ["日出咖啡。", "早上好。"]
    assert done.edited_from["zh"] == {3: "醒来。"}
    assert "早上好。" in reviewed_script_path(job["out"], "ad", "zh").read_text("utf-8")
    assert done.scripts["zh"].origin.startswith("reviewed:")


def test_the_reviewed_script_is_used_from_then_on_and_the_same_review_is_not_stale(job):
    doc = _review({"1": {"decision": "edit", "text": "早安。"}})
    _apply(job, doc)
    again = _apply(job, doc)  # the script is now the reviewed one; the review's edit is already in it
    assert again.scripts["zh"].cues[0].text == "早安。" and again.written == {}
    without = _apply(job, None)
    assert without.scripts["zh"].cues[0].text == "早安。"


def test_a_retake_asks_for_the_take_after_those_the_reviewer_saw(job):
    done = _apply(job, _review({"2": {"decision": "retake", "take": 1, "takes": 1}}))
    assert done.takes["zh"][1].new_take == 2 and 0 not in done.takes["zh"]


def test_an_approval_pins_its_window_and_unpin_releases_it(job):
    seed = window_seed(0, 0, "zh", 1)
    doc = _review({"1": {"decision": "approve", "take": 1, "seed": seed}})
    assert _apply(job, doc).takes["zh"][0].pinned == 1
    assert 0 not in _apply(job, doc, unpins=("zh:1",)).takes["zh"]


def test_the_retake_shortcut_asks_for_one_take_more(job):
    assert _apply(job, None, retakes=("zh:3",)).takes["zh"][1].one_more


@pytest.mark.parametrize("lines, words", [
    ({"2": {"decision": "approve", "take": 1, "seed": window_seed(0, 1, "zh", 1)},
      "3": {"decision": "edit", "text": "早上好。"}},
     "zh line 2: approves take 1 of window 1, but review.json: zh line 3"),
    ({"2": {"decision": "approve", "take": 1, "seed": 12}}, "zh line 2: stale approval"),
    ({"4": {"comment": "x"}}, "zh line 4: no such line (zh has 3 lines)"),
])
def test_contradictions_and_missing_lines_are_refused_before_anything_is_written(job, lines, words):
    with pytest.raises(ReviewError, match=words.replace("(", r"\(").replace(")", r"\)")):
        _apply(job, _review(lines))
    assert not reviewed_script_path(job["out"], "ad", "zh").exists()


def test_a_stale_review_is_refused(job):
    with pytest.raises(ReviewError, match="zh: stale review"):
        _apply(job, _review({"1": {"comment": "ok"}}, digest="0" * 64))


@pytest.mark.parametrize("doc, words", [
    ({"review_version": 2, "languages": {}}, "review_version 1 expected"),
    ({"review_version": 1, "languages": {"xx": {}}}, "language 'xx'"),
    ({"review_version": 1, "languages": {"zh": {"lines": {}}}}, "needs script_sha256"),
    (_review({"one": {"comment": "x"}}), "zh line one: a line is named by its number"),
    (_review({"1": {"decision": "approve", "take": 1}}), "zh line 1: approve needs seed"),
    (_review({"1": {"decision": "edit", "text": "x", "colour": "red"}}), "unknown field(s) colour"),
    ({**_review({}), "reviewr": "Mei"}, "review.json: unknown field(s) reviewr"),
    ({"review_version": 1, "languages": {"zh": {"script_sha256": "x", "line": {}}}}, "zh: unknown field(s) line"),
    (_review({"1": {}}), "neither a decision nor a comment"),
    (_review({"1": {"decision": "retake", "take": True, "takes": 1}}), "take must be a whole number"),
])
def test_a_malformed_review_names_the_entry(doc, words):
    with pytest.raises(ReviewError, match=re.escape(words)):
        parse_review(doc, "review.json")


def test_a_review_file_that_is_not_json_is_named(tmp_path):
    path = tmp_path / "review.json"
    path.write_text("{", "utf-8")
    with pytest.raises(ReviewError, match=f"review {path} is not JSON"):
        read_review(path)
    path.write_text(json.dumps(_review({})), "utf-8")
    assert read_review(path).scripts["zh"] == script_digest(CUES)
