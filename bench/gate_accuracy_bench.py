"""Does a faster gate hear the same? The gate's error rates on the tests' real speech, per recogniser setup.

    python bench/gate_accuracy_bench.py

Clips: each LibriVox English utterance, the Asterisk French prompts and the Mandarin sentences the tests
use (tests/speech_data.py), plus the preview engine's voice-over of the example's ja, ko and zh lines
(the windows the localize bench gates). Each clip is scored by the gate (eval.gate, the lines as one text,
as stages/render.py scores a window) under each setup:

  reference  word timestamps on, CTranslate2's default thread count (the gate before this change)
  fast       word timestamps off, one thread per usable core (the gate now)

and the largest change of any clip's error rate is reported (goal: at most 0.01), with the recognition
time of each setup. Prints the machine it ran on.
"""
from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from eval.asr import Recognizer, usable_cores  # noqa: E402
from eval.gate import gate  # noqa: E402
from langs import get_language  # noqa: E402
from tests import speech_data  # noqa: E402

SETUPS = {"reference": {"words": True, "threads": None}, "fast": {"words": False, "threads": 0}}


def clips() -> list[tuple[str, str, str, np.ndarray]]:
    """(name, language, reference text, 16 kHz mono samples)."""
    out = [(f"en {key[-4:]}", "en", u.text, u.audio) for key, u in speech_data.librivox().items()]
    out += [(f"fr {u.text[:12]}", "fr", u.text, u.audio)
            for u in speech_data.asterisk_fr(["agent-loginok", "check-number-dial-again", "conf-getpin"])]
    out += [(f"zh {s}", "zh", s, speech_data.mandarin(s).audio) for s in ["我是中国人", "今天天气很好", "欢迎光临"]]
    return out + preview_windows()


def preview_windows() -> list[tuple[str, str, str, np.ndarray]]:
    from dubkit.adapters.subtitles import read_script
    from dubkit.engines.base import WindowRequest
    from dubkit.engines.preview import PreviewEngine
    from dubkit.stages.render import to_asr_audio

    engine, out = PreviewEngine(), []
    for code in ("ja", "ko", "zh"):
        cues = tuple(read_script(REPO / "examples" / f"ad.{code}.srt").cues)
        render = engine.render(WindowRequest(0, 0.2, 7.75, get_language(code), cues, seed=0))
        out.append((f"{code} preview window", code, " ".join(c.text for c in cues),
                    to_asr_audio(render.audio, render.sample_rate)))
    return out


def score_all(setup: dict, items) -> tuple[list[float], float]:
    threads = setup["threads"]
    recognizer = Recognizer(cpu_threads=threads) if threads is not None else _ct2_default()
    rates, seconds = [], 0.0
    for _name, code, text, audio in items:
        t0 = time.perf_counter()
        transcript = recognizer.transcribe(audio, code, words=setup["words"])
        seconds += time.perf_counter() - t0
        rates.append(gate(text, transcript, code).error_rate)
    return rates, seconds


def _ct2_default() -> Recognizer:
    """A recogniser with CTranslate2's own default thread count (as the gate had before)."""
    from faster_whisper import WhisperModel

    recognizer = Recognizer(cpu_threads=1)
    recognizer._model = WhisperModel(str(recognizer.path), device="cpu", compute_type="int8", cpu_threads=0)
    return recognizer


def main() -> None:
    print(f"gate accuracy bench: {platform.processor() or platform.machine()}, {usable_cores()} usable cores, "
          f"load average {os.getloadavg()[0]:.1f}, python {platform.python_version()}")
    items = clips()
    results = {name: score_all(setup, items) for name, setup in SETUPS.items()}
    ref, _ = results["reference"]
    for name, (_rates, seconds) in results.items():
        print(f"{name}: recognition {seconds:.1f} s for {len(items)} clips")
    worst = 0.0
    for i, (clip, *_rest) in enumerate(items):
        row = "  ".join(f"{name} {results[name][0][i]:.3f}" for name in results)
        worst = max(worst, max(abs(results[name][0][i] - ref[i]) for name in results))
        print(f"    {clip:28s} {row}")
    print(f"largest change of a clip's error rate against the reference: {worst:.3f} (goal <= 0.01)")


if __name__ == "__main__":
    main()
