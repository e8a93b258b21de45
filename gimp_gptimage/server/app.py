"""The ASGI app: the Images API contract (edits, generations, url downloads, models) plus test controls.

Validation answers come from `api.params.check_params`, the same rule table the client applies before
sending, so the two sides can never disagree. Results come from an engine (the offline one by default),
run in worker threads so slow edits never block other requests, keep-alives or the control endpoint.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from PIL import Image
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..api.image_rules import has_alpha
from ..api.models import NON_RASTER_FORMATS
from ..api.params import MODELS, ImageParams, Kind, check_params, model_spec, model_violation
from ..api.providers import ENGINE_HEADER
from . import errors
from .engine_migan import default_engine
from .engine_protocol import Engine
from .errors import ApiError, json_response, new_request_id
from .faults import SCOPE_KEY, Fault, FaultMiddleware, FaultPlan, from_loopback
from .imaging import encode_image, preview, resolve_size
from .markup import NOTE as MARKUP_NOTE
from .markup import widen_mask
from .parsing import PARAM_FIELDS, Profile, parse_params, profile_named
from .responses import DONE, KEEP_ALIVE, RESOLVED_AUTO_QUALITY, ResultInfo, error_event, revised_prompt, usage
from .results import RESULTS_PATH, ResultStore
from .uploads import read_image, read_markup, read_mask

log = logging.getLogger(__name__)

LATENCY_HEADER = "x-gptimage-latency"  # per-request artificial latency in seconds, overriding the global one
KEEP_ALIVE_INTERVAL = 1.0
MAX_FORM_FILES = 64
MAX_FIELD_BYTES = 1024 * 1024
_MODEL_CREATED = 1_745_000_000


@dataclass
class ServerState:
    profile: Profile
    api_key: str | None
    latency: float
    engine: Engine
    faults: FaultPlan | None  # None: no fault injection mounted (the product's server)
    results: ResultStore


@dataclass
class _Job:
    """A validated request, ready to render."""

    kind: Kind
    params: ImageParams
    size: tuple[int, int]
    info: ResultInfo
    usage: dict
    images: list[Image.Image]
    mask: Image.Image | None  # markup already merged in (see markup.py)
    keep_alpha: bool
    fault: Fault | None
    latency: float
    note: str = ""  # how the engine read the request, told in revised_prompt

    @property
    def event_prefix(self) -> str:
        return "image_edit" if self.kind == "edit" else "image_generation"


Handler = Callable[[Request, ServerState, str], Awaitable[Response]]


def _api_route(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Give every answer a request id and the engine header, and turn `ApiError`s into their JSON answer."""

    async def endpoint(request: Request) -> Response:
        state: ServerState = request.app.state.gptimage
        request_id = new_request_id()
        try:
            response = await handler(request, state, request_id)
        except ApiError as exc:
            response = exc.response(request_id)
        except ClientDisconnect:  # the client gave up (a timeout, say): nobody to answer
            response = Response(status_code=499)
        except Exception:
            log.exception("local server failed on %s", request.url.path)
            response = ApiError.for_status(500).response(request_id)
        response.headers.setdefault("x-request-id", request_id)
        response.headers[ENGINE_HEADER] = state.engine.name
        return response

    return endpoint


def _check_auth(request: Request, state: ServerState) -> None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise errors.missing_key()
    if state.api_key is not None and not secrets.compare_digest(token.encode(), state.api_key.encode()):
        raise errors.incorrect_key(token)


def _check_model(model: str) -> None:
    shut = model_violation(model)
    if shut is not None:
        raise ApiError.from_violation(shut)
    if model_spec(model) is None:
        raise errors.model_not_found(model)


def _first_violation(
    params: ImageParams, kind: Kind, image_count: int = 0, *, mask: bool = False, markup: bool = False
) -> None:
    violations = check_params(params, kind=kind, image_count=image_count, mask=mask, markup=markup)
    if violations:
        raise ApiError.from_violation(violations[0])
    if params.output_format in NON_RASTER_FORMATS:
        # Valid for the API (2.6), but the offline engine draws raster images only (our wording).
        raise ApiError(
            400,
            f"The offline engine makes png, jpeg and webp images only; '{params.output_format}' output is not "
            "simulated.",
            param="output_format",
            code="unsupported_output_format",
        )


