"""The render + gate + retry loop with the real preview engine and the packaged Whisper base.

The engine is wrapped only to count calls (and, for the retry tests, to declare that it takes a
seed, as magihuman does): the audio and the gate are real.
"""
import pytest

from dubkit.engines.base import WindowRequest
from dubkit.engines.preview import PreviewEngine
from dubkit.stages.render import (
    RenderSettings,
    load_chosen_render,
    run_window,
    speech_gate,
    window_seed,
)
from dubkit.store.cache import StageCache
from eval.asr import LazyRecognizer
from eval.types import Cue
from langs import get_language
from tests.dubkit.counting_engine import CountingEngine, read_log

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def recognizer():
    from eval.asr import Recognizer

    return Recognizer()


def _request(code: str, text: str) -> WindowRequest:
    return WindowRequest(index=0, start=1.0, end=3.6, language=get_language(code),
                         lines=(Cue(text, 1.2, 3.4),), seed=0)


def _run(engine, recognizer, cache, code="en", text="Fresh coffee every morning.", threshold=None, attempts=3,
         bed=None):
    lang = get_language(code)
    settings = RenderSettings(engine=engine, cache=cache, max_attempts=attempts, base_seed=7,
                              context={"source": "test"}, **({"bed": bed} if bed is not None else {}))
    return run_window(settings, _request(code, text), speech_gate(LazyRecognizer(recognizer=recognizer), lang,
                                                                 threshold))


class _Seeded(CountingEngine):
    uses_seed = True  # as magihuman: the loop must try new seeds on failure


def test_seeds_are_deterministic_and_differ_per_attempt_window_and_language():
    assert window_seed(7, 0, "zh", 1) == window_seed(7, 0, "zh", 1)
    seeds = {window_seed(7, w, lang, a) for w in range(3) for lang in ("zh", "ko") for a in range(1, 4)}
    assert len(seeds) == 18
    assert window_seed(8, 0, "zh", 1) != window_seed(7, 0, "zh", 1)


def test_a_passing_window_stops_at_the_first_attempt_and_is_cached(tmp_path, recognizer):
    engine = CountingEngine(PreviewEngine(), tmp_path / "calls.log")
    cache = StageCache(tmp_path)
    outcome = _run(engine, recognizer, cache, threshold=1.0)
    assert outcome.passed and len(outcome.attempts) == 1
    assert outcome.chosen_attempt.heard and not outcome.chosen_attempt.cached
    again = _run(engine, recognizer, cache, threshold=1.0)
    assert engine.calls == 1  # the second run took render and verdict from the cache
    assert again.chosen_attempt.cached and again.chosen_attempt.heard == outcome.chosen_attempt.heard
    render = load_chosen_render(cache, again)
    assert render.audio.shape[0] == round(2.6 * render.sample_rate)


def test_a_failing_window_is_retried_with_new_seeds_and_every_attempt_is_kept(tmp_path, recognizer):
    engine = _Seeded(PreviewEngine(), tmp_path / "calls.log")
    outcome = _run(engine, recognizer, StageCache(tmp_path), code="zh", text="每天早上新鲜咖啡。", threshold=0.0)
    assert not outcome.passed
    assert [a.number for a in outcome.attempts] == [1, 2, 3]
    assert len({a.seed for a in outcome.attempts}) == 3
    assert [e["seed"] for e in read_log(tmp_path / "calls.log") if e["event"] == "start"] == [
        a.seed for a in outcome.attempts]
    assert outcome.chosen_attempt.error_rate == min(a.error_rate for a in outcome.attempts)
    assert all(a.metric == "cer" and a.threshold == 0.0 for a in outcome.attempts)


def test_a_seed_independent_engine_is_not_rendered_again_for_nothing(tmp_path, recognizer):
    engine = CountingEngine(PreviewEngine(), tmp_path / "calls.log")
    outcome = _run(engine, recognizer, StageCache(tmp_path), code="zh", text="每天早上新鲜咖啡。", threshold=0.0)
    assert not outcome.passed and len(outcome.attempts) == 1 and engine.calls == 1


def test_a_new_threshold_rescores_without_rendering_again(tmp_path, recognizer):
    engine = CountingEngine(PreviewEngine(), tmp_path / "calls.log")
    cache = StageCache(tmp_path)
    strict = _run(engine, recognizer, cache, code="zh", text="每天早上新鲜咖啡。", threshold=0.0)
    lenient = _run(engine, recognizer, cache, code="zh", text="每天早上新鲜咖啡。", threshold=1.0)
    assert engine.calls == 1
    assert not strict.passed and lenient.passed and lenient.chosen_attempt.threshold == 1.0


def test_force_renders_again(tmp_path, recognizer):
    engine = CountingEngine(PreviewEngine(), tmp_path / "calls.log")
    _run(engine, recognizer, StageCache(tmp_path), threshold=1.0)
    _run(engine, recognizer, StageCache(tmp_path, enabled=False), threshold=1.0)
    assert engine.calls == 2


def test_a_damaged_cache_entry_is_rendered_again_not_trusted(tmp_path, recognizer):
    engine = CountingEngine(PreviewEngine(), tmp_path / "calls.log")
    _run(engine, recognizer, StageCache(tmp_path), threshold=1.0)
    for npz in (tmp_path / ".dubkit-cache" / "render").glob("*.npz"):
        npz.unlink()
    outcome = _run(engine, recognizer, StageCache(tmp_path), threshold=1.0)
    assert engine.calls == 2 and not outcome.chosen_attempt.cached
    assert load_chosen_render(StageCache(tmp_path), outcome).audio.size


def test_a_stem_twenty_db_louder_than_the_speech_fails_in_the_gate(tmp_path, recognizer):
    """The gate hears the window as delivered: speech buried under the M&E stem fails there, as the
    delivered-file check used to catch, while the same render over silence passes."""
    import numpy as np
    import scipy.io.wavfile

    from dubkit.stages.mix import SAMPLE_RATE, Bed

    speech = PreviewEngine().render(_request("en", "Fresh coffee every morning.")).audio
    level = float(np.sqrt(np.mean(speech**2))) * 10 ** (20 / 20)  # 20 dB above the speech
    noise = np.random.default_rng(0).standard_normal((4 * SAMPLE_RATE, 2)) * level
    scipy.io.wavfile.write(tmp_path / "me.wav", SAMPLE_RATE, noise.astype(np.float32))
    engine = CountingEngine(PreviewEngine(), tmp_path / "calls.log")
    clear = _run(engine, recognizer, StageCache(tmp_path), threshold=0.5)
    buried = _run(engine, recognizer, StageCache(tmp_path), threshold=0.5,
                  bed=Bed(tmp_path / "me.wav", ducked=False, digest="loud stem"))
    assert clear.passed and not buried.passed, (clear.chosen_attempt.heard, buried.chosen_attempt.heard)
    assert engine.calls == 1  # one render, scored in two mixes
