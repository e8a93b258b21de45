"""The one error the pipeline raises for bad input; its message is written for the user."""

from __future__ import annotations


class PipelineInputError(ValueError):
    """A layer, selection, size, result image or option the pipeline cannot work with."""