def _latency(request: Request, state: ServerState) -> float:
    value = request.headers.get(LATENCY_HEADER)
    if value is None:
        return state.latency
    try:
        return max(0.0, float(value))
    except ValueError:
        raise ApiError(400, f"Invalid {LATENCY_HEADER} header: {value!r}.") from None


def _describe(
    params: ImageParams, size: tuple[int, int], inputs: list[Image.Image], keep_alpha: bool
) -> tuple[ResultInfo, dict]:
    quality = RESOLVED_AUTO_QUALITY if params.quality == "auto" else params.quality
    info = ResultInfo(
        created=int(time.time()),
        size=f"{size[0]}x{size[1]}",
        quality=quality,
        background="transparent" if keep_alpha else "opaque",
        output_format=params.output_format or "png",
    )
    return info, usage(params.model, params.prompt, [im.size for im in inputs], size, quality, params.n)


def _transparency_allowed(params: ImageParams) -> bool:
    spec = model_spec(params.model)
    return spec is not None and spec.transparent and (params.output_format or "png") in ("png", "webp")


async def _parse_edit(request: Request, state: ServerState) -> _Job:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise ApiError(400, f"Invalid Content-Type header ({content_type or 'none'}), expected multipart/form-data.")
    try:
        form = await request.form(max_files=MAX_FORM_FILES, max_fields=MAX_FORM_FILES, max_part_size=MAX_FIELD_BYTES)
    except MultiPartException as exc:
        raise ApiError(400, f"Could not parse the multipart form: {exc.message}") from None
    try:
        return await _edit_job(request, state, form)
    finally:
        await form.close()  # uploads may be spooled to temporary files


async def _edit_job(request: Request, state: ServerState, form: FormData) -> _Job:
    fields: dict[str, object] = {}
    parts: list[tuple[str, UploadFile | str]] = []
    mask_part: UploadFile | str | None = None
    markup_part: UploadFile | str | None = None
    for name, value in form.multi_items():
        if name in ("image", "image[]"):
            parts.append((name, value))
        elif name == "mask":
            mask_part = value
        elif name == "markup":
            markup_part = value
        elif isinstance(value, UploadFile):
            if state.profile.aliases.get(name, name) in PARAM_FIELDS:
                raise errors.invalid_type(name, "a string", "a file")
            raise errors.unknown_parameter(name)
        else:
            fields[name] = value
    params = parse_params(fields, kind="edit", profile=state.profile, from_text=True)
    _check_model(params.model)
    _first_violation(params, "edit", len(parts), mask=mask_part is not None, markup=markup_part is not None)
    single = len(parts) == 1 and parts[0][0] == "image"
    images = [await read_image(part, "image" if single else f"image[{i}]", i + 1) for i, (_, part) in enumerate(parts)]
    mask = await read_mask(mask_part, images[0]) if mask_part is not None else None
    if markup_part is not None:
        markup = await read_markup(markup_part, images[0])
        mask = await run_in_threadpool(widen_mask, mask, markup)
    allowed = _transparency_allowed(params)
    keep_alpha = allowed and (
        params.background == "transparent" or (params.background in (None, "auto") and has_alpha(images[0]))
    )
    size = resolve_size(params.size, params.model, images[0].size)
    info, tokens = _describe(params, size, images, keep_alpha)
    fault = request.scope.get(SCOPE_KEY)
    job = _Job("edit", params, size, info, tokens, images, mask, keep_alpha, fault, _latency(request, state))
    job.note = MARKUP_NOTE if markup_part is not None else ""
    return job


