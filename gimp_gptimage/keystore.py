"""The API key: kept in the OS keychain through `keyring`, never in a file; the environment as fallback.

Also decides which backend a request goes to. With no provider chosen and no key anywhere, the embedded
local server (offline engine) is started, so everything works without an account and says so.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

if sys.platform != "darwin":
    # keyring loads its macOS backend everywhere, and that backend's Security bindings call
    # ctypes.util.find_library three times as they load: on Linux each call runs ldconfig and gcc (~60 ms of
    # every CLI run). The backend works on macOS only; elsewhere it is left out as when the bindings fail.
    sys.modules.setdefault("keyring.backends.macOS.api", None)  # type: ignore[assignment]

import keyring
import keyring.errors

from .api.errors import ConfigError
from .api.providers import LOCAL, Provider, custom, get_provider, key_from_env
from .migan import MODEL_NOTICE, fallback_notice
from .settings import Settings

SERVICE = "gimp-gptimage"
# Said by the CLI and the dialog's offline banner, with the engine's own sentence (see `offline_notice`).
OFFLINE_NOTICE = "No provider is set up: using the embedded offline engine (free, private, no key needed)."
# The embedded server accepts any bearer token; this one is not a secret.
LOCAL_KEY = "local-offline-engine"

KeySource = Literal["keychain", "environment"]


def set_key(provider: str, key: str) -> None:
    """Store the key for a provider in the OS keychain."""
    key = key.strip()
    if not key:
        raise ConfigError("The API key is empty.")
    try:
        keyring.set_password(SERVICE, provider, key)
    except keyring.errors.KeyringError as exc:
        raise ConfigError(
            f"Could not store the key in the system keychain ({type(exc).__name__}). Set GPTIMAGE_API_KEY in "
            "the environment instead, or install a keychain service (e.g. gnome-keyring or KWallet)."
        ) from None


def delete_key(provider: str) -> bool:
    """Remove a stored key; False if there was none (or no keychain)."""
    try:
        keyring.delete_password(SERVICE, provider)
    except keyring.errors.PasswordDeleteError:
        return False
    except keyring.errors.KeyringError:
        return False
    return True


def stored_key(provider: str) -> str | None:
    """The key in the keychain for this provider, or None (also when there is no usable keychain)."""
    try:
        key = keyring.get_password(SERVICE, provider)
    except keyring.errors.KeyringError:
        return None
    except Exception:  # a broken third-party backend must not stop the program; the env may still help
        return None
    return key or None


def find_key(provider: str) -> tuple[str, KeySource] | None:
    """The key for a provider and where it came from: the keychain first, then the environment."""
    key = stored_key(provider)
    if key:
        return key, "keychain"
    key = key_from_env()
    if key:
        return key, "environment"
    return None


def get_key(provider: str) -> str | None:
    found = find_key(provider)
    return found[0] if found else None


@dataclass(frozen=True)
class Backend:
    """Where requests go and with which key. `repr` never shows the key."""

    name: str
    base_url: str
    api_key: str
    is_local: bool
    provider: Provider
    key_source: str = ""

    def __repr__(self) -> str:
        return f"Backend(name={self.name!r}, base_url={self.base_url!r}, is_local={self.is_local})"

    __str__ = __repr__


def resolve_backend(
    settings: Settings, provider_name: str | None = None, base_url: str | None = None
) -> Backend | None:
    """The backend to use, or None when nothing is configured (then the embedded server is the answer).

    Order: an explicit base URL or provider name, else the provider chosen in settings, else — if a key is
    in the environment — OpenAI. A named provider without a key is an error, never a silent fallback.
    """
    if base_url:
        named = _named(settings, provider_name)[0] if provider_name else None
        provider = named.with_base_url(base_url) if named else custom(base_url)
        return _keyed(
            provider,
            f"No API key for {provider.base_url}. Set GPTIMAGE_API_KEY (or OPENAI_API_KEY) or store a key in Settings.",
        )
    name = provider_name or settings.provider
    if name is None:
        env_key = find_key("openai")
        if env_key is None:
            return None
        provider = get_provider("openai")
        return Backend(provider.name, provider.base_url, env_key[0], False, provider, env_key[1])
    if name.strip().lower() == "local":
        return None
    provider, _ = _named(settings, name)
    return _keyed(
        provider,
        f"No API key for provider '{provider.name}'. Enter it in Settings (it is kept in the system keychain) "
        "or set GPTIMAGE_API_KEY.",
    )


def _keyed(provider: Provider, missing: str) -> Backend:
    """The backend for `provider` with its key; ConfigError(`missing`) when there is none (never a fallback)."""
    found = find_key(provider.name)
    if found is None:
        raise ConfigError(missing)
    return Backend(provider.name, provider.base_url, found[0], False, provider, found[1])


def _named(settings: Settings, name: str) -> tuple[Provider, bool]:
    """A provider by name: the user's configured entry (its base URL wins) over the built-in preset."""
    configured = settings.find_provider(name)
    try:
        preset: Provider | None = get_provider(name)
    except ConfigError:
        preset = None
    if configured is not None:
        base = preset or custom(configured.base_url, allow_insecure=configured.allow_insecure)
        base = _with(base, configured.name, configured.allow_insecure)
        return base.with_base_url(configured.base_url), configured.allow_insecure
    if preset is None or preset.name == "local":
        get_provider(name)  # raises the "unknown provider" message
        raise ConfigError(f"Unknown provider '{name}'.")
    return preset, False


def _with(provider: Provider, name: str, allow_insecure: bool) -> Provider:
    return dataclasses.replace(provider, name=name, allow_insecure=allow_insecure)


def offline_notice() -> list[str]:
    """What the CLI and the dialog's offline banner say, sentence by sentence: no provider, and what the
    offline engine is, or, when its model cannot be used, the fallback notice (the server log's words)."""
    return [OFFLINE_NOTICE, fallback_notice() or MODEL_NOTICE]


def local_backend(base_url: str) -> Backend:
    provider = LOCAL.with_base_url(base_url)
    return Backend("local", provider.base_url, LOCAL_KEY, True, provider, "")


@contextlib.contextmanager
def open_backend(
    settings: Settings, provider_name: str | None = None, base_url: str | None = None
) -> Iterator[Backend]:
    """The configured backend, or the embedded local server started for the duration of the block."""
    backend = resolve_backend(settings, provider_name, base_url)
    if backend is not None:
        yield backend
        return
    from .server import LocalServer

    with LocalServer() as server:
        yield local_backend(server.base_url)
