"""The CLI's exit statuses, and which one an error gets (shared by the command funnel and the result writer)."""

from __future__ import annotations

from ..api.errors import ConfigError, ValidationError

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def exit_code_for(exc: BaseException) -> int:
    # Imported here, once an error is met: the CLI starts reading its input file before these load.
    import asyncio

    from ..history import HistoryError

    if isinstance(exc, KeyboardInterrupt | asyncio.CancelledError):
        return EXIT_INTERRUPTED
    if isinstance(exc, ValidationError | ConfigError | HistoryError):
        return EXIT_USAGE
    return EXIT_ERROR
