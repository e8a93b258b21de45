"""Full-size PNGs of a layer with a result blended in, encoded in strips on every core; the strips no result
reaches are encoded once (while the provider works, with `prefetch`) and reused by every result.

Written by hand because encoding is the longest step of a CLI edit of a large photo (zlib over every row)
and neither PNG writer here (OpenCV, Pillow) uses more than one core or can reuse rows that did not change.
The file is an ordinary PNG: each strip is a raw deflate stream ended by a sync flush (byte-aligned, not
final), so the strips concatenate into one zlib stream, as pigz does; an empty final block and the Adler-32
of every row (combined from the strips') close it. Rows use the "average" filter at zlib level 1 with the
RLE strategy, the settings `codec.encode_bgr_png` gives OpenCV, so files come out the same size; zlib-ng
deflates them in about half of zlib's time. OpenCV, numpy and zlib-ng release the GIL, so the strips run in
parallel threads.
"""

from __future__ import annotations

import os
import struct
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType

import cv2
import numpy as np
from zlib_ng import zlib_ng as zlib  # zlib's API, its level 1 with RLE ~1.8 x as fast, byte-compatible streams

from gimp_gptimage.pipeline.paste import PasteResult
from gimp_gptimage.pipeline.prepare import check_layer

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_ZLIB_HEADER = b"\x78\x01"  # deflate, 32 KiB window, "fastest" level
_FINAL_BLOCK = b"\x03\x00"  # an empty, final, fixed-Huffman deflate block
_AVERAGE = 3  # the PNG row filter type
_STRIP_BYTES = 1 << 20  # about a megabyte of pixels a strip: a result re-encodes little beyond its own rows
_ADLER_MOD = 65521


@dataclass(frozen=True)
class _Strip:
    chunk: bytes  # the whole IDAT chunk: length, type, deflated rows, CRC
    adler: int  # Adler-32 of the strip's filtered rows
    size: int  # their length in bytes


