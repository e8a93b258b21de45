"""Provider presets, base-URL safety checks and API key lookup.

A preset states what differs from OpenAI's own API so the client (and the settings UI) can adapt. The key
is never stored here and never appears in a message: it comes from the environment or the keyring.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal
from urllib.parse import urlsplit

from .errors import ConfigError, redact
from .models import DEFAULT_MODEL

KEY_ENV_VARS = ("GPTIMAGE_API_KEY", "OPENAI_API_KEY")


ResultStyle = Literal["b64_json", "url"]


@dataclass(frozen=True)
class Provider:
    """An OpenAI-compatible Images API endpoint and its known differences. The local server's simulated
    providers (server/parsing.py) are built from these same presets, so the two never drift apart."""

    name: str
    label: str
    base_url: str
    default_model: str = DEFAULT_MODEL  # what a new request uses until the user picks another
    result_style: ResultStyle = "b64_json"  # how results come back (the client reads both either way)
    # Wire-name changes applied to request fields, e.g. {"output_format": "format"}.
    field_renames: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    accepts_hd_quality: bool = False  # takes quality "hd" as "high" (the client sends "high" anyway)
    allow_insecure: bool = False  # plain http:// to a non-loopback host, only when the user says so
    # False for an inpainting engine, which fills exactly the mask and keeps every other pixel: it gets the
    # selection ungrown (jobs/run.py), since a grown hole only hides the surroundings its fill continues.
    grows_mask: bool = True
    billed: bool = True  # False for the offline engine: its usage figures imitate the API's, nobody pays them

    def with_base_url(self, base_url: str) -> Provider:
        return dataclasses.replace(self, base_url=check_base_url(base_url, allow_insecure=self.allow_insecure))

    def rename_fields(self, fields: Mapping[str, object]) -> dict[str, object]:
        return {self.field_renames.get(name, name): value for name, value in fields.items()}


# The reference API: base64 results, streaming with partial images. Default: OpenAI's best for precise edits.
OPENAI = Provider("openai", "OpenAI", "https://api.openai.com/v1", default_model="gpt-image-2.6-sunburst")
# Answers with time-limited download links (data[].url), which the client fetches. Rejects response_format,
# style, input_fidelity, transparent backgrounds on gpt-image-2 and output_compression with PNG, as the
# shared rule table does. High quality can take minutes: prefer streaming.
CRAZYROUTER = Provider(
    "crazyrouter",
    "Crazyrouter (image line)",
    "https://cn.crazyrouter.com/v1",
    # gpt-image-2 until the relay passes 2.6's fields on (it listed 2.6 in November 2026 but dropped
    # `complexity` [T]); its model list shows what else it has.
    default_model="gpt-image-2",
    result_style="url",
    accepts_hd_quality=True,
)
# Names the output format field 'format'. Its page shows a chat-style answer (a documentation error): expect
# the Images format with download links like other relays; a chat answer is named as such by the client.
QUICKROUTER = Provider(
    "quickrouter",
    "QuickRouter",
    "https://api.quickrouter.ai/v1",
    default_model="gpt-image-2",  # the only image model of its last published list (June 2026) [T]
    result_style="url",
    accepts_hd_quality=True,
    field_renames=MappingProxyType({"output_format": "format"}),
)
# The embedded server on this computer: no key, no network, results from the offline engine. It picks its
# port at run time: use LOCAL.with_base_url(server.base_url). Default model: the offline engine takes every
# field of the table, markup too. Its MI-GAN model removes exactly what is selected: the mask is not grown.
LOCAL = Provider(
    "local", "Local offline engine", "", default_model="gpt-image-2.6-sunburst", grows_mask=False, billed=False
)

# Every answer of a gimp-gptimage server (`serve`, the embedded one) carries this header: its engine's name.
ENGINE_HEADER = "x-gptimage-engine"

PRESETS: dict[str, Provider] = {p.name: p for p in (OPENAI, CRAZYROUTER, QUICKROUTER, LOCAL)}
# The providers the local server can imitate (`serve --profile`).
IMITATED: tuple[Provider, ...] = (OPENAI, CRAZYROUTER, QUICKROUTER)


def is_billed(provider_name: str) -> bool:
    """Whether requests to this provider cost money (any provider not known here is taken to bill)."""
    preset = PRESETS.get(provider_name)
    return preset is None or preset.billed


def grows_mask(provider_name: str, engine: str | None = None) -> bool:
    """Whether the selection is grown before it is sent (Provider.grows_mask): as a preset says; an endpoint
    of no preset that said it runs a gimp-gptimage `engine` (ENGINE_HEADER) is the local server elsewhere and
    takes its mask as LOCAL does; any other is taken to be like OpenAI's."""
    preset = PRESETS.get(provider_name)
    if preset is not None:
        return preset.grows_mask
    return LOCAL.grows_mask if engine else OPENAI.grows_mask


