"""Errors raised by the model package (it imports nothing from the rest of dubkit)."""


class ModelError(Exception):
    """Base of every error the model package raises on bad input. Messages name the bad value or file."""


class ConfigError(ModelError):
    """An unknown preset or an inconsistent DiT configuration value."""


class CheckpointError(ModelError):
    """A checkpoint that cannot be loaded: missing, unexpected or mis-shaped keys, a corrupt file, a missing shard."""


class PackingError(ModelError):
    """Latents, text features or ranges whose shapes cannot be packed into (or unpacked from) one sequence."""
