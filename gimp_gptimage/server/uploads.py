"""Reading the uploaded files of an edit: the checks the real API makes on each part, with its answers."""

from __future__ import annotations

from PIL import Image
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from ..api.image_rules import MAX_IMAGE_BYTES, UnreadableImage, mask_problem, too_large_upload
from ..api.markup import has_transparent_pixels
from ..api.params import markup_violation
from ..api.types import IMAGE_CONTENT_TYPES
from . import errors
from .errors import ApiError
from .imaging import decode_image


async def part_bytes(part: UploadFile | str, label: str) -> bytes:
    """The bytes of an uploaded image part, after the checks the real API makes on the part itself."""
    if isinstance(part, str):
        raise errors.invalid_type(label, "a file", "a string")
    content_type = (part.content_type or "application/octet-stream").split(";")[0].strip().lower()
    if content_type not in IMAGE_CONTENT_TYPES.values():
        raise errors.unsupported_mimetype(label, content_type)
    data = await part.read()
    if too_large_upload(len(data)):
        raise ApiError(
            400,
            f"Invalid file '{label}': file too large ({len(data):,} bytes). Each image must be smaller than "
            f"{MAX_IMAGE_BYTES // (1024 * 1024)} MB.",
            param=label,
            code="file_too_large",
        )
    return data


async def read_image(part: UploadFile | str, label: str, number: int) -> Image.Image:
    data = await part_bytes(part, label)
    try:
        return await run_in_threadpool(decode_image, data)
    except UnreadableImage:
        raise errors.invalid_image(label, number) from None


async def read_mask(part: UploadFile | str, first: Image.Image) -> Image.Image:
    data = await part_bytes(part, "mask")
    try:
        mask = await run_in_threadpool(decode_image, data)
    except UnreadableImage:
        raise errors.invalid_mask("mask image could not be decoded") from None
    problem = mask_problem(mask, first.size)
    if problem is not None:
        raise errors.invalid_mask(problem[1])
    return mask


async def read_markup(part: UploadFile | str, first: Image.Image) -> Image.Image:
    data = await part_bytes(part, "markup")
    try:
        markup: Image.Image | None = await run_in_threadpool(decode_image, data)
    except UnreadableImage:
        markup = None
    problem = markup_violation(
        markup.format if markup else None,
        markup.size if markup else None,
        first.size,
        markup is not None and has_transparent_pixels(markup),
    )
    if problem is not None:
        raise ApiError.from_violation(problem)
    assert markup is not None
    return markup
