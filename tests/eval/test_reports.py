"""The JSON report (its documented schema) and the HTML report (verdict, table, diffs, chart)."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from eval.errors import EvalError
from eval.gate import gate
from eval.report_html import render_html, write_html
from eval.report_json import report_dict, write_json
from eval.types import Cue, Transcript, TranscriptSegment, Word


def _heard(*words, language="en"):
    ws = tuple(Word(t, s, e, 0.9) for t, s, e in words)
    segment = TranscriptSegment(ws[0].start, ws[-1].end, "".join(w.text for w in ws), ws)
    return Transcript(language, 6.0, (segment,), "base")


@pytest.fixture
def result():
    transcript = _heard((" Hello", 0.5, 0.9), (" their.", 0.9, 1.3), (" How", 3.0, 3.2), (" are", 3.2, 3.4),
                        (" you", 3.4, 3.8), (" today?", 3.8, 4.2))
    cues = [Cue("Hello there.", 0.0, 2.0, "ANNA"), Cue("How are <you>?", 2.5, 5.0)]
    return replace(gate(cues, transcript, "en"), media="ad.en.mp4", script="ad.en.srt")


def test_the_json_report_has_the_documented_top_level_fields(result):
    data = report_dict(result)
    assert {"language", "metric", "error_rate", "threshold", "passed", "segments"} <= set(data)
    assert data["language"] == "en" and data["metric"] == "wer"
    assert data["error_rate"] == pytest.approx(2 / 5) and data["passed"] is False
    assert data["model"] == "base" and data["media"] == "ad.en.mp4" and data["schema_version"] == 1
    assert (data["whole"]["hits"], data["whole"]["substitutions"], data["whole"]["insertions"]) == (4, 1, 1)


def test_each_json_segment_has_times_texts_rate_and_alignment(result):
    first, second = report_dict(result)["segments"]
    assert (first["start"], first["end"]) == (0.0, 2.0)
    assert first["reference"] == "Hello there." and first["hypothesis"] == "Hello their."
    assert first["error_rate"] == pytest.approx(0.5)
    assert first["alignment"] == [{"op": "equal", "ref": "hello", "hyp": "hello"},
                                  {"op": "substitute", "ref": "there", "hyp": "their"}]
    assert second["insertions"] == 1 and second["passed"] is False


def test_the_json_file_is_written_atomically_and_reads_back(tmp_path, result):
    out = write_json(result, tmp_path / "r.json")
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(json.dumps(report_dict(result)))
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_writing_into_a_missing_folder_is_a_named_error(tmp_path, result):
    with pytest.raises(EvalError, match="nowhere"):
        write_json(result, tmp_path / "nowhere" / "r.json")


def test_the_html_report_puts_the_verdict_first(result):
    html = render_html(result)
    assert html.index("FAILED") < html.index("<table")
    assert "40.0 %" in html and "ad.en.mp4" in html
    passed = render_html(replace(result, threshold=0.5))
    assert "PASSED" in passed and "FAILED" not in passed


def test_the_html_report_highlights_the_differences_word_by_word(result):
    html = render_html(result)
    assert '<span class="sub"><del>there</del><ins>their</ins></span>' in html
    assert "<ins>today</ins>" in html


def test_the_html_report_has_a_chart_with_a_bar_per_line_and_the_threshold(result):
    html = render_html(result)
    svg = html[html.index("<svg"): html.index("</svg>")]
    assert svg.count("<rect") == 2 and "threshold" in svg


def test_script_text_is_escaped_in_the_html(result):
    html = render_html(result)
    assert "How are &lt;you&gt;?" in html and "<you>" not in html


def test_mandarin_differences_are_shown_character_by_character():
    transcript = _heard(("我是", 0.1, 0.5), ("中國", 0.5, 0.9), ("仁", 0.9, 1.2), language="zh")
    html = render_html(gate([Cue("我是中国人", 0.0, 2.0)], transcript, "zh"))
    assert "我是中国<span class=\"sub\"><del>人</del><ins>仁</ins></span>" in html


def test_the_html_file_is_written_atomically(tmp_path, result):
    out = write_html(result, tmp_path / "r.html")
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_a_report_folder_that_refuses_new_files_is_an_eval_error_naming_the_path():
    from pathlib import Path

    from eval.errors import EvalError
    from eval.report_json import write_text_atomic

    with pytest.raises(EvalError, match="/proc/report.json"):
        write_text_atomic(Path("/proc/report.json"), "{}")  # /proc exists but takes no new files, even for root


def test_a_pass_within_five_points_of_the_threshold_is_a_borderline_pass(result):
    from eval.report_page import verdict_of

    badge = '<span class="verdict borderline">borderline pass</span>'
    assert badge in render_html(replace(result, threshold=0.42))  # 0.40 against 0.42
    assert badge not in render_html(replace(result, threshold=0.5))
    assert [verdict_of(True, 0.343, 0.35), verdict_of(True, 0.29, 0.35), verdict_of(False, 0.36, 0.35)] == [
        "borderline", "pass", "fail"]


def test_the_html_report_says_lower_is_better_and_tags_the_language_of_each_line(result):
    html = render_html(result)
    assert "lower is better" in html and '<td lang="en" class="script">' in html
    chinese = render_html(gate([Cue("我是中國人", 0.0, 2.0)], _heard(("我是中国仁", 0.1, 1.5), language="zh"), "zh"))
    assert '<td lang="zh-Hans" class="heard">我是中国仁</td>' in chinese
    assert '"Noto Sans CJK SC"' in chinese  # the stylesheet's CJK font stack, not escaped
