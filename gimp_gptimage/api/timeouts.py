"""The client's time limits, in seconds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
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


class BodyStalled(Exception):
    """A body that had begun stopped arriving for the stall limit; `received` bytes had come."""

    def __init__(self, received: int) -> None:
        super().__init__(f"the body stopped after {received:,} bytes")
        self.received = received


async def stall_limited(chunks: AsyncIterator[bytes], stall: float) -> AsyncGenerator[bytes, None]:
    """The chunks of a body: the first within whatever limit the transport has (the read timeout: an image
    may still be being drawn), every later one within `stall` seconds (the answer is on its way, and only the
    network can slow it), else BodyStalled."""
    received = 0
    async for first in chunks:
        received += len(first)
        yield first
        break
    else:
        return
    while True:
        try:
            async with asyncio.timeout(stall):
                chunk = await anext(chunks)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise BodyStalled(received) from None
        received += len(chunk)
        yield chunk
