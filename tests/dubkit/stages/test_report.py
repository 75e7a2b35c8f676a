"""The job report: JSON fields a machine reads, HTML a person reads, written atomically."""
import json

import numpy as np

from dubkit.adapters.images import thumbnail_uri
from dubkit.stages.deliver import LanguageSummary
from dubkit.stages.render import Attempt, WindowOutcome
from dubkit.stages.report import build_report, render_html, write_report


def _attempt(number, seed, error, passed, heard="ni hao"):
    return Attempt(number=number, seed=seed, passed=passed, error_rate=error, metric="cer", threshold=0.3,
                   heard=heard, reference="你好", render_key=f"k{number}", seconds_render=1.5, seconds_gate=0.5,
                   cached=number == 1, info={"prompt": "A woman says ...", "seed": seed})


def _summary(passed=True, thumb=True, line="你好 <b>Acme</b>"):
    outcome = WindowOutcome(window_index=0, language="zh", start=0.2, end=3.0, lines=(line,),
                            attempts=(_attempt(1, 11, 0.6, False), _attempt(2, 22, 0.1, True)), chosen=1)
    frame = np.zeros((48, 64, 3), np.uint8)
    return LanguageSummary(language="zh", passed=passed, outcomes=(outcome,), script_origin="script:ad.zh.srt",
                           thumbnails={0: thumbnail_uri(frame)} if thumb else {},
                           reasons=() if passed else ("glossary term missing",))


def _job(preview=True):
    return {"source": {"path": "ad.mp4", "duration": 8.0, "width": 384, "height": 384, "fps": 25.0},
            "engine": {"name": "preview" if preview else "magihuman", "preview": preview,
                       "reason": "no CUDA device", "identity": {"checkpoints": {"distill/model.safetensors": "ab12"}}},
            "seed": 3, "options": {"max_attempts": 3}}


def test_json_has_every_attempt_with_seeds_and_the_chosen_one():
    report = build_report(_job(), [_summary()])
    window = report["languages"]["zh"]["windows"][0]
    assert report["verdict"] == "pass" and report["passed"] is True
    assert [a["seed"] for a in window["attempts"]] == [11, 22]
    assert window["chosen_attempt"] == 2 and window["seed"] == 22 and window["error_rate"] == 0.1
    assert window["attempts"][0]["info"]["prompt"].startswith("A woman")
    assert window["thumbnail"].startswith("data:image/jpeg;base64,")
    assert report["versions"]["python"] and "numpy" in report["versions"]
    assert report["engine"]["identity"]["checkpoints"]


def test_one_failing_language_fails_the_job():
    report = build_report(_job(), [_summary(), _summary(passed=False)])
    assert report["verdict"] == "fail" and report["passed"] is False


def test_html_shows_preview_label_verdicts_thumbnails_and_escapes_text():
    html = render_html(build_report(_job(), [_summary(passed=False)]))
    assert "PREVIEW" in html and "FAIL" in html
    assert 'class="thumb" src="data:image/jpeg;base64,' in html
    assert "&lt;b&gt;Acme&lt;/b&gt;" in html and "<b>Acme</b>" not in html
    assert "seed 11" in html and "seed 22" in html


def test_html_of_a_generated_render_has_no_preview_label():
    html = render_html(build_report(_job(preview=False), [_summary(thumb=False)]))
    assert "PREVIEW" not in html


def test_html_names_the_sampling_recipe_and_labels_an_experimental_one():
    from dataclasses import replace

    from model.recipe import RecipeChoice

    summary = _summary(thumb=False)
    recipe = RecipeChoice(a2v_distill_experimental=True).recipe(voice=True).facts()
    outcome = summary.outcomes[0]
    attempts = tuple(replace(a, info={**a.info, "recipe": recipe}) for a in outcome.attempts)
    summary = replace(summary, outcomes=(replace(outcome, attempts=attempts),))
    html = render_html(build_report(_job(preview=False), [summary]))
    assert "Sampling recipes: a2v distill 8 cfg1 (1 window; experimental: distilled A2V" in html
    assert "Sampling recipes" not in render_html(build_report(_job(), [_summary()]))  # the preview has none


def test_write_report_writes_both_files_atomically(tmp_path):
    (tmp_path / "report.json").write_text("old")
    json_path, html_path = write_report(build_report(_job(), [_summary()]), tmp_path)
    assert json.loads(json_path.read_text())["verdict"] == "pass"
    assert html_path.read_text().startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.json"]


def test_thumbnail_keeps_the_aspect_ratio():
    import base64
    import io

    from PIL import Image

    uri = thumbnail_uri(np.full((90, 160, 3), 200, np.uint8), width=80)
    image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert image.size == (80, 45)


def test_the_page_puts_the_summary_first_and_the_job_facts_folded_last_without_a_json_dump():
    html = render_html(build_report(_job(), [_summary(passed=False)]))
    assert html.index('class="summary"') < html.index('class="lines"') < html.index('<details id="facts">')
    assert "lower is better" in html and '"checkpoints"' not in html and "<pre" not in html
    assert "distill/model.safetensors" in html  # the model hash is among the facts


def test_each_line_has_its_timecode_lang_take_and_review_buttons():
    html = render_html(build_report(_job(), [_summary()]))
    assert 'data-lang="zh" data-line="1" data-take="2" data-seed="22" data-takes="2"' in html
    assert '<td lang="zh-Hans" class="script">' in html and 'data-act="approve"' in html
    assert "take 2, seed 22" in html and "1 (seed 11, 60.0 %)" in html


def test_a_failing_preview_language_on_espeak_ng_says_what_to_do():
    report = build_report(_job(), [_summary(passed=False)])
    report["languages"]["zh"]["reasons"] = ["window 0.20-3.00 s failed the speech gate: CER 0.60 > 0.30"]
    html = render_html(report)
    assert "--voice-track zh=FILE" in html and "magihuman engine" in html


def test_each_window_says_lip_sync_or_voice_only_and_links_its_mask_thumbnail(tmp_path):
    from PIL import Image

    job = {**_job(preview=False), "windows": [
        {"index": 0, "start": 0.2, "end": 3.0, "lipsync": {"picture": "lip-sync", "reason": "face in 4/4 frames"}},
        {"index": 1, "start": 3.2, "end": 5.0, "lipsync": {"picture": "voice-only", "reason": "no face in 4 frames"}},
    ]}
    masks = {0: np.full((48, 64, 3), 200, np.uint8), 1: np.full((48, 64, 3), 50, np.uint8)}
    json_path, html_path = write_report(build_report(job, [_summary()]), tmp_path, masks)
    windows = json.loads(json_path.read_text())["windows"]
    assert [w["lipsync"]["mask"] for w in windows] == ["report-masks/window-0.png", "report-masks/window-1.png"]
    assert Image.open(tmp_path / "report-masks" / "window-1.png").size == (160, 120)
    html = html_path.read_text()
    assert '<a href="report-masks/window-0.png"><img class="mask" src="report-masks/window-0.png"' in html
    assert "<b>lip-sync</b>" in html and "face in 4/4 frames" in html
