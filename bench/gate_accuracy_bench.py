"""Does a faster gate hear the same? The gate's error rates on the tests' real speech, per recogniser setup.

    python bench/gate_accuracy_bench.py

Clips: each LibriVox English utterance, the Asterisk French prompts and the Mandarin sentences the tests
use (tests/speech_data.py), plus the preview engine's voice-over of the example's ja, ko and zh lines
(the windows the localize bench gates). Each clip is scored by the gate (eval.gate, the lines as one text,
as stages/render.py scores a window) under each setup:

  reference  word timestamps on, CTranslate2's default thread count (the gate before this change)
  fast       word timestamps off, one thread per usable core (the gate now)
  batched    faster-whisper's BatchedInferencePipeline over all clips at once (8 per batch, each clip one
             `clip_timestamps` span), one thread per usable core
  no-fallback, no-timestamps, beam-2
             the gate's setup with one decoding option changed: no temperature fallback (temperature 0
             only), no timestamp tokens, a beam of 2 instead of 5

and the largest change of any clip's error rate is reported (goal: at most 0.01), with the recognition
CPU time (this process, all threads) of each setup. Prints the machine it ran on.
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

SETUPS = {"reference": {"words": True, "threads": None}, "fast": {"words": False, "threads": 0},
          "batched": {"words": False, "threads": 0, "batched": True},
          "no-fallback": {"words": False, "threads": 0, "options": {"temperature": 0.0}},
          "no-timestamps": {"words": False, "threads": 0, "options": {"without_timestamps": True}},
          "beam-2": {"words": False, "threads": 0, "options": {"beam_size": 2}}}


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
    if setup.get("batched"):
        return batched(recognizer, items)
    if setup.get("options"):
        return with_options(recognizer, items, setup["options"])
    rates, seconds = [], 0.0
    for _name, code, text, audio in items:
        t0 = time.process_time()
        transcript = recognizer.transcribe(audio, code, words=setup["words"])
        seconds += time.process_time() - t0
        rates.append(gate(text, transcript, code).error_rate)
    return rates, seconds


def with_options(recognizer: Recognizer, items, options: dict) -> tuple[list[float], float]:
    """Each clip decoded as the gate decodes it (eval/asr.py: VAD, forced language, seeded fallback, no
    carried context, no word timestamps) with `options` overriding faster-whisper's arguments."""
    import ctranslate2

    from eval.asr import DECODE_SEED, _segment
    from eval.types import Transcript

    rates, seconds = [], 0.0
    for _name, code, text, audio in items:
        t0 = time.process_time()
        ctranslate2.set_random_seed(DECODE_SEED)
        arguments = {"language": recognizer.whisper_code(code), "beam_size": recognizer.beam_size,
                     "word_timestamps": False, "vad_filter": recognizer.vad, "condition_on_previous_text": False,
                     **options}
        segments, _ = recognizer._model.transcribe(np.ascontiguousarray(audio, np.float32), **arguments)
        heard = tuple(_segment(s) for s in segments)
        seconds += time.process_time() - t0
        rates.append(gate(text, Transcript(code, len(audio) / 16_000, heard, recognizer.name), code).error_rate)
    return rates, seconds


def batched(recognizer: Recognizer, items) -> tuple[list[float], float]:
    """All clips of one language in one BatchedInferencePipeline call, each clip its own span."""
    from faster_whisper import BatchedInferencePipeline

    from eval.types import Transcript, TranscriptSegment

    pipeline = BatchedInferencePipeline(recognizer._model)
    rates: dict[int, float] = {}
    seconds = 0.0
    for code in dict.fromkeys(code for _n, code, _t, _a in items):
        mine = [i for i, item in enumerate(items) if item[1] == code]
        starts = np.cumsum([0] + [len(items[i][3]) for i in mine]) / 16_000
        audio = np.concatenate([items[i][3] for i in mine]).astype(np.float32)
        spans = [{"start": float(a), "end": float(b)} for a, b in zip(starts[:-1], starts[1:], strict=True)]
        t0 = time.process_time()
        segments = list(pipeline.transcribe(audio, language=recognizer.whisper_code(code), beam_size=5,
                                            clip_timestamps=spans, batch_size=8)[0])
        seconds += time.process_time() - t0
        for k, i in enumerate(mine):
            heard = tuple(TranscriptSegment(s.start, s.end, s.text) for s in segments
                          if starts[k] - 0.01 <= s.start < starts[k + 1] - 0.01)
            transcript = Transcript(code, float(starts[k + 1] - starts[k]), heard, recognizer.name)
            rates[i] = gate(items[i][2], transcript, code).error_rate
    return [rates[i] for i in range(len(items))], seconds


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
    ref, _ = results["fast"]  # the gate's setup now
    for name, (_rates, seconds) in results.items():
        print(f"{name}: recognition {seconds:.1f} s CPU for {len(items)} clips")
    for i, (clip, *_rest) in enumerate(items):
        row = "  ".join(f"{name} {results[name][0][i]:.3f}" for name in results)
        print(f"    {clip:28s} {row}")
    for name in results:
        change = max(abs(a - b) for a, b in zip(results[name][0], ref, strict=True))
        print(f"largest change of a clip's error rate, {name} against the gate's setup (fast): {change:.3f} "
              f"(goal <= 0.01)")


if __name__ == "__main__":
    main()
