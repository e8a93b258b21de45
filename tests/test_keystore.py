"""The key lives in the keychain (or the environment), never in a file; backend resolution."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from gimp_gptimage.api.errors import ConfigError
from gimp_gptimage.keystore import (
    SERVICE,
    delete_key,
    find_key,
    get_key,
    open_backend,
    resolve_backend,
    set_key,
)
from gimp_gptimage.settings import ProviderConfig, Settings, SettingsStore

if TYPE_CHECKING:
    from conftest_jobs import MemoryKeyring

pytest_plugins = ["conftest_jobs"]

KEY = "sk-keystore-test-0123456789abcdef"


def test_set_get_delete_in_keychain(memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    set_key("openai", f"  {KEY}\n")
    assert memory_keyring.store == {(SERVICE, "openai"): KEY}
    assert get_key("openai") == KEY
    assert find_key("openai") == (KEY, "keychain")
    assert get_key("crazyrouter") is None
    assert delete_key("openai") is True
    assert delete_key("openai") is False
    assert get_key("openai") is None


def test_environment_fallback_order(memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-openai-env")
    assert find_key("openai") == ("sk-from-openai-env", "environment")
    monkeypatch.setenv("GPTIMAGE_API_KEY", "sk-from-gptimage-env")
    assert get_key("openai") == "sk-from-gptimage-env"
    set_key("openai", KEY)
    assert get_key("openai") == KEY  # the keychain wins


def test_without_usable_keychain(monkeypatch: pytest.MonkeyPatch) -> None:
    # conftest installs keyring's fail backend: storing is a clear ConfigError, reading falls back to env.
    with pytest.raises(ConfigError, match="GPTIMAGE_API_KEY"):
        set_key("openai", KEY)
    assert get_key("openai") is None
    assert delete_key("openai") is False
    monkeypatch.setenv("GPTIMAGE_API_KEY", KEY)
    assert find_key("openai") == (KEY, "environment")


def test_empty_key_rejected(memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(ConfigError):
        set_key("openai", "   ")


def test_nothing_configured_means_local(memory_keyring: MemoryKeyring) -> None:
    assert resolve_backend(Settings()) is None
    assert resolve_backend(Settings(), provider_name="local") is None


def test_env_key_without_provider_means_openai(memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    backend = resolve_backend(Settings())
    assert backend is not None
    assert (backend.name, backend.base_url, backend.api_key, backend.is_local) == (
        "openai",
        "https://api.openai.com/v1",
        KEY,
        False,
    )
    assert KEY not in repr(backend) and KEY not in str(backend)


def test_chosen_provider_uses_its_keychain_entry(memory_keyring: MemoryKeyring) -> None:
    settings = Settings(provider="crazyrouter")
    with pytest.raises(ConfigError, match="No API key for provider 'crazyrouter'"):
        resolve_backend(settings)
    set_key("crazyrouter", KEY)
    backend = resolve_backend(settings)
    assert backend is not None
    assert backend.base_url == "https://cn.crazyrouter.com/v1"
    assert backend.provider.result_style == "url"
    assert backend.key_source == "keychain"


def test_custom_provider_from_settings(memory_keyring: MemoryKeyring) -> None:
    settings = Settings(provider="mine")
    settings.providers.append(ProviderConfig("mine", "https://relay.example/v1/"))
    set_key("mine", KEY)
    backend = resolve_backend(settings)
    assert backend is not None
    assert (backend.name, backend.base_url) == ("mine", "https://relay.example/v1")


def test_insecure_http_refused_unless_allowed(memory_keyring: MemoryKeyring) -> None:
    set_key("mine", KEY)
    settings = Settings(provider="mine", providers=[ProviderConfig("mine", "http://relay.example/v1")])
    with pytest.raises(ConfigError, match="unencrypted"):
        resolve_backend(settings)
    settings.providers[0].allow_insecure = True
    backend = resolve_backend(settings)
    assert backend is not None and backend.base_url == "http://relay.example/v1"


def test_explicit_base_url(memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="No API key"):
        resolve_backend(Settings(), base_url="http://127.0.0.1:9/v1")
    monkeypatch.setenv("GPTIMAGE_API_KEY", KEY)
    backend = resolve_backend(Settings(), base_url="http://127.0.0.1:9/v1")
    assert backend is not None and backend.base_url == "http://127.0.0.1:9/v1"
    backend = resolve_backend(Settings(), provider_name="quickrouter", base_url="https://q.example/v1")
    assert backend is not None
    assert (backend.name, backend.base_url) == ("quickrouter", "https://q.example/v1")
    assert dict(backend.provider.field_renames) == {"output_format": "format"}
    with pytest.raises(ConfigError, match="unencrypted"):
        resolve_backend(Settings(), base_url="http://example.com/v1")


def test_unknown_provider(memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(ConfigError, match="Unknown provider 'nope'"):
        resolve_backend(Settings(), provider_name="nope")


def test_open_backend_starts_the_embedded_server(memory_keyring: MemoryKeyring) -> None:
    with open_backend(Settings()) as backend:
        assert backend.is_local and backend.name == "local"
        assert backend.base_url.startswith("http://127.0.0.1:")
        answer = httpx.post(
            f"{backend.base_url}/images/generations",
            json={"prompt": "x", "model": "gpt-image-2", "size": "1024x1024", "n": 0},
            headers={"Authorization": f"Bearer {backend.api_key}"},
            timeout=30,
        )
        assert answer.status_code == 400
    with pytest.raises(httpx.ConnectError):
        httpx.get(backend.base_url, timeout=5)


def test_open_backend_passes_configured_backend_through(memory_keyring: MemoryKeyring) -> None:
    set_key("openai", KEY)
    with open_backend(Settings(provider="openai")) as backend:
        assert not backend.is_local and backend.api_key == KEY


def test_key_never_written_to_settings(memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    settings = Settings(provider="openai")
    set_key("openai", KEY)
    SettingsStore(tmp_path).save(settings)
    for file in tmp_path.rglob("*"):
        assert KEY.encode() not in file.read_bytes()
