"""Settings → ContextOptions, the one way every front end (CLI, dialog, batch worker) decides how much
context the model sees and how its result is pasted back."""

from __future__ import annotations

import dataclasses

from ..pipeline import ContextOptions
from ..settings import ContextDefaults


def context_options(saved: ContextDefaults, **chosen: object) -> ContextOptions:
    """The user's saved context choices with this run's on top (None: not chosen); whatever neither sets is
    the pipeline's own default. Raises PipelineInputError for a value the pipeline cannot use."""
    values = {k: v for k, v in dataclasses.asdict(saved).items() if v is not None}
    values |= {k: v for k, v in chosen.items() if v is not None}
    return ContextOptions(**values)  # type: ignore[arg-type]  # checked by ContextOptions itself


def as_the_provider_takes_it(options: ContextOptions, grows_mask: bool) -> ContextOptions:
    """The options as the endpoint takes its mask: an inpainting engine gets the selection ungrown
    (api.providers.grows_mask). The request and the dialog's preview of it both go through here."""
    if grows_mask or options.grow_px == 0:
        return options
    return dataclasses.replace(options, grow_px=0)
