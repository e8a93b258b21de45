"""Reading a command's input files in a thread of their own while the command gets everything else ready
(imports, settings, the backend: the embedded server loads its model). The decoders (OpenCV, Pillow)
release the GIL, so on two cores the files cost the run little more than the longer of the two.

    loading = in_background(load_rgba, path, "image")
    ...                                   # imports, settings, usage checks
    with input_errors_first(loading), open_backend(...) as backend:
        picture = loading.result()

Light on purpose (standard library only): it is imported before anything heavy.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")


def in_background(func: Callable[..., T], *args: Any) -> Future[T]:
    """`func(*args)` started now in a thread of its own (which ends with it); its result or error in the future."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(func(*args))
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=run, name="gptimage-inputs", daemon=True).start()
    return future


@contextlib.contextmanager
def input_errors_first(loading: Future[Any] | None) -> Iterator[None]:
    """A bad input file is reported before a backend problem met meanwhile, as when the file was read first."""
    try:
        yield
    except Exception:
        error = loading.exception() if loading is not None else None
        if error is not None:
            raise error from None
        raise


__all__ = ["in_background", "input_errors_first"]
