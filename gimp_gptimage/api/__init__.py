"""The Images API: parameters and their rules, the async client, providers, errors and result types."""

# The names load on first use (PEP 562): a module that needs only the errors, the parameters or the image
# rules (the CLI's readers, before they decode its input) imports no HTTP client with them.

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .backend import ImagesBackend
    from .client import ImagesClient
    from .errors import (
        APIConnectionError,
        APIError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        ConfigError,
        GptImageError,
        InternalServerError,
        NotFoundError,
        PermissionDeniedError,
        RateLimitError,
        ResultError,
        UserMessage,
        ValidationError,
        explain,
        redact,
    )
    from .params import ImageParams, Violation, check_params, validate
    from .providers import (
        CRAZYROUTER,
        LOCAL,
        OPENAI,
        PRESETS,
        QUICKROUTER,
        Provider,
        check_base_url,
        custom,
        get_provider,
        key_from_env,
    )
    from .results import EventCallback, ProgressCallback
    from .timeouts import Timeouts
    from .types import GeneratedImage, ImageEvent, ImageInput, ImagesResponse, Usage

# Where the names live, lightest first (the order __getattr__ looks in).
_MODULES = ("errors", "params", "providers", "types", "timeouts", "results", "backend", "client")

__all__ = [
    "CRAZYROUTER",
    "LOCAL",
    "OPENAI",
    "PRESETS",
    "QUICKROUTER",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigError",
    "EventCallback",
    "GeneratedImage",
    "GptImageError",
    "ImageEvent",
    "ImageInput",
    "ImageParams",
    "ImagesBackend",
    "ImagesClient",
    "ImagesResponse",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProgressCallback",
    "Provider",
    "RateLimitError",
    "ResultError",
    "Timeouts",
    "Usage",
    "UserMessage",
    "ValidationError",
    "Violation",
    "check_base_url",
    "check_params",
    "custom",
    "explain",
    "get_provider",
    "key_from_env",
    "redact",
    "validate",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        for home in _MODULES:
            module = importlib.import_module(f".{home}", __name__)
            if name in vars(module):
                globals()[name] = value = vars(module)[name]
                return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