class LayerPng:
    """PNG files of one (H, W, 4) RGBA layer, with a result blended in or as it is; RGBA if `keep_alpha`,
    else RGB. The pixels decode to exactly what `PasteResult.composite` gives. Close it (or use it as a
    context manager) to stop background work a failed job no longer needs."""

    def __init__(self, layer_rgba: np.ndarray, *, keep_alpha: bool, strip_bytes: int = _STRIP_BYTES) -> None:
        check_layer(layer_rgba)
        self.layer = np.ascontiguousarray(layer_rgba)  # read only: strips are encoded from it in threads
        self._keep_alpha = keep_alpha
        height, width = layer_rgba.shape[:2]
        self._channels = 4 if keep_alpha else 3
        rows = max(1, strip_bytes // (width * self._channels))
        self._strips = [(top, min(top + rows, height)) for top in range(0, height, rows)]
        # A result is encoded on every core; the prefetch takes one, so the job it runs beside (preparing the
        # request, an embedded model, reading the answer) keeps the others.
        self._pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="gptimage-png")
        self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gptimage-png-prefetch")
        self._unchanged: dict[int, Future[_Strip]] = {}

    def prefetch(self) -> None:
        """Start encoding every strip of the layer as it is, in the background, for results to reuse."""
        for index, (top, bottom) in enumerate(self._strips):
            if index not in self._unchanged:
                self._unchanged[index] = self._background.submit(self._encode, top, bottom, None, None)

    def png(self, placed: PasteResult | None = None) -> bytes:
        """The PNG of the layer with `placed` blended in (None: the layer as it is)."""
        pixels = None
        if placed is not None:
            placed.check_fits(self.layer)
            pixels = placed.pixels if self._keep_alpha else cv2.cvtColor(placed.pixels, cv2.COLOR_RGBA2RGB)
        strips: list[Future[_Strip]] = []
        for index, (top, bottom) in enumerate(self._strips):
            if placed is not None and _reaches(placed, max(top - 1, 0), bottom):  # the filter reads the row above
                strips.append(self._pool.submit(self._encode, top, bottom, placed, pixels))
            else:
                strips.append(self._unchanged_strip(index))
        done = [strip.result() for strip in strips]
        adler = done[0].adler
        for strip in done[1:]:
            adler = _adler32_combine(adler, strip.adler, strip.size)
        height, width = self.layer.shape[:2]
        header = struct.pack(">IIBBBBB", width, height, 8, 6 if self._keep_alpha else 2, 0, 0, 0)
        return b"".join(
            [
                _SIGNATURE,
                _chunk(b"IHDR", header),
                _chunk(b"IDAT", _ZLIB_HEADER),
                *(strip.chunk for strip in done),
                _chunk(b"IDAT", _FINAL_BLOCK + struct.pack(">I", adler)),
                _chunk(b"IEND", b""),
            ]
        )

    def close(self) -> None:
        self._background.shutdown(wait=False, cancel_futures=True)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> LayerPng:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _unchanged_strip(self, index: int) -> Future[_Strip]:
        """The strip as the layer has it: encoded already, being encoded, or now on every core (a strip still
        waiting for the prefetch's one thread is taken from it)."""
        strip = self._unchanged.get(index)
        if strip is None or strip.cancel():
            top, bottom = self._strips[index]
            strip = self._unchanged[index] = self._pool.submit(self._encode, top, bottom, None, None)
        return strip

    def _encode(self, top: int, bottom: int, placed: PasteResult | None, pixels: np.ndarray | None) -> _Strip:
        above = max(top - 1, 0)
        source = self.layer[above:bottom]
        rows = source if self._keep_alpha else cv2.cvtColor(source, cv2.COLOR_RGBA2RGB)
        if placed is not None:
            assert pixels is not None
            if rows is source:
                rows = source.copy()  # the result is blended into a copy, never into the layer
            placed.blend_rows(rows, above, pixels)
        filtered = _average_filtered(rows.reshape(rows.shape[0], -1), self._channels, has_row_above=top > 0)
        deflate = zlib.compressobj(1, zlib.DEFLATED, -15, 8, zlib.Z_RLE)
        data = deflate.compress(filtered.data) + deflate.flush(zlib.Z_SYNC_FLUSH)
        return _Strip(_chunk(b"IDAT", data), zlib.adler32(filtered.data), filtered.size)


def _reaches(placed: PasteResult, top: int, bottom: int) -> bool:
    """Whether the result's region has a row in [top, bottom)."""
    r = placed.region
    return r.y < bottom and r.y + r.h > top


def _average_filtered(rows: np.ndarray, bpp: int, *, has_row_above: bool) -> np.ndarray:
    """PNG scanlines of `rows` ((n, width * bpp) bytes; the first is only the row above when
    `has_row_above`): each row is its filter-type byte, then raw - floor((left + up) / 2) modulo 256."""
    current = rows[1:] if has_row_above else rows
    if has_row_above:
        up = rows[:-1]
    else:
        up = np.empty_like(rows)
        up[0] = 0
        up[1:] = rows[:-1]
    left = np.zeros_like(current)
    left[:, bpp:] = current[:, :-bpp]
    average = np.right_shift(left, 1)
    average += np.right_shift(up, 1)
    np.bitwise_and(left, up, out=left)  # the carry of the halves: 1 where both are odd
    left &= 1
    average += left
    out = np.empty((current.shape[0], current.shape[1] + 1), np.uint8)
    out[:, 0] = _AVERAGE
    np.subtract(current, average, out=out[:, 1:])
    return out


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


def _adler32_combine(first: int, second: int, second_size: int) -> int:
    """Adler-32 of A + B from Adler-32 of A, of B, and B's length (zlib's adler32_combine)."""
    rem = second_size % _ADLER_MOD
    low = ((first & 0xFFFF) + (second & 0xFFFF) + _ADLER_MOD - 1) % _ADLER_MOD
    high = (rem * (first & 0xFFFF) + (first >> 16) + (second >> 16) + _ADLER_MOD - rem) % _ADLER_MOD
    return low | (high << 16)


__all__ = ["LayerPng"]