async def _parse_generation(request: Request, state: ServerState) -> _Job:
    try:
        body = await request.json()
    except ValueError:
        raise errors.BAD_JSON from None
    if not isinstance(body, dict):
        raise errors.BAD_JSON
    params = parse_params(body, kind="generate", profile=state.profile, from_text=False)
    _check_model(params.model)
    _first_violation(params, "generate")
    keep_alpha = _transparency_allowed(params) and params.background == "transparent"
    size = resolve_size(params.size, params.model, None)
    info, tokens = _describe(params, size, [], keep_alpha)
    fault = request.scope.get(SCOPE_KEY)
    return _Job("generate", params, size, info, tokens, [], None, keep_alpha, fault, _latency(request, state))


def _render(state: ServerState, job: _Job, index: int) -> Image.Image:
    """One result image (runs in a worker thread)."""
    if job.kind == "edit":
        image = state.engine.edit(job.images, job.mask, job.params.prompt, job.size, index, job.keep_alpha)
    else:
        image = state.engine.generate(job.params.prompt, job.size, index, job.keep_alpha)
    if job.fault is not None and job.fault.kind == "wrong_size":
        width, height = job.fault.size.lower().split("x")
        image = image.resize((int(width), int(height)))
    return image


def _encode(job: _Job, image: Image.Image) -> bytes:
    return encode_image(image, job.info.output_format, job.params.output_compression)


def _encode_preview(job: _Job, final: Image.Image, step: int, steps: int) -> bytes:
    return _encode(job, preview(final, step, steps))


def _render_encoded(state: ServerState, job: _Job, index: int) -> bytes:
    return _encode(job, _render(state, job, index))


async def _answer(request: Request, state: ServerState, request_id: str, job: _Job) -> Response:
    headers = {"x-request-id": request_id}
    if job.params.stream:
        return StreamingResponse(
            _stream(state, job),
            media_type="text/event-stream",
            headers={**headers, "cache-control": "no-cache"},
        )
    if job.latency:
        await asyncio.sleep(job.latency)
    results = [await run_in_threadpool(_render_encoded, state, job, i) for i in range(job.params.n)]
    note = f"({job.note}) " if job.note else ""
    revised = revised_prompt(state.engine.label(masked=job.mask is not None), note + job.params.prompt)
    if state.profile.result_style == "url":
        base = str(request.base_url).rstrip("/")
        data = [
            {"url": f"{base}{RESULTS_PATH}/{state.results.put(r, job.info.output_format)}", "revised_prompt": revised}
            for r in results
        ]
    else:
        data = [{"b64_json": base64.b64encode(r).decode("ascii"), "revised_prompt": revised} for r in results]
    return json_response(job.info.body(data, job.usage), 200, request_id, headers)