def get_provider(name: str) -> Provider:
    try:
        return PRESETS[name.strip().lower()]
    except KeyError:
        known = ", ".join(PRESETS)
        raise ConfigError(f"Unknown provider '{name}'. Known providers: {known}; or give a base URL.") from None


def custom(base_url: str, *, label: str = "", allow_insecure: bool = False) -> Provider:
    """Any other OpenAI-compatible endpoint, assumed to behave like OpenAI's."""
    url = check_base_url(base_url, allow_insecure=allow_insecure)
    return Provider("custom", label or urlsplit(url).hostname or url, url, allow_insecure=allow_insecure)


def key_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """The API key from GPTIMAGE_API_KEY, else OPENAI_API_KEY; None if neither is set."""
    env = os.environ if environ is None else environ
    for name in KEY_ENV_VARS:
        value = env.get(name, "").strip()
        if value:
            return value
    return None


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(url: str, *, allow_insecure: bool = False) -> str:
    """The base URL without trailing slash, or ConfigError saying what is wrong with it.

    Plain http:// would send the key in clear text, so it is refused unless the host is this computer
    (127.0.0.0/8, ::1, localhost) or the user explicitly allowed it.
    """
    text = url.strip()
    shown = _shown(text)
    if not text:
        raise ConfigError("The base URL is empty. Enter the provider's API address, e.g. https://api.openai.com/v1.")
    if any(c.isspace() or not c.isprintable() for c in text):
        visible = "".join(c if c.isprintable() else repr(c)[1:-1] for c in shown)  # a tab shows as \t
        raise ConfigError(f"The base URL '{visible}' contains spaces or invisible characters; type it again.")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"The base URL '{shown}' is not a valid address ({exc}).") from None
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"The base URL '{shown}' must start with https:// (e.g. https://api.openai.com/v1).")
    if not parts.hostname:
        raise ConfigError(f"The base URL '{shown}' has no host name.")
    if parts.username is not None or parts.password is not None:
        raise ConfigError("The base URL must not contain a user name or password; enter the API key separately.")
    if parts.query or parts.fragment:
        raise ConfigError(f"The base URL '{shown}' must not contain '?' or '#' parts.")
    if parts.scheme == "http" and not allow_insecure and not is_loopback_host(parts.hostname):
        raise ConfigError(
            f"Refusing plain http:// for {parts.hostname}: the API key would travel unencrypted. Use https://, "
            "or explicitly allow insecure connections for this provider."
        )
    del port  # parsed only to reject malformed ports
    return text.rstrip("/")


def _shown(url: str) -> str:
    """The URL as it may appear in a message: without user info, query or fragment, where people sometimes
    paste the key itself (`?key=...`, `user:key@host`)."""
    head = url.split("#", 1)[0].split("?", 1)[0]
    scheme, sep, rest = head.partition("://")
    if sep:
        authority, slash, path = rest.partition("/")
        head = f"{scheme}://{authority.rpartition('@')[2]}{slash}{path}"
    else:
        head = head.rpartition("@")[2]
    return redact(head)
