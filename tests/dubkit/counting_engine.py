"""Wrappers that count an engine's and a recogniser's calls, and a runner that localizes with them in a
subprocess.

The wrappers delegate everything to the real engine and recogniser (same identity, so the same cache keys,
same audio, same transcripts); they only append lines to a log file so that a test can count how often
each really ran across a killed and restarted process.

    python -m tests.dubkit.counting_engine SOURCE OUT LANGS LOG [--source-script F] [--scripts DIR]
                                           [--recognitions LOG] [--threshold T]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


class CountingEngine:
    """Delegates to `inner`; logs one JSON line per render start and finish to `log`."""

    def __init__(self, inner, log: Path):
        self.inner, self.log = inner, Path(log)
        self.name, self.is_preview, self.uses_reference = inner.name, inner.is_preview, inner.uses_reference
        if "uses_seed" not in vars(type(self)):  # a subclass may declare it (the retry tests do)
            self.uses_seed = inner.uses_seed
        self.calls = 0

    def identity(self):
        return self.inner.identity()

    def _note(self, event: str, request) -> None:
        with open(self.log, "a", encoding="utf-8") as f:
            f.write(json.dumps({"event": event, "window": request.index,
                                "language": request.language.code, "seed": request.seed}) + "\n")
            f.flush()

    def render(self, request):
        self.calls += 1
        self._note("start", request)
        render = self.inner.render(request)
        self._note("done", request)
        return render


class CountingRecognizer:
    """Delegates to a real Recognizer; logs one "recognised" line per finished transcription to `log`."""

    def __init__(self, inner, log: Path):
        self.inner, self.log, self.name = inner, Path(log), inner.name

    def transcribe(self, audio, language=None, **options):
        transcript = self.inner.transcribe(audio, language, **options)
        with open(self.log, "a", encoding="utf-8") as f:
            f.write(json.dumps({"event": "recognised", "seconds": transcript.duration}) + "\n")
        return transcript


def read_log(log: Path) -> list[dict]:
    """The events a CountingEngine logged (none if it never ran)."""
    if not Path(log).is_file():
        return []
    return [json.loads(line) for line in Path(log).read_text("utf-8").splitlines() if line.strip()]


def main(argv: list[str]) -> int:
    from dubkit.engines.preview import PreviewEngine
    from dubkit.options import LocalizeOptions
    from dubkit.pipeline import localize

    parser = argparse.ArgumentParser()
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("languages")
    parser.add_argument("log", type=Path)
    parser.add_argument("--source-script", type=Path, default=None)
    parser.add_argument("--scripts", type=Path, default=None)
    parser.add_argument("--recognitions", type=Path, default=None)
    parser.add_argument("--threshold", type=float, default=None)
    args = parser.parse_args(argv)
    engine = CountingEngine(PreviewEngine(), args.log)
    recognizer = None
    if args.recognitions is not None:
        from eval.asr import shared_recognizer

        recognizer = CountingRecognizer(shared_recognizer(), args.recognitions)
    result = localize(LocalizeOptions(source=args.source, languages=args.languages, out=args.out,
                                      source_script=args.source_script, scripts_dir=args.scripts,
                                      threshold=args.threshold),
                      engine=engine, recognizer=recognizer)
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
