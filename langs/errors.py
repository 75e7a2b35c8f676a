"""Named errors for language handling. `LanguageError` is a ValueError so callers that catch bad values catch it."""
from __future__ import annotations


class LanguageError(ValueError):
    """Base of every error a user can cause through a language code, list or text given to `langs`."""

    def __init__(self, message: str, value: object = None) -> None:
        super().__init__(message)
        self.value = value


class UnknownLanguageError(LanguageError):
    """A code or alias that names none of the supported languages."""


class LanguageListError(LanguageError):
    """A language list (`--to zh,ko,ja`) that is empty, has an empty item, or names a language twice."""
