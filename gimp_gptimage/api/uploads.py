"""The upload parts of an edit, checked against the API's rules before anything is sent."""

from __future__ import annotations

from collections.abc import Sequence

from .errors import ValidationError
from .image_rules import MAX_IMAGE_BYTES, UnreadableImage, mask_problem, open_image, too_large_upload
from .multipart import FilePart
from .types import ImageInput, sniff_content_type


def image_parts(images: Sequence[ImageInput], mask: bytes | None) -> list[FilePart]:
    """Upload parts, each with the content type its bytes really have; rejects what the API would."""
    parts: list[FilePart] = []
    for number, image in enumerate(images, 1):
        label = f"Image {number} ({image.filename})" if image.filename else f"Image {number}"
        real_type = sniff_content_type(image.data)
        if real_type is None:
            raise ValidationError(
                f"{label} is not a PNG, JPEG or WebP image. [rule: image type]",
                param="image",
                value=image.filename,
                rule="image type",
            )
        if too_large_upload(len(image.data)):
            raise ValidationError(
                f"{label} is {len(image.data) / 1e6:.1f} MB; each image must be under "
                f"{MAX_IMAGE_BYTES // (1024 * 1024)} MB. [rule: image size]",
                param="image",
                value=len(image.data),
                rule="image size",
            )
        extension = real_type.split("/")[1]
        parts.append(FilePart("image[]", image.filename or f"image-{number}.{extension}", real_type, image.data))
    if mask is not None:
        check_mask(mask, images[0].data)
        parts.append(FilePart("mask", "mask.png", "image/png", mask))
    return parts


def check_mask(mask: bytes, first_image: bytes) -> None:
    """ValidationError when the mask breaks a rule the API would refuse it for (read from headers only)."""
    if sniff_content_type(mask) != "image/png":
        raise ValidationError(
            "The mask must be a PNG image with an alpha channel. [rule: mask is PNG]",
            param="mask",
            value=sniff_content_type(mask) or "unknown data",
            rule="mask is PNG",
        )
    try:
        with open_image(mask, load=False) as m, open_image(first_image, load=False) as img:
            problem = mask_problem(m, img.size)
            mask_size, mode, image_size = m.size, m.mode, img.size
    except UnreadableImage as exc:
        raise ValidationError(
            f"The mask or the first image cannot be read ({exc}). [rule: readable images]",
            param="mask",
            rule="readable images",
        ) from None
    if problem is None:
        return
    rule, _ = problem
    if rule == "mask needs alpha":
        message = f"The mask has no alpha channel (PNG mode {mode}); its transparent pixels mark the area to edit."
        value: object = mode
    else:
        message = (
            f"The mask is {mask_size[0]}x{mask_size[1]} but the first image is {image_size[0]}x{image_size[1]}; "
            "they must be the same size."
        )
        value = f"{mask_size[0]}x{mask_size[1]}"
    raise ValidationError(f"{message} [rule: {rule}]", param="mask", value=value, rule=rule)
