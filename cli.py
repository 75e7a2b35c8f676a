"""The `dubkit` command: parses arguments, calls `dubkit`, renders results. No stage logic here."""
from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version

import click

from dubkit.errors import DubkitError
from eval.errors import EvalError
from langs import LanguageError

# Exit statuses shared by every command.
EXIT_OK, EXIT_FAILED_GATE, EXIT_BAD_INPUT = 0, 1, 2
USER_ERRORS = (DubkitError, EvalError, LanguageError)


def _version() -> str:
    try:
        return version("dubkit")
    except PackageNotFoundError:  # running from a source tree without installing
        return "0.0.0+source"


class DubkitGroup(click.Group):
    """A click group that turns dubkit's named errors into a one-line message and exit status 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except USER_ERRORS as err:
            click.secho(f"error: {err}", err=True, fg="red")
            sys.exit(EXIT_BAD_INPUT)


@click.group(cls=DubkitGroup)
@click.version_option(_version(), prog_name="dubkit")
def main() -> None:
    """dubkit: localize and dub video with lip-synced speech, gated by a Whisper quality check."""


# Commands are defined below, one function each.


if __name__ == "__main__":
    main()
