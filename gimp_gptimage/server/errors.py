"""The local server's error answers, shaped and worded like the real API's.

Every error is `{"error": {"message", "type", "param", "code"}}` with the HTTP status the real API uses, so
clients (ours and the official SDK) meet exactly what production would send them.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from starlette.responses import Response

from ..api.params import Violation

KEYS_URL = "https://platform.openai.com/account/api-keys"

# Default wording for injected status faults and unexpected failures, after the real API's answers.
STATUS_DEFAULTS: dict[int, tuple[str, str, str | None]] = {
    400: ("Invalid request.", "invalid_request_error", None),
    401: ("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
    403: ("You are not allowed to sample from this model", "invalid_request_error", None),
    404: ("The requested resource was not found.", "invalid_request_error", "not_found"),
    408: ("Request timed out.", "timeout", None),
    409: ("The request conflicted with another request.", "invalid_request_error", None),
    429: (
        "Rate limit reached for images per minute: Limit 5, Used 5, Requested 1. Please try again later.",
        "requests",
        "rate_limit_exceeded",
    ),
    500: ("The server had an error while processing your request. Sorry about that!", "server_error", None),
    502: ("Bad gateway.", "server_error", None),
    503: ("The engine is currently overloaded, please try again later.", "server_error", None),
    504: ("Gateway timeout.", "server_error", None),
}


def new_request_id() -> str:
    return "req_" + secrets.token_hex(16)


@dataclass(frozen=True)
class ApiError(Exception):
    """An answer the server gives instead of a result; raised anywhere in a handler."""

    status: int
    message: str
    error_type: str = "invalid_request_error"
    param: str | None = None
    code: str | None = None

    def body(self) -> dict[str, object]:
        return {"error": {"message": self.message, "type": self.error_type, "param": self.param, "code": self.code}}

    def response(self, request_id: str, headers: dict[str, str] | None = None) -> Response:
        return json_response(self.body(), self.status, request_id, headers)

    @classmethod
    def from_violation(cls, violation: Violation) -> ApiError:
        return cls(violation.status, violation.message, violation.error_type, violation.param, violation.code)

    @classmethod
    def for_status(
        cls, status: int, message: str | None = None, error_type: str | None = None, code: str | None = None
    ) -> ApiError:
        default_message, default_type, default_code = STATUS_DEFAULTS.get(
            status, (f"HTTP {status}", "server_error" if status >= 500 else "invalid_request_error", None)
        )
        return cls(status, message or default_message, error_type or default_type, None, code or default_code)


def json_response(body: object, status: int, request_id: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        media_type="application/json",
        headers={"x-request-id": request_id, **(headers or {})},
    )


def mask_key(key: str) -> str:
    """Show a wrong key the way the real API does, without ever echoing it: prefix and last four only."""
    prefix = "sk-proj-" if key.startswith("sk-proj-") else "sk-" if key.startswith("sk-") else ""
    if len(key) < len(prefix) + 8:
        return prefix + "*" * 4
    return prefix + "*" * 20 + key[-4:]


def missing_key() -> ApiError:
    return ApiError(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using "
        "Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if "
        "you're accessing the API from your browser and are prompted for a username. You can obtain an API key "
        f"from {KEYS_URL}.",
    )


def incorrect_key(key: str) -> ApiError:
    return ApiError(
        401,
        f"Incorrect API key provided: {mask_key(key)}. You can find your API key at {KEYS_URL}.",
        code="invalid_api_key",
    )


def unknown_parameter(name: str) -> ApiError:
    return ApiError(400, f"Unknown parameter: '{name}'.", param=name, code="unknown_parameter")


def invalid_type(name: str, expected: str, got: str) -> ApiError:
    return ApiError(
        400,
        f"Invalid type for '{name}': expected {expected}, but got {got} instead.",
        param=name,
        code="invalid_type",
    )


def model_not_found(model: str) -> ApiError:
    return ApiError(
        404,
        f"The model `{model}` does not exist or you do not have access to it.",
        code="model_not_found",
    )


def unsupported_mimetype(label: str, content_type: str) -> ApiError:
    return ApiError(
        400,
        f"Invalid file '{label}': unsupported mimetype ('{content_type}'). Supported file formats are "
        "'image/jpeg', 'image/png', and 'image/webp'.",
        param=label,
        code="unsupported_file_mimetype",
    )


def invalid_image(label: str, number: int) -> ApiError:
    return ApiError(
        400,
        f"Invalid image file or mode for image {number}, please check your image file.",
        param=label,
        code="invalid_image_file",
    )


def invalid_mask(reason: str) -> ApiError:
    return ApiError(400, f"Invalid mask image format - {reason}", param="mask", code="invalid_mask_image_format")


BAD_JSON = ApiError(
    400,
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP "
    "library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you "
    "have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)",
)
