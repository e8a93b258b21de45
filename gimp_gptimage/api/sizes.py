"""Request sizes: the three fixed sizes, and the free-size rules of gpt-image-2, 2.5 and 2.6."""

from __future__ import annotations

import re

FIXED_SIZES = ("1024x1024", "1024x1536", "1536x1024")

# Free sizes: gpt-image-2, and 2.5 and 2.6 "as gpt-image-2" [T] (openai-python 3.57.0 lists 2.5 too; it also
# calls the maximum 3840x2160 and above 2560x1440 experimental, the same pixel counts as here).
GRID = 16
MAX_EDGE = 3840
MIN_PIXELS = 655_360
MAX_PIXELS = 8_294_400
EXPERIMENTAL_PIXELS = 3_686_400
MAX_RATIO = 3.0

_SIZE_RE = re.compile(r"^(\d{1,5})x(\d{1,5})$")


def parse_size(size: str) -> tuple[int, int] | None:
    match = _SIZE_RE.match(size.strip().lower())
    return (int(match[1]), int(match[2])) if match else None


def free_size_violation(width: int, height: int, label: str | None = None) -> str | None:
    """Why a WxH is not a valid gpt-image-2 size, or None if it is."""
    label = label or f"{width}x{height}"
    if width % GRID or height % GRID:
        return f"Invalid size '{label}'. Width and height must both be divisible by {GRID}."
    if max(width, height) > MAX_EDGE:
        return f"Invalid size '{label}'. Width and height must both be at most {MAX_EDGE} pixels."
    if not MIN_PIXELS <= width * height <= MAX_PIXELS:
        return (
            f"Invalid size '{label}'. The total number of pixels must be between {MIN_PIXELS:,} and "
            f"{MAX_PIXELS:,}, but got {width * height:,}."
        )
    if max(width, height) > MAX_RATIO * min(width, height):
        return f"Invalid size '{label}'. The long edge must be at most 3 times the short edge."
    return None