async def _pause(seconds: float) -> AsyncIterator[bytes]:
    """Wait, sending SSE comment lines so proxies and clients see the connection is alive."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (remaining := deadline - loop.time()) > 0:
        await asyncio.sleep(min(KEEP_ALIVE_INTERVAL, remaining))
        if deadline - loop.time() > 0:
            yield KEEP_ALIVE


async def _stream(state: ServerState, job: _Job) -> AsyncIterator[bytes]:
    partials = job.params.partial_images or 0
    slot = job.latency / (job.params.n * (partials + 1))
    if job.latency:
        yield KEEP_ALIVE
    per_image_usage = dict(job.usage)
    n = job.params.n
    per_image_usage["output_tokens"] = job.usage["output_tokens"] // n
    per_image_usage["total_tokens"] = job.usage["input_tokens"] + per_image_usage["output_tokens"]
    try:
        for index in range(n):
            final = await run_in_threadpool(_render, state, job, index)
            for step in range(partials):
                async for beat in _pause(slot):
                    yield beat
                data = await run_in_threadpool(_encode_preview, job, final, step, partials)
                yield job.info.event(f"{job.event_prefix}.partial_image", data, partial_index=step)
            async for beat in _pause(slot):
                yield beat
            data = await run_in_threadpool(_encode, job, final)
            yield job.info.event(f"{job.event_prefix}.completed", data, usage=per_image_usage)
    except Exception:  # headers are gone: report it the way the API does inside a stream
        log.exception("local server failed while streaming")
        yield error_event(ApiError.for_status(500))
    yield DONE


async def _edits(request: Request, state: ServerState, request_id: str) -> Response:
    _check_auth(request, state)
    return await _answer(request, state, request_id, await _parse_edit(request, state))


async def _generations(request: Request, state: ServerState, request_id: str) -> Response:
    _check_auth(request, state)
    return await _answer(request, state, request_id, await _parse_generation(request, state))


async def _models(request: Request, state: ServerState, request_id: str) -> Response:
    _check_auth(request, state)
    # Every model of the table, as OpenAI lists its own (shut-down ones are gone from the list).
    data = [{"id": name, "object": "model", "created": _MODEL_CREATED, "owned_by": "system"} for name in MODELS]
    return json_response({"object": "list", "data": data}, 200, request_id)


async def _download(request: Request, state: ServerState, request_id: str) -> Response:
    found = state.results.get(request.path_params["filename"])
    if found is None:
        raise ApiError(404, "File not found or link expired.", code="not_found")
    data, content_type = found
    return Response(data, media_type=content_type, headers={"cache-control": "private, max-age=3600"})


async def _health(request: Request) -> Response:
    state: ServerState = request.app.state.gptimage
    return JSONResponse({"status": "ok", "profile": state.profile.name, "engine": state.engine.name})


async def _control_faults(request: Request) -> Response:
    """Queue (POST, a JSON list of faults), list (GET) or clear (DELETE) faults; loopback clients only."""
    plan: FaultPlan = request.app.state.faults
    if not from_loopback(request.scope):
        return JSONResponse({"error": "the control endpoint only answers loopback clients"}, status_code=403)
    if request.method == "DELETE":
        plan.clear()
    elif request.method == "POST":
        try:
            body = await request.json()
            items = body if isinstance(body, list) else [body]
            plan.extend([Fault.from_json(item) for item in items])
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
    return JSONResponse({"pending": [fault.to_json() for fault in plan.pending()]})


async def _invalid_url(request: Request, exc: Exception) -> Response:
    """Unknown paths and methods get the API's JSON answer, not a bare "Not Found"."""
    status = getattr(exc, "status_code", 404)
    error = ApiError(status, f"Invalid URL ({request.method} {request.url.path})")
    return error.response(new_request_id())


def create_app(
    *,
    profile: Literal["openai", "crazyrouter", "quickrouter"] | str = "openai",
    api_key: str | None = None,
    latency: float = 0.0,
    engine: Engine | None = None,
    faults: FaultPlan | None = None,
    results: ResultStore | None = None,
) -> Starlette:
    """The local Images API server. `api_key=None` accepts any non-empty bearer token.

    With a fault plan (tests and benchmarks) the fault middleware and `/_control/faults` are mounted, both
    for loopback clients only; without one the app has neither."""
    state = ServerState(
        profile=profile_named(profile),
        api_key=api_key,
        latency=latency,
        engine=engine or default_engine(),
        faults=faults,
        results=results or ResultStore(),
    )
    routes = [
        Route("/v1/images/edits", _api_route(_edits), methods=["POST"]),
        Route("/v1/images/generations", _api_route(_generations), methods=["POST"]),
        Route(RESULTS_PATH + "/{filename}", _api_route(_download), methods=["GET"]),
        Route("/v1/models", _api_route(_models), methods=["GET"]),
        Route("/healthz", _health, methods=["GET"]),
    ]
    middleware = []
    if faults is not None:
        routes.append(Route("/_control/faults", _control_faults, methods=["GET", "POST", "DELETE"]))
        middleware.append(Middleware(FaultMiddleware, plan=faults))
    app = Starlette(routes=routes, middleware=middleware, exception_handlers={404: _invalid_url, 405: _invalid_url})
    app.state.gptimage = state
    app.state.faults = state.faults
    return app


__all__ = ["LATENCY_HEADER", "ServerState", "create_app"]
