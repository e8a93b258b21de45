"""The CLI's exit statuses, and which one an error gets (shared by the command funnel and the result writer)."""

from __future__ import annotations

import asyncio

from ..api.errors import ConfigError, ValidationError
from ..history import HistoryError

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def exit_code_for(exc: BaseException) -> int:
    if isinstance(exc, KeyboardInterrupt | asyncio.CancelledError):
        return EXIT_INTERRUPTED
    if isinstance(exc, ValidationError | ConfigError | HistoryError):
        return EXIT_USAGE
    return EXIT_ERROR
