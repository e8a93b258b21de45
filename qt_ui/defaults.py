"""Remembered defaults: the dialog's choices are stored in the non-secret settings and restored next time."""

from __future__ import annotations

import dataclasses

from gimp_gptimage.jobs.context import context_options
from gimp_gptimage.pipeline import ContextOptions, PipelineInputError
from gimp_gptimage.settings import Settings

from .model import DialogModel


def apply_settings(model: DialogModel, settings: Settings) -> None:
    """Defaults remembered from the last run (or the program's own)."""
    d = settings.defaults
    model.provider = settings.provider or "local"
    model.model = d.model or settings.provider_model(model.provider) or model.model
    model.size = d.size or "auto"
    model.quality = d.quality or "auto"
    model.complexity = d.complexity or ""
    model.n = d.n
    model.background = d.background or "auto"
    model.output_format = d.output_format or "png"
    if d.output_compression is not None:
        model.compression = d.output_compression
    model.moderation = d.moderation or "auto"
    model.stream = d.stream
    model.partial_images = d.partial_images if d.partial_images is not None else 0
    try:
        c = context_options(settings.context)
    except PipelineInputError:  # a hand-edited settings file: the controls start from the program's defaults
        c = ContextOptions()
    model.context_mode = c.mode
    model.padding_px = c.padding_px
    model.grow_px = c.grow_px
    model.feather_px = c.feather_px
    model.colour_match = c.colour_match
    model.unfolded = tuple(settings.unfolded)


def store_settings(model: DialogModel, settings: Settings) -> None:
    """The dialog's current choices become the defaults of the next run."""
    settings.provider = None if model.provider == "local" else model.provider
    settings.unfolded = list(model.unfolded)
    settings.defaults = dataclasses.replace(
        settings.defaults,
        model=model.model,
        size=model.size,
        quality=model.quality,
        complexity=model.complexity or None,
        n=model.n,
        background=None if model.background == "auto" else model.background,
        output_format=model.output_format,
        # Only where it applies: a compression saved with PNG would make every later batch call fail.
        output_compression=model.compression if model.compression_allowed() else None,
        moderation=None if model.moderation == "auto" else model.moderation,
        stream=model.stream,
        partial_images=model.partial_images,
    )
    settings.context = dataclasses.replace(
        settings.context,
        mode=model.context_mode,
        padding_px=model.padding_px,
        grow_px=model.grow_px,
        feather_px=model.feather_px,
        colour_match=model.colour_match,
    )
