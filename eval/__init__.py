"""The Whisper quality gate: is what is heard in a file what its script says?

Modules: `whisper_models` (where models come from), `asr` (the faster-whisper adapter), `scoring`
(the jiwer adapter), `gate` (thresholds and verdicts), `report_json` / `report_html` (the reports).
Importing the package is cheap: faster-whisper loads only when a Recognizer is built.
"""
import os

# onnxruntime (under faster-whisper's voice detector) otherwise writes a device id under
# ~/.cache/Microsoft and queues telemetry for upload; the gate runs offline.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
