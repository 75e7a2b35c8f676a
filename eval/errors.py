"""Errors of the quality gate (bad input to the gate, a missing or corrupt ASR model)."""


class EvalError(Exception):
    """Bad input to the gate or a broken recogniser setup. The message names the file or value."""


class ModelNotFoundError(EvalError):
    """An ASR model name or folder that cannot be resolved to a usable model."""
