"""The allocator setting that keeps a long-lived dialog's resident memory from creeping (issue 6's soak).

Each case runs in a fresh interpreter: the setting is process-wide and once set cannot be undone.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from gimp_gptimage.memory import release_free_memory

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the glibc allocator is Linux's")

# After a 16 MB buffer is freed glibc would serve 4 MB buffers from its heap; small blocks placed after each
# keep the heap from shrinking at its top, so freed memory stays resident unless the buffers had own pages.
_SCRIPT = textwrap.dedent(
    """
    import ctypes, sys
    import psutil
    from gimp_gptimage.memory import return_large_buffers_on_free
    applied = return_large_buffers_on_free() if sys.argv[1] == "set" else None
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    big = 4 << 20

    def filled(size):
        block = libc.malloc(size)
        ctypes.memset(block, 1, size)
        return block

    libc.free(filled(16 << 20))
    blocks, pins = [], []
    for _ in range(20):
        blocks.append(filled(big))
        pins.append(filled(100 << 10))
    held = psutil.Process().memory_info().rss
    for block in blocks:
        libc.free(block)
    freed = held - psutil.Process().memory_info().rss
    print(applied, freed >> 20)
    """
)


def _run(mode: str) -> tuple[str, int]:
    out = subprocess.run([sys.executable, "-c", _SCRIPT, mode], capture_output=True, text=True, check=True)
    applied, freed_mb = out.stdout.split()
    return applied, int(freed_mb)


def test_freed_large_buffers_leave_resident_memory_at_once() -> None:
    applied, freed_mb = _run("set")
    assert applied == "True"
    assert freed_mb >= 70  # of the 80 MB freed


def test_without_the_setting_the_heap_keeps_them() -> None:
    """The control: proves the case above measures the setting, not the allocator's default."""
    applied, freed_mb = _run("default")
    assert applied == "None"
    assert freed_mb <= 10


def test_release_free_memory_is_safe_to_call_any_time() -> None:
    release_free_memory()
    release_free_memory()
