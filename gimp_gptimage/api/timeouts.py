"""The client's time limits, in seconds."""

from __future__ import annotations

from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class Timeouts:
    """Connecting should be quick; an image can take minutes to be drawn (`read`: the wait for the answer,
    and between events of a stream). Once a plain answer's body has begun, the rest of it comes as fast as
    the network allows, so a body that stops arriving for `stall` seconds is given up on."""

    connect: float = 10.0
    read: float = 600.0
    write: float = 120.0
    pool: float = 10.0
    stall: float = 60.0

    def to_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


DEFAULT_TIMEOUTS = Timeouts()
