"""The commands other than localize: eval, transcribe, script, models."""
