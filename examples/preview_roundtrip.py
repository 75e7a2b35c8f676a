"""Measure how intelligible the preview voices are: render, transcribe with Whisper, score.

For each language, the example's three lines (examples/ad.<lang>.srt; de, fr and yue use the
translations below) are voiced by the preview engine in one 8-second window, transcribed by the
packaged Whisper base (language forced), and scored with the language's metric (CER for zh, yue,
ja, ko; WER for en, de, fr). With --assembled, the assembled mp4 (new speech over the ducked
English original) is transcribed too.

    python examples/preview_roundtrip.py [--langs en,zh,ja,ko,yue,de,fr] [--assembled]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import librosa

HERE = Path(__file__).resolve().parent
EXTRA = {  # the same three lines for languages the example ships no script for
    "de": ("Jeder schöne Tag beginnt mit einer Tasse.", "Sunrise Coffee, jeden Morgen frisch geröstet.",
           "Wach auf für etwas Besseres."),
    "fr": ("Chaque belle journée commence par une tasse.", "Sunrise Coffee, torréfié chaque matin.",
           "Réveillez-vous au meilleur."),
    "yue": ("美好嘅一日，由一杯開始。", "日出咖啡，每朝新鮮烘焙。", "醒嚟，遇見更好。"),
}


def cues_for(code: str):
    from dubkit.adapters.subtitles import read_script
    from eval.types import Cue

    english = read_script(HERE / "ad.en.srt").cues
    if code in EXTRA:
        return tuple(Cue(text, c.start, c.end) for text, c in zip(EXTRA[code], english, strict=False))
    return read_script(HERE / f"ad.{code}.srt").cues


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--langs", default="en,zh,ja,ko,yue,de,fr")
    parser.add_argument("--assembled", action="store_true", help="also transcribe the assembled mp4")
    args = parser.parse_args()

    from dubkit.adapters.av import probe, read_audio
    from dubkit.engines.base import WindowRequest
    from dubkit.engines.preview import PreviewEngine
    from dubkit.stages.deliver import PlacedRender, assemble
    from eval.asr import SAMPLE_RATE, Recognizer
    from eval.scoring import score
    from langs import parse_languages

    engine, recognizer = PreviewEngine(), Recognizer()
    info = probe(HERE / "ad.mp4")
    print(f"ASR {recognizer.name}; engine voices {engine.identity()['voices']}")
    print("| lang | voice | metric | engine output | assembled mp4 | max speed | heard (engine output) |")
    print("|---|---|---|---|---|---|---|")
    for lang in parse_languages(args.langs):
        cues = cues_for(lang.code)
        t0 = time.perf_counter()
        render = engine.render(WindowRequest(0, 0.0, info.duration, lang, cues, seed=0))
        mono = librosa.resample(render.audio[:, 0], orig_sr=render.sample_rate, target_sr=SAMPLE_RATE)
        heard = recognizer.transcribe(mono, lang).text
        reference = " ".join(c.text for c in cues)
        direct = score(reference, heard, lang)
        assembled = "-"
        if args.assembled:
            with tempfile.TemporaryDirectory() as tmp:
                out = assemble(HERE / "ad.mp4", info, [PlacedRender(0.0, info.duration, render)], cues, lang,
                               Path(tmp), preview=True)
                mixed = recognizer.transcribe(read_audio(out.video, sample_rate=SAMPLE_RATE), lang).text
                assembled = f"{score(reference, mixed, lang).error_rate:.3f}"
        print(f"| {lang.code} | {render.info['voice']} | {direct.metric.upper()} | {direct.error_rate:.3f} | "
              f"{assembled} | {render.info['speed']:.2f} | {heard} |  ({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
