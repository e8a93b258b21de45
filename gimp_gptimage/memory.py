"""Keeping a long-lived process's resident memory honest under glibc.

A dialog, a worker or `serve` runs many jobs in one process. glibc's malloc raises its mmap threshold to
the size of the largest buffer freed so far (up to 32 MB), after which the pipeline's numpy, OpenCV and
Pillow images come from its heaps and stay resident once freed: the process looks tens of MB bigger after
every few requests although nothing is in use (bench/results/soak.md). Elsewhere (musl, macOS, Windows)
everything here does nothing.
"""

from __future__ import annotations

import ctypes
import functools
import sys

_M_MMAP_THRESHOLD = -3  # <malloc.h>
# Buffers from 1 MiB up (an image of about 500x500 RGBA) get pages of their own, returned when freed.
# Costs a few ms of page faults on a whole-canvas pipeline run, next to minutes of image generation.
LARGE_BUFFER_BYTES = 1 << 20


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None)
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


@functools.cache
def return_large_buffers_on_free() -> bool:
    """Fix the mmap threshold (which also stops glibc adapting it) for the rest of the process; once only.

    True if the allocator took the setting."""
    libc = _glibc()
    return libc is not None and libc.mallopt(_M_MMAP_THRESHOLD, LARGE_BUFFER_BYTES) == 1


def release_free_memory() -> None:
    """Hand the small freed blocks a finished job left in glibc's heaps back to the system."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
