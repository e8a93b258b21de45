"""A private X server, and a way to make system libraries really unavailable to one process tree.

`hiding(...)` runs a command in its own mount namespace where the named files in the system library
folder are whited out by an overlay: the dynamic loader then fails exactly as on a desktop that lacks
the package (root only, like the rest of CI's set-up).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

LIBDIR = Path("/usr/lib/x86_64-linux-gnu")


@contextlib.contextmanager
def xvfb() -> Iterator[str]:
    """DISPLAY of a fresh Xvfb, stopped afterwards."""
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    if not number:
        server.kill()
        pytest.fail("Xvfb did not start (apt-get install xvfb)", pytrace=False)
    try:
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def hiding(sonames: list[str], argv: list[str]) -> list[str]:
    """argv run with the given libraries (and the files their symlinks point to) absent."""
    if os.geteuid() != 0:
        pytest.fail("hiding system libraries needs root (unshare + overlay), as CI runs", pytrace=False)
    names = set()
    for soname in sonames:
        path = LIBDIR / soname
        assert path.exists(), f"{path} should exist on the test machine (see dev.sh's system packages)"
        names.update({soname, path.resolve().name})
    whiteouts = " && ".join(f"mknod /tmp/gptimage-hide/u/{shlex.quote(n)} c 0 0" for n in sorted(names))
    script = (
        "set -e; mkdir -p /tmp/gptimage-hide; mount -t tmpfs tmpfs /tmp/gptimage-hide; "
        "mkdir /tmp/gptimage-hide/u /tmp/gptimage-hide/w; "
        f"{whiteouts}; "
        f"mount -t overlay overlay -o lowerdir={LIBDIR},upperdir=/tmp/gptimage-hide/u,workdir=/tmp/gptimage-hide/w "
        f"{LIBDIR}; exec {shlex.join(argv)}"
    )
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]
